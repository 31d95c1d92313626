package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchServer is `offerflow serve` running as a child process of the bench,
// so that its memory, CPU time and system calls are its own.
type benchServer struct {
	cmd      *exec.Cmd
	pid      int // the server's process (strace's child when traced)
	url      string
	pprofURL string
	logPath  string
	// traceOut is strace's output, one line per fsync or fdatasync call of
	// the server; empty when the server runs without strace.
	traceOut string
	// done is closed when the started process (strace or the server) has
	// ended; waitErr is then how.
	done    chan struct{}
	waitErr error
}

// startBenchServer starts bin serve on a free loopback port with its data in
// dir, optionally under `strace -f -e trace=fsync,fdatasync` (with seccomp
// filtering, so only those calls stop the server), and waits until it logs
// its address. extra are further serve flags.
func startBenchServer(ctx context.Context, bin, dir, operatorToken string, trace, pprof bool, extra []string) (*benchServer, error) {
	s := &benchServer{logPath: filepath.Join(dir, "serve.log"), done: make(chan struct{})}
	// The bench measures capacity from one token and one address: the
	// request limits, which protect a real deployment, would measure
	// themselves. --serve-flags "--limits=true" puts them back.
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--operator-token", operatorToken, "--limits=false"}
	if pprof {
		args = append(args, "--pprof-addr", "127.0.0.1:0")
	}
	args = append(args, extra...)
	name := bin
	if trace {
		s.traceOut = filepath.Join(dir, "strace.txt")
		args = append([]string{"-f", "--seccomp-bpf", "-qq", "-e", "trace=fsync,fdatasync", "-e", "signal=none",
			"-o", s.traceOut, "--", bin}, args...)
		name = "strace"
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Not CommandContext: the server must get SIGTERM and shut down cleanly,
	// never SIGKILL halfway through a commit.
	s.cmd = exec.Command(name, args...)
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	addrRe := regexp.MustCompile(`msg=listening addr=(\S+)`)
	pprofRe := regexp.MustCompile(`msg="pprof listening" addr=(\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	for s.url == "" || (pprof && s.pprofURL == "") {
		select {
		case <-s.done:
			return nil, fmt.Errorf("serve exited before listening (%v): %s", s.waitErr, s.logTail())
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("serve did not log its address within 60 s: %s", s.logTail())
		}
		b, _ := os.ReadFile(s.logPath)
		if m := addrRe.FindSubmatch(b); m != nil {
			s.url = "http://" + string(m[1])
		}
		if m := pprofRe.FindSubmatch(b); m != nil {
			s.pprofURL = "http://" + string(m[1])
		}
	}
	s.pid = s.cmd.Process.Pid
	if trace {
		if s.pid, err = childOf(s.pid); err != nil {
			s.kill()
			return nil, err
		}
	}
	return s, nil
}

// childOf returns the one child process of pid (strace's tracee).
func childOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, fmt.Errorf("find the traced server: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return 0, fmt.Errorf("find the traced server: strace has children %q", f)
	}
	return strconv.Atoi(f[0])
}

func (s *benchServer) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// syncs returns how many fsync and fdatasync calls the server has made so
// far; -1 without strace.
func (s *benchServer) syncs() int {
	b, err := os.ReadFile(s.traceOut)
	if err != nil {
		return -1
	}
	return bytes.Count(b, []byte("sync("))
}

// syncCounter is syncs as a window's counter, nil without strace.
func (s *benchServer) syncCounter() func() int {
	if s.traceOut == "" {
		return nil
	}
	return s.syncs
}

// peakRSS returns the server's peak resident set so far (VmHWM).
func (s *benchServer) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0, errors.New("no VmHWM in /proc status")
	}
	kb, err := strconv.ParseInt(string(m[1]), 10, 64)
	return kb * 1024, err
}

// profile takes a CPU profile of the server for d into path.
func (s *benchServer) profile(ctx context.Context, d time.Duration, path string) error {
	return s.fetchProfile(ctx, fmt.Sprintf("profile?seconds=%d", int(d.Seconds()+0.5)), path)
}

// heapProfile writes the server's heap profile into path.
func (s *benchServer) heapProfile(ctx context.Context, path string) error {
	return s.fetchProfile(ctx, "heap", path)
}

// fetchProfile writes the profile at /debug/pprof/NAME into path.
func (s *benchServer) fetchProfile(ctx context.Context, name, path string) error {
	if s.pprofURL == "" {
		return errors.New("the server runs without --pprof-addr")
	}
	url := s.pprofURL + "/debug/pprof/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	return f.Close()
}

// stop sends the server SIGTERM and waits for it (and strace) to end.
func (s *benchServer) stop() error {
	if !s.alive() {
		return nil
	}
	if err := syscall.Kill(s.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop server: %w", err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(45 * time.Second):
		s.kill()
		return errors.New("stop server: it did not stop within 45 s of SIGTERM")
	}
}

// alive reports whether the started process (strace or the server) runs.
func (s *benchServer) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// kill ends the server at once; only for a server that failed to start.
func (s *benchServer) kill() {
	_ = s.cmd.Process.Kill()
	if s.pid != 0 && s.pid != s.cmd.Process.Pid {
		_ = syscall.Kill(s.pid, syscall.SIGKILL)
	}
}
