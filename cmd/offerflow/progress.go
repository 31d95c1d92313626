package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports long work: a bar on a terminal, a log line every few
// seconds otherwise (so CI logs and pipes stay readable).
type progress struct {
	w       io.Writer
	label   string
	total   int64
	bar     *progressbar.ProgressBar
	last    time.Time
	started time.Time
	n       int64
}

func newProgress(w io.Writer, label string, total int64) *progress {
	p := &progress{w: w, label: label, total: total, started: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// set records that n units of the total are done.
func (p *progress) set(n int64) {
	p.n = n
	if p.bar != nil {
		_ = p.bar.Set64(n)
		return
	}
	if time.Since(p.last) >= 2*time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.w, "%s: %d/%d events (%.0f%%)\n", p.label, n, p.total, percent(n, p.total))
	}
}

// done ends the report; without a terminal it always writes a last line,
// so that even work shorter than the logging interval leaves a trace.
func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
		return
	}
	fmt.Fprintf(p.w, "%s: %d/%d events (%.0f%%) in %s\n", p.label, p.n, p.total, percent(p.n, p.total), time.Since(p.started).Round(time.Millisecond))
}

func percent(n, total int64) float64 {
	if total <= 0 {
		return 100
	}
	return 100 * float64(n) / float64(total)
}
