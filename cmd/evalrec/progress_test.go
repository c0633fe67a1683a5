package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"evalrec.dev/result"
)

// TestProgressLineStaysOutOfThePackageLines: the progress line is erased
// before each package line and drawn again after it, with packages done of
// total, tests passed and failed so far, and the time.
func TestProgressLineStaysOutOfThePackageLines(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, on: true, start: time.Now().Add(-3 * time.Second), total: 4}
	p.test(&result.Test{Status: result.Passed})
	p.test(&result.Test{Status: result.Passed})
	p.test(&result.Test{Status: result.Failed})
	p.packageDone(func() { b.WriteString("ok   example.com/a\n") })
	p.packageDone(func() { b.WriteString("FAIL example.com/b\n") })
	out := b.String()
	if !strings.Contains(out, "\r\033[K1/4 packages  2 passed  1 failed  3s") || !strings.Contains(out, "\r\033[K2/4 packages") {
		t.Errorf("no progress line in %q", out)
	}
	if !strings.HasPrefix(out, "ok   example.com/a\n") || !strings.Contains(out, "3s\r\033[KFAIL example.com/b\n") {
		t.Errorf("a package line was not printed over an erased progress line: %q", out)
	}

	var quiet bytes.Buffer
	q := newProgress(&quiet, true, time.Now(), nil) // not a terminal
	q.packageDone(func() { quiet.WriteString("ok   example.com/a\n") })
	q.stop()
	if quiet.String() != "ok   example.com/a\n" {
		t.Errorf("piped output has more than the package lines: %q", quiet.String())
	}
}
