package journal

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	json "github.com/goccy/go-json"

	"evalrec.dev/result"
)

// IsJournal reports whether a file that begins with first is a journal,
// not a spool file of evalrec's first format.
func IsJournal(first []byte) bool { return bytes.HasPrefix(first, []byte(`{"v":`)) }

// Lines reads a file of JSON lines one line at a time, skipping blank
// ones. A last line cut short (its writer killed mid-write, or its disk
// full) is not returned, and not an error: [Lines.Cut] says so.
type Lines struct {
	r   *bufio.Reader
	n   int  // the line last returned
	cut bool // the last line was cut short
}

// NewLines reads r.
func NewLines(r *bufio.Reader) *Lines { return &Lines{r: r} }

// Next returns the next complete line, or nil at the end.
func (l *Lines) Next() []byte {
	for {
		b, err := l.r.ReadBytes('\n')
		if len(b) > 0 && err == nil {
			l.n++
			if len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			return b
		}
		if len(bytes.TrimSpace(b)) > 0 {
			l.n++ // cut short: the writer died mid-line; what came before stands
			l.cut = true
		}
		return nil
	}
}

// Line is the number of the line Next last returned, from 1.
func (l *Lines) Line() int { return l.n }

// Cut reports whether the file ended in a line cut short.
func (l *Lines) Cut() bool { return l.cut }

// A LineError is a line that could not be read: the caller sets it aside
// and reads on.
type LineError struct {
	Line int
	Text []byte
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Reader reads a journal: its header, then its records in order.
type Reader struct {
	*Lines
}

// NewReader reads the journal r holds.
func NewReader(r *bufio.Reader) *Reader { return &Reader{NewLines(r)} }

// Header reads the first line. A *LineError means no record of the
// journal can be placed in a run.
func (r *Reader) Header() (Header, error) {
	var h Header
	b := r.Next()
	if b == nil {
		return h, &LineError{Line: r.n, Err: io.ErrUnexpectedEOF}
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, &LineError{Line: r.n, Text: b, Err: err}
	}
	return h, nil
}

// Record reads the next record: io.EOF at the end, a *LineError for a line
// that does not decode (the next call reads on).
func (r *Reader) Record() (Record, error) {
	var rec Record
	b := r.Next()
	if b == nil {
		return rec, io.EOF
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return Record{}, &LineError{Line: r.n, Text: b, Err: err}
	}
	return rec, nil
}

// CrashFile is where the test binary writing the journal at path has the
// runtime print a crash (debug.SetCrashOutput): a panic in a test ends the
// process before any deferred code, so this is how its message survives.
func CrashFile(journal string) string {
	return strings.TrimSuffix(strings.TrimSuffix(journal, PartExt), Ext) + ".crash"
}

// maxCrashText bounds the crash report kept with a test's output.
const maxCrashText = 8 << 10

// Crash is what the runtime printed when a test binary crashed.
type Crash struct {
	Message string // the first line: "panic: boom [recovered, repanicked]"
	Text    string // the report, up to the second goroutine's trace
}

// Names reports whether the crash report's stack holds the test's
// function (a subtest's top test), or says nothing of any test.
func (c Crash) Names(test string) bool {
	top, _, _ := strings.Cut(test, "/")
	return strings.Contains(c.Text, "."+top+"(") || !strings.Contains(c.Text, ".Test")
}

// ReadCrash reads the crash report of the journal at path; it is zero
// when there is none.
func ReadCrash(journal string) Crash {
	b, err := os.ReadFile(CrashFile(journal))
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return Crash{}
	}
	text := string(b)
	// The panicking goroutine's trace comes first; the others add nothing.
	if i := strings.Index(text, "\n\ngoroutine "); i >= 0 {
		if j := strings.Index(text[i+2:], "\n\ngoroutine "); j >= 0 {
			text = text[:i+2+j]
		}
	}
	if len(text) > maxCrashText {
		text = text[:maxCrashText] + "\n…"
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return Crash{Message: result.OneLine(msg), Text: strings.TrimSpace(text) + "\n"}
}
