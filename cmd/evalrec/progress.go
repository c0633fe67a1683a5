package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"evalrec.dev/result"
)

// progress is the one-line display evalrec test keeps at the bottom of a
// terminal while a suite runs: packages done out of total, tests passed and
// failed so far, and the time elapsed. It draws nothing when the output is
// not a terminal.
type progress struct {
	w     io.Writer
	start time.Time

	mu             sync.Mutex
	on             bool
	total          int // packages go list found; 0 until it answers
	done           int
	passed, failed int
	shown          bool
	quit           chan struct{}
	stopped        chan struct{}
}

func newProgress(w io.Writer, wanted bool, start time.Time, goArgs []string) *progress {
	p := &progress{w: w, start: start}
	f, ok := w.(*os.File)
	if !wanted || !ok || !isatty.IsTerminal(f.Fd()) {
		return p
	}
	p.on, p.quit, p.stopped = true, make(chan struct{}), make(chan struct{})
	go p.countPackages(goArgs)
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// countPackages asks go list how many packages the arguments name, for the
// "done of total" figure.
func (p *progress) countPackages(goArgs []string) {
	args := []string{"list", "-e", "-f", "{{.ImportPath}}"}
	for i := 0; i < len(goArgs); i++ {
		a := goArgs[i]
		if a == "-args" || a == "--args" {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
			args = append(args, a)
		case name == "tags" || name == "mod" || name == "modfile" || name == "C":
			args = append(args, a)
			if !hasValue && i+1 < len(goArgs) {
				i++
				args = append(args, goArgs[i])
			}
		case !hasValue && goValueFlags[strings.TrimPrefix(name, "test.")]:
			i++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		return
	}
	p.mu.Lock()
	p.total = strings.Count(string(out), "\n")
	p.mu.Unlock()
}

func (p *progress) test(t *result.Test) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch t.Status {
	case result.Passed:
		p.passed++
	case result.Failed, result.Incomplete:
		p.failed++
	}
}

// packageDone counts a package, and runs print (which prints the package's
// line) with the progress line out of its way.
func (p *progress) packageDone(print func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.clear()
	print()
	p.draw()
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

func (p *progress) draw() {
	if !p.on {
		return
	}
	pkgs := fmt.Sprintf("%d packages", p.done)
	if p.total >= p.done && p.total > 0 {
		pkgs = fmt.Sprintf("%d/%d packages", p.done, p.total)
	}
	fmt.Fprintf(p.w, "\r\033[K%s  %d passed  %d failed  %s", pkgs, p.passed, p.failed, time.Since(p.start).Round(time.Second))
	p.shown = true
}

// stop erases the line for good.
func (p *progress) stop() {
	if !p.on {
		return
	}
	close(p.quit)
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.on = false
}
