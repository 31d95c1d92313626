package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchRow is one line of the bench's table: a figure beside its target and
// what bounds it.
type benchRow struct {
	part, measure, result, target, bound string
}

// benchReport collects the rows of one run and prints them side by side.
type benchReport struct {
	rows []benchRow
	log  io.Writer // each row as it is measured, so a long run shows progress
}

func (r *benchReport) add(part, measure, result, target, bound string) {
	r.rows = append(r.rows, benchRow{part, measure, result, target, bound})
	fmt.Fprintf(r.log, "bench: %s %s: %s (%s)\n", part, measure, result, bound)
}

// print writes the table in Markdown, so it pastes into docs/benchmarks.md.
func (r *benchReport) print(w io.Writer) {
	fmt.Fprintln(w, "| part | measure | result | target | bound by |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, row := range r.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", row.part, row.measure, row.result, row.target, row.bound)
	}
}

// latencies are the durations of one kind of operation.
type latencies []time.Duration

// quantile returns the q-quantile (0..1) by the nearest-rank method; 0 for
// no samples.
func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// p50p99 formats the median and the 99th percentile.
func (l latencies) p50p99() string {
	return fmt.Sprintf("p50 %s, p99 %s", fmtDur(l.quantile(0.5)), fmtDur(l.quantile(0.99)))
}

// fmtDur rounds d to three significant digits or so, for a table.
func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Nanosecond).String()
}

// fmtRate formats a per-second figure with thousands separators.
func fmtRate(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// cpuClock reads the CPU time a process has used so far: this process when
// pid is 0, else the process pid from /proc (all its threads).
func cpuClock(pid int) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it do not.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on every Linux the bench runs on
	return time.Duration(utime+stime) * time.Second / ticks
}

// window measures the wall and CPU time of one measured stretch of work,
// of this process and, when server is set, of the server's process.
type window struct {
	start           time.Time
	self, server    time.Duration
	serverPID       int
	syncs           func() int
	startSyncs      int
	elapsed         time.Duration
	selfCPU, srvCPU float64 // cores used on average
	syncCount       int
	// busy and total are the machine's CPU ticks (all processes, the other
	// users of a shared machine included) at the start, then over the
	// window; machine is the busy share of them.
	busy, total int64
	machine     float64
}

func startWindow(serverPID int, syncs func() int) *window {
	w := &window{start: time.Now(), self: cpuClock(0), serverPID: serverPID, syncs: syncs}
	w.busy, w.total = machineTicks()
	if serverPID != 0 {
		w.server = cpuClock(serverPID)
	}
	if syncs != nil {
		w.startSyncs = syncs()
	}
	return w
}

// stop ends the window and computes its figures.
func (w *window) stop() *window {
	w.elapsed = time.Since(w.start)
	sec := w.elapsed.Seconds()
	w.selfCPU = (cpuClock(0) - w.self).Seconds() / sec
	if w.serverPID != 0 {
		w.srvCPU = (cpuClock(w.serverPID) - w.server).Seconds() / sec
	}
	if w.syncs != nil {
		w.syncCount = w.syncs() - w.startSyncs
	}
	busy, total := machineTicks()
	if total > w.total {
		w.machine = float64(busy-w.busy) / float64(total-w.total)
	}
	return w
}

// machineTicks reads the machine's busy and total CPU ticks from /proc/stat.
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle and iowait
			busy += n
		}
	}
	return busy, total
}

// boundOf is bound for a part of w's time that lasted elapsed and made
// commits durable commits; the CPU shares are w's, over the whole window.
func (w *window) boundOf(elapsed time.Duration, commits int, diskRate float64) string {
	part := *w
	part.elapsed, part.syncs = elapsed, nil
	return part.bound(commits, diskRate)
}

// bound names what limits a figure measured in w: the CPU when the machine's
// cores were (nearly) all busy, by the bench and the server or by the
// machine's other users; the disk when commits came at (nearly) the rate it
// can sync; otherwise waiting (serialisation, latency). commits is
// how many durable commits the work made, -1 when unknown; diskRate is the
// disk's own rate of durable one-row transactions, 0 when unmeasured.
func (w *window) bound(commits int, diskRate float64) string {
	cores := float64(runtime.NumCPU())
	used := w.selfCPU + w.srvCPU
	cpu := fmt.Sprintf("bench %.2f + server %.2f of %d cores, machine %.0f %% busy", w.selfCPU, w.srvCPU, runtime.NumCPU(), 100*w.machine)
	if w.serverPID == 0 {
		cpu = fmt.Sprintf("%.2f of %d cores, machine %.0f %% busy", w.selfCPU, runtime.NumCPU(), 100*w.machine)
	}
	if w.syncs != nil {
		commits = w.syncCount
	}
	var disk string
	if commits >= 0 && diskRate > 0 {
		rate := float64(commits) / w.elapsed.Seconds()
		disk = fmt.Sprintf("; %s syncs/s, disk does %s", fmtRate(rate), fmtRate(diskRate))
		if rate >= 0.7*diskRate && used < 0.85*cores {
			return "disk sync (" + cpu + disk + ")"
		}
	}
	if used >= 0.85*cores {
		return "CPU (" + cpu + disk + ")"
	}
	if w.machine >= 0.85 {
		return "CPU taken by the machine's other work (" + cpu + disk + ")"
	}
	return "waiting, neither CPU nor disk saturated (" + cpu + disk + ")"
}
