package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
)

// goTest is a running go test -json. It runs in a process group of its
// own, so that a signal the wrapper passes on reaches the go command and
// every test binary it started: the go command alone ignores SIGINT while
// its test binaries run, and would leave them running on SIGTERM.
type goTest struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	sigs   chan os.Signal
	done   chan struct{}

	mu  sync.Mutex
	sig os.Signal // the first signal passed on
}

// startGoTest starts go test -json with the wrapper's go test arguments,
// and passes SIGINT and SIGTERM on to it: the first as it is, a second as
// SIGKILL.
func (c *testCmd) startGoTest() (*goTest, error) {
	args := append([]string{"test", "-json"}, c.goArgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "EVALREC_WRAPPED=1")
	cmd.Stderr = c.env.stderr
	ownProcessGroup(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	widenPipe(stdout)
	g := &goTest{cmd: cmd, stdout: stdout, sigs: make(chan os.Signal, 2), done: make(chan struct{})}
	signal.Notify(g.sigs, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		signal.Stop(g.sigs)
		return nil, fmt.Errorf("starting go test: %w", err)
	}
	go g.forward()
	return g, nil
}

func (g *goTest) forward() {
	for n := 0; ; n++ {
		select {
		case <-g.done:
			return
		case s := <-g.sigs:
			g.mu.Lock()
			if g.sig == nil {
				g.sig = s
			}
			g.mu.Unlock()
			if n == 0 {
				signalGroup(g.cmd.Process, s)
			} else {
				signalGroup(g.cmd.Process, syscall.SIGKILL)
			}
		}
	}
}

// stopped says why go test was cut short, or "" when it was not.
func (g *goTest) stopped() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sig == nil {
		return ""
	}
	return "evalrec test was interrupted by " + signalName(g.sig)
}

// wait waits for go test and returns its exit code: 128 plus the signal
// when it was killed by one, as a shell reports it, and never 0 for a run
// that was interrupted.
func (g *goTest) wait() (int, error) {
	err := g.cmd.Wait()
	signal.Stop(g.sigs)
	close(g.done)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	case err != nil:
		return 0, fmt.Errorf("go test: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sig != nil && code == 0 {
		if s, ok := g.sig.(syscall.Signal); ok {
			code = 128 + int(s)
		} else {
			code = 1
		}
	}
	return code, nil
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
