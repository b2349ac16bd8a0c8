package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a process gets between SIGTERM and SIGKILL. The
// apiserver drains for a few seconds on SIGTERM; nothing here holds data
// worth waiting longer for.
const stopGrace = 10 * time.Second

// process is one running control-plane binary.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once cmd.Wait returned
	waitErr error         // valid after done is closed
	halted  bool          // stopped on purpose by a fault injection; guarded by Cluster.mu
}

// startProcess runs binDir/name with args, output appended to
// logDir/<name>.log. Every process leads its own process group so stop can
// signal anything it might spawn without touching the caller's group.
func startProcess(name, binDir, logDir string, args []string, detach bool) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	// The child holds its own descriptor after Start.
	defer logFile.Close()

	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = childEnv(os.Environ())
	if detach {
		// A new session survives the caller's terminal and process group.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Pdeathsig kills the child if the test binary dies without calling
		// Stop (panic, timeout, ^C), so no stray apiservers pile up.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// childEnv drops ETCD_* variables: etcd reads them as flags, and a stray one
// from the developer's shell would conflict with ours.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ETCD_") {
			out = append(out, kv)
		}
	}
	return out
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes an unexpected exit with the end of the process's log,
// which is almost always where the reason is.
func (p *process) exitError() error {
	return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", p.name, p.waitErr, p.logPath, tailFile(p.logPath, 30))
}

// stop sends SIGTERM to the process group, SIGKILL after grace (at once
// when grace is zero), and waits.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	if grace > 0 {
		// SIGCONT because a paused process (PauseEtcd) acts on SIGTERM only
		// once it runs again.
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGCONT} {
			if err := p.signal(sig); err != nil {
				return err
			}
		}
		select {
		case <-p.done:
			return nil
		case <-time.After(grace):
		}
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}

// signal sends sig to the process's group; a group that is already gone
// is not an error.
func (p *process) signal(sig syscall.Signal) error {
	pgid := p.cmd.Process.Pid // leader of its own group (Setpgid/Setsid)
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send %s to %s (pid %d): %w", signalName(sig), p.name, pgid, err)
	}
	return nil
}

// signalName is the name kill(1) uses; syscall.Signal's String is
// "terminated", "stopped (signal)", ...
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSTOP:
		return "SIGSTOP"
	case syscall.SIGCONT:
		return "SIGCONT"
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// tailFile returns up to n last lines of path, for error messages.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	const maxTail = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > maxTail {
		if _, err := f.Seek(-maxTail, io.SeekEnd); err != nil {
			return fmt.Sprintf("(cannot read log: %v)", err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePorts asks the kernel for n distinct free loopback ports. All listeners
// stay open until every port is picked so the kernel cannot hand out the
// same one twice; another process may still grab one before our binaries
// bind it, which Start handles by retrying.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
