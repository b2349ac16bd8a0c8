package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/bulkhead-dev/bulkhead/internal/apply"
)

// progress reports apply's progress on stderr: a bar redrawn in place on a
// terminal, a plain line every tenth of the work otherwise (CI logs). It is
// called from one goroutine at a time (apply.Options.Progress guarantees it).
type progress struct {
	w        io.Writer
	terminal bool
	total    int
	done     int
	last     time.Time
	nextStep int
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, terminal: isTerminal(w), total: total, nextStep: total / 10}
}

func (p *progress) report(apply.Change) {
	p.done++
	if p.total < 50 {
		return // small runs finish before a bar would help
	}
	if p.terminal {
		if time.Since(p.last) < 100*time.Millisecond && p.done < p.total {
			return
		}
		p.last = time.Now()
		const width = 30
		filled := width * p.done / p.total
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = '-'
			if i < filled {
				bar[i] = '#'
			}
		}
		fmt.Fprintf(p.w, "\r[%s] %d/%d objects", bar, p.done, p.total)
		if p.done == p.total {
			fmt.Fprintln(p.w)
		}
		return
	}
	if p.done >= p.nextStep && p.done < p.total {
		fmt.Fprintf(p.w, "%d/%d objects\n", p.done, p.total)
		p.nextStep += p.total / 10
	}
}
