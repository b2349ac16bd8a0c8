package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// defaultStartTimeout bounds Start when ctx has no deadline; a cold start
// takes well under half of it on a 2-core machine.
const defaultStartTimeout = 60 * time.Second

// startAttempts covers the window between freePorts closing its listeners
// and the binaries binding them, in which another process may take a port.
const startAttempts = 3

// errPortTaken marks a failed start that a retry with new ports may fix.
var errPortTaken = errors.New("port already in use")

// Cluster is a running local control plane.
type Cluster struct {
	opts   Options
	layout layout
	server string
	rest   *rest.Config

	// mu guards procs, which the fault-injection methods change while
	// other goroutines may be polling, and stopped.
	mu      sync.Mutex
	procs   []*process // in start order; a restarted binary keeps its place
	stopped bool
}

// Start creates a fresh cluster in o.DataDir and returns once the apiserver
// is ready and the controller manager has visibly done its work. On error,
// every process it started has been stopped again.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	l := layout{dataDir: o.DataDir}
	if live := livePids(l); len(live) > 0 {
		return nil, fmt.Errorf("localcluster: a cluster is still running from %s (pids %v): stop it with StopDetached or `go run ./hack/cluster down`", o.DataDir, live)
	}
	began := time.Now()
	for attempt := 1; ; attempt++ {
		c, err := startOnce(ctx, o, l)
		if err == nil {
			fmt.Fprintf(o.Log, "localcluster: ready at %s in %s (kubeconfig %s)\n",
				c.server, time.Since(began).Round(10*time.Millisecond), c.KubeconfigPath())
			return c, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts || ctx.Err() != nil {
			return nil, fmt.Errorf("localcluster: start: %w", err)
		}
		fmt.Fprintf(o.Log, "localcluster: a port was taken before we could bind it, retrying (%d/%d)\n", attempt, startAttempts)
	}
}

func startOnce(ctx context.Context, o Options, l layout) (_ *Cluster, err error) {
	for _, p := range l.generated() {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("remove previous cluster's %s: %w", p, err)
		}
	}
	if err := os.MkdirAll(l.logDir(), 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	pk, err := newPKI(net.ParseIP(serviceIP))
	if err != nil {
		return nil, err
	}
	pkiPaths, err := pk.write(l.pkiDir())
	if err != nil {
		return nil, err
	}
	pp, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	p := ports{etcdClient: pp[0], etcdPeer: pp[1], apiserver: pp[2]}
	c := &Cluster{
		opts:   o,
		layout: l,
		server: loopbackURL("https", p.apiserver),
	}
	c.rest = restConfigFor(c.server, pk.serverCA.certPEM, pk.admin)
	if err := writeKubeconfig(l.adminKubeconfig(), c.server, "bulkhead-admin", pk.serverCA.certPEM, pk.admin); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(l.kcmKubeconfig(), c.server, "kube-controller-manager", pk.serverCA.certPEM, pk.kcm); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()

	if err := c.run(etcdName, etcdArgs(l, p)); err != nil {
		return nil, err
	}
	if err := c.waitEtcd(ctx, loopbackURL("http", p.etcdClient)); err != nil {
		return nil, err
	}
	if err := c.run(apiName, apiserverArgs(l, p, pkiPaths)); err != nil {
		return nil, err
	}
	// The controller manager gives up if the apiserver is not healthy within
	// ~10s of its start, so it only starts once /readyz says 200.
	if err := c.waitAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.run(kcmName, kcmArgs(l, pkiPaths)); err != nil {
		return nil, err
	}
	if err := c.waitControllers(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// run starts one binary and records it (and, when detached, its pid) before
// anything else can fail, so Stop always knows about it.
func (c *Cluster) run(name string, args []string) error {
	fmt.Fprintf(c.opts.Log, "localcluster: starting %s\n", name)
	p, err := startProcess(name, c.opts.BinDir, c.layout.logDir(), args, c.opts.Detach)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs = append(c.procs, p)
	if c.opts.Detach {
		return writePids(c.layout.pidsFile(), c.procs)
	}
	return nil
}

// KubeconfigPath is DataDir/admin.kubeconfig (admin credentials, everything
// embedded, current context "bulkhead-local").
func (c *Cluster) KubeconfigPath() string { return c.layout.adminKubeconfig() }

// RESTConfig returns a fresh copy of the admin client config (client cert
// with O=system:masters). QPS and Burst are left at zero, i.e. client-go's
// defaults, so callers choose their own rate limits.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Server is the apiserver URL, https://127.0.0.1:PORT.
func (c *Cluster) Server() string { return c.server }

// Stop terminates the processes Start started, newest first (SIGTERM, then
// SIGKILL after a grace period), and waits for them to exit. It is safe to
// call more than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		if err := c.procs[i].stop(stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	if c.opts.Detach && len(errs) == 0 {
		if err := os.Remove(c.layout.pidsFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove pids file: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("localcluster: stop: %w", err)
	}
	return nil
}

// exitedEarly returns the error of the first started process that is no
// longer running and was not stopped on purpose, or nil. Port clashes are
// marked retryable.
func (c *Cluster) exitedEarly() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.halted || !p.exited() {
			continue
		}
		err := p.exitError()
		if strings.Contains(err.Error(), "address already in use") {
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	return nil
}

// pids lists the started processes' ids, for tests.
func (c *Cluster) pids() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, 0, len(c.procs))
	for _, p := range c.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}
