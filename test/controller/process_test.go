package controller_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// proc is one `bulkhead controller` process.
type proc struct {
	name             string
	cmd              *exec.Cmd
	metrics, probe   string // host:port
	log              string // path of its stdout and stderr
	exited           chan struct{}
	waitErr          error
	stopped, printed bool
}

// startController starts the controller as a subprocess with ports of its
// own and waits until /readyz answers. It is stopped when the test ends;
// when the test failed its log is printed.
func startController(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	// A port found free can be taken by another process before the
	// controller binds it (the machine is shared): then try other ports.
	for attempt := 1; ; attempt++ {
		p := launch(t, name, args...)
		if p.waitReady(t) {
			return p
		}
		if attempt == 3 || !strings.Contains(p.logText(), "address already in use") {
			t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.waitErr, p.logTail())
		}
		t.Logf("%s could not bind its ports (%s, %s); trying others", p.name, p.metrics, p.probe)
	}
}

func launch(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	addrs := freeAddrs(t, 2)
	p := &proc{name: name, metrics: addrs[0], probe: addrs[1], exited: make(chan struct{})}
	p.log = filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]string{"controller", "--kubeconfig", e2e.kubeconfig,
		"--metrics-bind-address", p.metrics, "--health-probe-bind-address", p.probe}, args...)
	p.cmd = exec.Command(e2e.bulkhead, all...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.stopped && !p.running() {
			t.Errorf("%s exited on its own during the test: %v", p.name, p.waitErr)
		}
		p.stop(t)
		// Under make test the binary is race-built; a race it reports goes
		// to its log, not its exit code once it was stopped by a signal.
		if log := p.logText(); strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race (log follows)", p.name)
		}
		if t.Failed() {
			p.printLog(t)
		}
	})
	return p
}

// freeAddrs are n distinct loopback addresses nobody listens on now (the
// listeners are held until all are chosen, so no port comes twice).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

// waitReady waits until /readyz and /metrics answer 200; false when the
// process exited.
func (p *proc) waitReady(t *testing.T) bool {
	t.Helper()
	exited := false
	eventually(t, time.Minute, p.name+" answers /readyz and /metrics", func() (bool, string) {
		if !p.running() {
			exited = true
			return true, ""
		}
		for _, url := range []string{"http://" + p.probe + "/readyz", "http://" + p.metrics + "/metrics"} {
			code, body, err := get(url)
			if err != nil {
				return false, err.Error()
			}
			if code != http.StatusOK {
				return false, fmt.Sprintf("%s: %d %.200s", url, code, body)
			}
		}
		return true, ""
	})
	if exited {
		p.stopped = true // the failure is reported by the caller
	}
	return !exited
}

// stop ends the process with SIGTERM (SIGKILL if it does not go) and
// returns once it has exited.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.stopped {
		return
	}
	p.stopped = true
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not exit within 30s of SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// kill ends the process with SIGKILL: no cleanup, no lease release.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.stopped = true
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.exited
}

// running says whether the process is still there.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// logTail is the end of the log, enough to see why it failed.
func (p *proc) logTail() string {
	s := p.logText()
	const max = 48 << 10
	if len(s) > max {
		s = "...\n" + s[len(s)-max:]
	}
	return s
}

func (p *proc) printLog(t *testing.T) {
	t.Helper()
	if p.printed {
		return
	}
	p.printed = true
	t.Logf("log of %s (%s; exit: %v):\n%s", p.name, strings.Join(p.cmd.Args[1:], " "), p.waitErr, p.logTail())
}

// scrape reads the metrics endpoint.
func (p *proc) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, err := get("http://" + p.metrics + "/metrics")
	if !p.running() {
		t.Fatalf("%s exited: %v", p.name, p.waitErr)
	}
	if err != nil || code != http.StatusOK {
		t.Fatalf("scrape %s metrics: %d %v\n%s", p.name, code, err, body)
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s metrics: %v", p.name, err)
	}
	return families
}

// metric sums the samples of a counter or gauge whose labels include
// labels; ok is false when the metric is absent.
func metric(families map[string]*dto.MetricFamily, name string, labels map[string]string) (sum float64, ok bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		ok = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum, ok
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.Label {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func get(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// eventually polls cond until it holds, failing the test with cond's last
// word about the state after timeout. Timeouts bound the wait; nothing
// asserts how fast it went.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 100 * time.Millisecond
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %s; last seen: %s", what, timeout, state)
		}
		time.Sleep(interval)
		if interval < time.Second {
			interval += interval / 2
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
