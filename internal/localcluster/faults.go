package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Fault injection, for tests of what clients do when the control plane
// misbehaves. The restarted API server keeps its flags, port and
// certificates, so clients and kubeconfigs keep working; etcd keeps its
// data, so everything written before a restart is still there after it.

// StopAPIServer stops kube-apiserver the way a rolling upgrade does:
// SIGTERM, so it drains in-flight requests and closes its connections, then
// SIGKILL if it is still there after a grace period. Stopping it when it is
// already stopped does nothing.
func (c *Cluster) StopAPIServer() error {
	if err := c.halt(apiName, stopGrace); err != nil {
		return fmt.Errorf("localcluster: stop %s: %w", apiName, err)
	}
	return nil
}

// KillAPIServer stops kube-apiserver the way a crash does: SIGKILL, so
// in-flight requests see their connections reset, whether or not their
// writes reached etcd.
func (c *Cluster) KillAPIServer() error {
	if err := c.halt(apiName, 0); err != nil {
		return fmt.Errorf("localcluster: kill %s: %w", apiName, err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver again, with the flags and port it had,
// after StopAPIServer or KillAPIServer, and returns once /readyz says 200.
// If it is running, it only waits for /readyz, so tests can call it in a
// cleanup whatever state they left the cluster in. Without a deadline on
// ctx it waits at most as long as Start would.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if err := c.resume(apiName); err != nil {
		return fmt.Errorf("localcluster: start %s: %w", apiName, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	if err := c.waitAPIServer(ctx); err != nil {
		return fmt.Errorf("localcluster: restart %s: %w", apiName, err)
	}
	return nil
}

// RestartAPIServer stops kube-apiserver (as StopAPIServer does), leaves it
// down for down, and starts it again (as StartAPIServer does). If ctx ends
// while it is down, it stays down.
func (c *Cluster) RestartAPIServer(ctx context.Context, down time.Duration) error {
	if err := c.StopAPIServer(); err != nil {
		return err
	}
	t := time.NewTimer(down)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("localcluster: %s left stopped: %w", apiName, context.Cause(ctx))
	case <-t.C:
	}
	return c.StartAPIServer(ctx)
}

// PauseEtcd freezes etcd with SIGSTOP: connections stay open and nothing
// answers, so API requests that need storage hang until the API server's
// own timeouts, and /readyz fails. ResumeEtcd undoes it; so does Stop.
func (c *Cluster) PauseEtcd() error {
	if err := c.signal(etcdName, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("localcluster: pause %s: %w", etcdName, err)
	}
	// A signal is delivered asynchronously: return once etcd has stopped.
	return c.waitState(etcdName, true)
}

// waitState waits up to a few seconds until the named process is stopped
// (or running again), as /proc reports it; where there is no /proc it
// returns at once.
func (c *Cluster) waitState(name string, stopped bool) error {
	c.mu.Lock()
	_, p, err := c.process(name)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	pid := p.cmd.Process.Pid
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			return nil
		}
		if st := stat[i+2]; (st == 'T' || st == 't') == stopped {
			return nil
		}
	}
	return fmt.Errorf("localcluster: %s did not change state within 5s", name)
}

// ResumeEtcd lets a paused etcd run again (SIGCONT).
func (c *Cluster) ResumeEtcd() error {
	if err := c.signal(etcdName, syscall.SIGCONT); err != nil {
		return fmt.Errorf("localcluster: resume %s: %w", etcdName, err)
	}
	return c.waitState(etcdName, false)
}

// errStopped: the cluster was stopped, so there is nothing to inject into.
var errStopped = errors.New("the cluster is stopped")

// process returns the named process; the caller holds c.mu.
func (c *Cluster) process(name string) (int, *process, error) {
	if c.stopped {
		return 0, nil, errStopped
	}
	for i, p := range c.procs {
		if p.name == name {
			return i, p, nil
		}
	}
	return 0, nil, fmt.Errorf("%s was never started", name)
}

// halt stops the named process on purpose, so that polls do not report it
// as having exited early.
func (c *Cluster) halt(name string, grace time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, p, err := c.process(name)
	if err != nil {
		return err
	}
	if p.halted {
		return nil
	}
	if p.exited() {
		return p.exitError()
	}
	p.halted = true
	fmt.Fprintf(c.opts.Log, "localcluster: stopping %s\n", name)
	return p.stop(grace)
}

// resume starts a halted process again with the arguments it had, in its
// place in procs (and in the pids file of a detached cluster). A process
// that was not halted is left alone.
func (c *Cluster) resume(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, p, err := c.process(name)
	if err != nil {
		return err
	}
	if !p.halted {
		return nil
	}
	fmt.Fprintf(c.opts.Log, "localcluster: starting %s again\n", name)
	np, err := startProcess(name, c.opts.BinDir, c.layout.logDir(), p.cmd.Args[1:], c.opts.Detach)
	if err != nil {
		return err
	}
	c.procs[i] = np
	if c.opts.Detach {
		return writePids(c.layout.pidsFile(), c.procs)
	}
	return nil
}

func (c *Cluster) signal(name string, sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, p, err := c.process(name)
	if err != nil {
		return err
	}
	if p.exited() {
		return p.exitError()
	}
	return p.signal(sig)
}

// RestartAPIServerWithFlags restarts kube-apiserver (as StopAPIServer and
// StartAPIServer do) with flags changed: each "--name=value" replaces the
// flag of that name, or is added. The change lasts until the next call, so
// a test that turns on what the cluster normally has off (API Priority and
// Fairness: "--enable-priority-and-fairness=true") turns it off again the
// same way.
func (c *Cluster) RestartAPIServerWithFlags(ctx context.Context, flags ...string) error {
	if err := c.StopAPIServer(); err != nil {
		return err
	}
	c.mu.Lock()
	_, p, err := c.process(apiName)
	if err == nil {
		p.cmd.Args = withFlags(p.cmd.Args, flags)
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("localcluster: change the flags of %s: %w", apiName, err)
	}
	return c.StartAPIServer(ctx)
}

// withFlags returns args with each of flags in place of the flag of the
// same name, or appended.
func withFlags(args, flags []string) []string {
	out := append([]string(nil), args...)
	for _, f := range flags {
		name, _, _ := strings.Cut(f, "=")
		replaced := false
		for i, a := range out {
			if n, _, _ := strings.Cut(a, "="); n == name {
				out[i], replaced = f, true
			}
		}
		if !replaced {
			out = append(out, f)
		}
	}
	return out
}
