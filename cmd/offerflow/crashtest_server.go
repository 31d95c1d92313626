package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is one `offerflow serve` process that crashtest runs, kills and
// restarts over the same data directory.
type child struct {
	bin   string
	args  []string
	env   []string
	debug io.Writer // receives the child's stderr when set

	mu   sync.Mutex
	url  string        // base URL while the child listens, "" otherwise
	up   chan struct{} // closed when the current child listens
	cmd  *exec.Cmd
	exit chan error
	tail []string // the last lines the child logged
	race bool     // the race detector spoke
}

var listeningLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

func newChild(bin string, env []string, args ...string) *child {
	return &child{bin: bin, env: env, args: args, up: make(chan struct{})}
}

// start runs the child and waits until it logs its address.
func (c *child) start(ctx context.Context) error {
	cmd := exec.Command(c.bin, c.args...)
	cmd.Env = c.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.bin, err)
	}
	addr := make(chan string, 1)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.logLine(line)
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
	}()
	exit := make(chan error, 1)
	go func() {
		<-logged // Wait closes the pipe: read it to the end first
		exit <- cmd.Wait()
	}()
	c.mu.Lock()
	c.cmd, c.exit = cmd, exit
	c.mu.Unlock()

	select {
	case a := <-addr:
		c.mu.Lock()
		c.url = "http://" + a
		close(c.up)
		c.mu.Unlock()
		return nil
	case err := <-exit:
		exit <- err
		return fmt.Errorf("serve exited before listening (%v):\n%s", err, c.lastLines())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("serve did not log its address within 60 s:\n%s", c.lastLines())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return ctx.Err()
	}
}

func (c *child) logLine(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.debug != nil {
		fmt.Fprintln(c.debug, line)
	}
	if strings.Contains(line, "WARNING: DATA RACE") {
		c.race = true
	}
	c.tail = append(c.tail, line)
	if len(c.tail) > 40 {
		c.tail = c.tail[len(c.tail)-40:]
	}
}

func (c *child) lastLines() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// base returns the URL of the listening child, waiting while it is down.
func (c *child) base(ctx context.Context) (string, error) {
	for {
		c.mu.Lock()
		url, up := c.url, c.up
		c.mu.Unlock()
		if url != "" {
			return url, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// stop sends sig to the child and waits for it to exit; it returns the
// child's exit error (nil for exit code 0).
func (c *child) stop(sig syscall.Signal) error {
	c.mu.Lock()
	cmd, exit := c.cmd, c.exit
	c.url = ""
	c.up = make(chan struct{})
	c.mu.Unlock()
	if cmd == nil {
		return errors.New("no child running")
	}
	if err := cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	select {
	case err := <-exit:
		return err
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("serve did not exit within 90 s of %v:\n%s", sig, c.lastLines())
	}
}

// raced reports whether a race-instrumented child reported a data race.
func (c *child) raced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.race
}
