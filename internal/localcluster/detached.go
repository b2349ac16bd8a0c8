package localcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// pidEntry is one line of DataDir/pids: "<name> <pid>".
type pidEntry struct {
	name string
	pid  int
}

// writePids replaces the pids file atomically so a concurrent reader never
// sees half a file.
func writePids(path string, procs []*process) error {
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "%s %d\n", p.name, p.cmd.Process.Pid)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write pids file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write pids file: %w", err)
	}
	return nil
}

func readPids(path string) ([]pidEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []pidEntry
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("malformed line %q in %s: delete the file if no cluster is running", s.Text(), path)
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil || pid <= 1 {
			return nil, fmt.Errorf("malformed pid %q in %s: delete the file if no cluster is running", fields[1], path)
		}
		out = append(out, pidEntry{name: fields[0], pid: pid})
	}
	return out, nil
}

// ours reports whether pid is still the named binary serving dataDir. The
// pids file may be stale (reboot, crash) and the pid reused by an unrelated
// process, which must never be signalled.
func ours(e pidEntry, dataDir string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", e.pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name; a zombie has exited.
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || bytes.HasPrefix(stat[i+1:], []byte(" Z")) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", e.pid))
	if err != nil || len(cmdline) == 0 {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if filepath.Base(args[0]) != e.name {
		return false
	}
	// Every process we start has a flag pointing into its data dir, which
	// tells our cluster apart from another one using the same binaries.
	prefix := dataDir + string(filepath.Separator)
	for _, a := range args[1:] {
		if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, prefix) {
			return true
		}
	}
	return false
}

// livePids returns the pids from the pids file that are still our processes.
func livePids(l layout) []int {
	entries, err := readPids(l.pidsFile())
	if err != nil {
		return nil
	}
	var live []int
	for _, e := range entries {
		if ours(e, l.dataDir) {
			live = append(live, e.pid)
		}
	}
	return live
}

// StopDetached stops a cluster started with Options.Detach, possibly by
// another process: it reads DataDir/pids, signals only the entries that are
// still our binaries (SIGTERM, SIGKILL after a grace period), waits for them
// to go away and removes the pids file. No pids file means nothing to stop.
func StopDetached(dataDir string) error {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("localcluster: resolve data dir: %w", err)
	}
	l := layout{dataDir: dataDir}
	entries, err := readPids(l.pidsFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("localcluster: read pids: %w", err)
	}
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		if err := stopDetachedProcess(entries[i], dataDir); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("localcluster: stop detached cluster in %s: %w", dataDir, errors.Join(errs...))
	}
	if err := os.Remove(l.pidsFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("localcluster: remove pids file: %w", err)
	}
	return nil
}

// stopDetachedProcess cannot wait(2) for a process it did not start, so it
// polls /proc until the process is gone (or a zombie awaiting its parent).
func stopDetachedProcess(e pidEntry, dataDir string) error {
	if !ours(e, dataDir) {
		return nil
	}
	// Detached processes lead their own session, so pid == pgid.
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, stopGrace}, {syscall.SIGKILL, 5 * time.Second}} {
		if err := syscall.Kill(-e.pid, step.sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %s (pid %d): %w", e.name, e.pid, err)
		}
		for deadline := time.Now().Add(step.wait); time.Now().Before(deadline); {
			if !ours(e, dataDir) {
				return nil
			}
			time.Sleep(pollInterval)
		}
	}
	return fmt.Errorf("%s (pid %d) survived SIGKILL: check it with `ps -p %d`", e.name, e.pid, e.pid)
}

// Running returns nil if a cluster started in dataDir is up: every process in
// the pids file is alive and /readyz answers 200 with the admin kubeconfig.
// Otherwise the error says what is missing.
func Running(ctx context.Context, dataDir string) error {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return fmt.Errorf("localcluster: resolve data dir: %w", err)
	}
	l := layout{dataDir: dataDir}
	entries, err := readPids(l.pidsFile())
	if err != nil {
		return fmt.Errorf("localcluster: no detached cluster in %s: %w", dataDir, err)
	}
	for _, e := range entries {
		if !ours(e, dataDir) {
			return fmt.Errorf("localcluster: %s (pid %d) from %s is not running", e.name, e.pid, l.pidsFile())
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", l.adminKubeconfig())
	if err != nil {
		return fmt.Errorf("localcluster: load %s: %w", l.adminKubeconfig(), err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("localcluster: build http client: %w", err)
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := get(ctx, client, cfg.Host+"/readyz"); err != nil {
		return fmt.Errorf("localcluster: apiserver not ready: %w", err)
	}
	return nil
}
