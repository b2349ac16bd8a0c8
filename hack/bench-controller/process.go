package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/internal/install"
)

// installCRDs applies the CRDs `bulkhead install` would (and nothing else
// of it: the controller runs here as a process, not as a Deployment) and
// waits until they are Established.
func installCRDs(ctx context.Context, cfg *rest.Config) error {
	m, err := install.Render(install.Options{})
	if err != nil {
		return err
	}
	var crds []*unstructured.Unstructured
	for _, u := range m.Objects {
		if u.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, u)
		}
	}
	if len(crds) == 0 {
		return errors.New("the install manifests hold no CustomResourceDefinition")
	}
	a, err := install.NewApplier(cfg)
	if err != nil {
		return err
	}
	_, err = a.Apply(ctx, crds, install.ApplyOptions{})
	return err
}

// controllerProc is `bulkhead controller` running beside the local
// control plane, its metrics and probes on free loopback ports.
type controllerProc struct {
	cmd     *exec.Cmd
	metrics string // http://127.0.0.1:PORT/metrics
	readyz  string
	pprof   string // http://127.0.0.1:PORT/debug/pprof/ with -profile, else ""
	logPath string
	exited  chan struct{}
	waitErr error
}

// startController starts bin controller with default flags but the
// listen addresses, logging to logPath.
func startController(ctx context.Context, bin, kubeconfig, logPath string, pprof bool) (*controllerProc, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	probeAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	args := []string{"--kubeconfig", kubeconfig, "controller", "--metrics-bind-address", metricsAddr, "--health-probe-bind-address", probeAddr}
	pprofAddr := ""
	if pprof {
		pprofAddr = "127.0.0.1:" + strconv.Itoa(ports[2])
		args = append(args, "--pprof-bind-address", pprofAddr)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &controllerProc{cmd: cmd, metrics: "http://" + metricsAddr + "/metrics", readyz: "http://" + probeAddr + "/readyz",
		logPath: logPath, exited: make(chan struct{})}
	if pprof {
		p.pprof = "http://" + pprofAddr + "/debug/pprof/"
	}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// alive returns an error with the log's tail once the process has exited.
func (p *controllerProc) alive() error {
	select {
	case <-p.exited:
		log, _ := os.ReadFile(p.logPath)
		return fmt.Errorf("bulkhead controller exited (%v):\n%s", p.waitErr, tail(string(log), 20))
	default:
		return nil
	}
}

// waitReady polls /readyz (the informer caches are synced) until it says ok.
func (p *controllerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if err := p.alive(); err != nil {
			return err
		}
		if body, err := get(ctx, p.readyz); err == nil && strings.TrimSpace(body) == "ok" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bulkhead controller not ready after %s (see %s)", timeout, p.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (p *controllerProc) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	return nil
}

// scrape reads the controller's metrics endpoint.
func (p *controllerProc) scrape(ctx context.Context) (metrics, error) {
	body, err := get(ctx, p.metrics)
	if err != nil {
		return nil, fmt.Errorf("scrape the controller's metrics: %w", err)
	}
	return parseMetrics(body), nil
}

func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// procSample is what /proc says of a process at one moment.
type procSample struct {
	cpuSeconds float64 // utime + stime
	rssMiB     float64 // VmRSS
	hwmMiB     float64 // VmHWM: the peak resident set so far
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func sampleProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 13 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	s := procSample{cpuSeconds: (utime + stime) / clockTicks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			s.rssMiB = kb / 1024
		case "VmHWM":
			s.hwmMiB = kb / 1024
		}
	}
	return s, nil
}
