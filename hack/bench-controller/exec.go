package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The helpers in this file and in spec.go and settle.go are hack/bench's,
// trimmed to what this program needs: the two programs stay independent,
// so either can change its measurement without moving the other's.

// cmdResult is one timed command: wall time from start to exit, its stderr
// and its peak resident set.
type cmdResult struct {
	dur    time.Duration
	stderr string
	maxRSS int64 // bytes
}

// timed runs name args with stdout to outPath and reports the wall time.
func timed(ctx context.Context, label, outPath, name string, args ...string) (cmdResult, error) {
	out, err := os.Create(outPath)
	if err != nil {
		return cmdResult{}, err
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = out
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	res := cmdResult{dur: time.Since(start), stderr: stderr.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %s %s: %w\n%s", label, name, strings.Join(args, " "), err, tail(res.stderr, 20))
	}
	return res, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "..."
		}
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// Summary is bulkhead apply's own account, from its last stderr line, e.g.
// "1000 tenants, 9002 objects: 9002 created, 0 configured, 0 unchanged, 0 failed in 31.2s".
type Summary struct {
	Tenants    int    `json:"tenants"`
	Objects    int    `json:"objects"`
	Created    int    `json:"created"`
	Configured int    `json:"configured"`
	Unchanged  int    `json:"unchanged"`
	Failed     int    `json:"failed"`
	Line       string `json:"line"`
}

var summaryRE = regexp.MustCompile(`(\d+) tenants, (\d+) objects: (\d+) created, (\d+) configured, (\d+) unchanged.*?(\d+) failed`)

func parseSummary(stderr string) (*Summary, error) {
	var line string
	for _, l := range strings.Split(stderr, "\n") {
		if summaryRE.MatchString(l) {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		return nil, fmt.Errorf("no summary line (\"N tenants, M objects: ...\") in bulkhead's stderr:\n%s", tail(stderr, 10))
	}
	m := summaryRE.FindStringSubmatch(line)
	n := make([]int, len(m)-1)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return &Summary{Tenants: n[0], Objects: n[1], Created: n[2], Configured: n[3], Unchanged: n[4], Failed: n[5], Line: line}, nil
}

// loadavg is the 1-, 5- and 15-minute load average, for the record.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
