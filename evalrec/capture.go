package evalrec

import (
	"io"
	"os"
	"strings"
	"sync"

	"evalrec.dev/result"
)

// tailSize bounds the output kept per failed test, as in the converter.
const tailSize = 16 << 10

// capture tees the test binary's standard output, so the recorder can store
// the output tail of failed tests: testing prints a failed test's log only
// after the test's cleanups have run, so Record's cleanup cannot see it.
//
// Every chunk is written to the real stdout before it is parsed; nothing is
// held back. Lines are attributed to a test by the framing lines testing
// prints ("=== RUN", "=== CONT", "=== ATTR", "--- FAIL:", …). A test's
// "--- FAIL:" report block ends at the next framing line; the output read for
// that test so far is then its tail. Blocks and failed tests are matched in
// order, per name, because the test goroutine hands a failed test over
// before testing prints its report, and this reader may lag behind: a block
// that completes first waits for its test, and a test that comes first
// waits for its block, or at the latest for Finish.
type capture struct {
	orig   *os.File
	w      *os.File
	done   chan struct{}
	submit func(*result.Test)
	// early records a failed test before its report block is read, so
	// that a binary dying in between (the test panicked) still has it.
	early func(*result.Test)

	mu      sync.Mutex
	tails   map[string]*strings.Builder // by test name, tests that called Record
	current string
	closing string                    // the test whose report block is being read
	pending map[string][]*result.Test // failed tests waiting for their block
	ready   map[string][]string       // completed blocks waiting for their test
}

func startCapture(submit, early func(*result.Test)) *capture {
	r, w, err := os.Pipe()
	if err != nil {
		return nil // no capture: failed tests are stored without output
	}
	c := &capture{orig: os.Stdout, w: w, done: make(chan struct{}), submit: submit, early: early,
		tails: map[string]*strings.Builder{}, pending: map[string][]*result.Test{}, ready: map[string][]string{}}
	os.Stdout = w
	go c.copy(r)
	return c
}

// watch starts keeping output for a test that called Record.
func (c *capture) watch(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tails[name] == nil {
		c.tails[name] = &strings.Builder{}
	}
}

// finish takes a finished test. A failed test waits for its report; others
// go straight to the journal.
func (c *capture) finish(t *result.Test) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Status != result.Failed {
		delete(c.tails, t.Name)
		c.submit(t)
		return
	}
	if q := c.ready[t.Name]; len(q) > 0 {
		t.Output, c.ready[t.Name] = q[0], q[1:]
		c.submit(t)
		return
	}
	c.early(t)
	c.pending[t.Name] = append(c.pending[t.Name], t)
}

func (c *capture) copy(r *os.File) {
	defer close(c.done)
	buf := make([]byte, 32<<10)
	var partial string
	for {
		n, err := r.Read(buf)
		if n > 0 {
			c.orig.Write(buf[:n])
			s := partial + string(buf[:n])
			lines := strings.SplitAfter(s, "\n")
			partial = lines[len(lines)-1]
			if len(partial) > tailSize {
				partial = partial[len(partial)-tailSize:]
			}
			c.mu.Lock()
			for _, l := range lines[:len(lines)-1] {
				c.line(l)
			}
			c.mu.Unlock()
		}
		if err != nil {
			if err != io.EOF {
				io.Copy(c.orig, r)
			}
			return
		}
	}
}

// line attributes one line; c.mu is held.
func (c *capture) line(l string) {
	trimmed := strings.TrimLeft(l, " \t\x16")
	if name, ok := framing(trimmed); ok {
		isFail := strings.HasPrefix(trimmed, "--- FAIL:")
		if c.closing != "" && (c.closing != name || isFail) {
			c.completeBlock()
		}
		c.current = name
		if isFail {
			c.closing = name
		}
	}
	if b := c.tails[c.current]; b != nil {
		b.WriteString(l)
		if b.Len() > 2*tailSize {
			s := b.String()
			b.Reset()
			b.WriteString(s[len(s)-tailSize:])
		}
	}
}

// framing returns the test a framing line names: "=== RUN   name",
// "=== CONT  name", "=== ATTR  name key value" and the like, or
// "--- FAIL: name (0.00s)".
func framing(l string) (string, bool) {
	var rest string
	switch {
	case strings.HasPrefix(l, "=== "):
		word, r, ok := strings.Cut(l[4:], " ")
		if !ok || word == "" || strings.ToUpper(word) != word {
			return "", false
		}
		rest = r
	case strings.HasPrefix(l, "--- FAIL:"), strings.HasPrefix(l, "--- PASS:"), strings.HasPrefix(l, "--- SKIP:"):
		rest = l[9:]
	default:
		return "", false
	}
	name, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	name = strings.TrimSpace(name)
	return name, name != ""
}

// completeBlock ends the report block being read and gives its tail to the
// oldest failed test of that name, or keeps it until that test arrives;
// c.mu is held.
func (c *capture) completeBlock() {
	name := c.closing
	c.closing = ""
	out := c.takeTail(name)
	if q := c.pending[name]; len(q) > 0 {
		t := q[0]
		c.pending[name] = q[1:]
		t.Output = out
		c.submit(t)
		return
	}
	c.ready[name] = append(c.ready[name], out)
}

// takeTail returns the output read for name and starts afresh, for a later
// attempt of the same test; c.mu is held.
func (c *capture) takeTail(name string) string {
	b := c.tails[name]
	if b == nil {
		return ""
	}
	out := b.String()
	b.Reset()
	if len(out) > tailSize {
		out = "…\n" + out[len(out)-tailSize:]
	}
	return out
}

// stop restores stdout, drains the pipe and sends every waiting test.
func (c *capture) stop() {
	if c == nil {
		return
	}
	os.Stdout = c.orig
	c.w.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing != "" {
		c.completeBlock()
	}
	for name, q := range c.pending {
		for _, t := range q {
			t.Output = c.takeTail(name)
			c.submit(t)
		}
	}
	c.pending = nil
}
