// Package ingest turns a go test -json (test2json) stream into the same
// results that evalrec.Record produces.
//
// It is the only package that knows test2json. [Reader] reads events one line
// at a time with no line-length limit and reports lines that are not events
// as values, never as fatal errors. [Ingester] follows tests by Package and
// Test (never by position), rejoins their output, and hands each finished
// test and package to a [Sink]. Memory grows with the tests in flight, not
// with the stream.
package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"time"

	json "github.com/goccy/go-json"
)

// Event is one test2json event. Fields the stream may add later are ignored.
type Event struct {
	Time        *time.Time `json:",omitempty"`
	Action      string
	Package     string   `json:",omitempty"`
	Test        string   `json:",omitempty"`
	Elapsed     *float64 `json:",omitempty"`
	Output      string   `json:",omitempty"`
	FailedBuild string   `json:",omitempty"`
	Key         string   `json:",omitempty"` // attr
	Value       string   `json:",omitempty"` // attr
	ImportPath  string   `json:",omitempty"` // build-output, build-fail
}

// MaxLineLen is the longest line the Reader decodes. A longer line is skipped
// (without being held in memory) and reported as a [LineError]. test2json
// itself splits output at about 1 KiB, so only hand-made streams come close.
const MaxLineLen = 256 << 20

// LineError reports a line that is not an event. Reading goes on after it.
type LineError struct {
	Line int    // 1-based
	Text string // the start of the line, at most 200 bytes
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: not a test2json event (%v): %q", e.Line, e.Err, e.Text)
}

// Reader reads events from a stream. It is modelled on bufio.Scanner:
//
//	for r.Scan() {
//		if ev := r.Event(); ev != nil { ... } else { r.LineError() ... }
//	}
//	if err := r.Err(); err != nil { ... }
//
// The Event returned is reused by the next Scan; copy what you keep.
type Reader struct {
	br      *bufio.Reader
	line    int
	buf     []byte
	raw     []byte
	ev      Event
	lineErr *LineError
	err     error
	bytes   int64
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Scan advances to the next line. It returns false at the end of the stream
// or on a read error.
func (r *Reader) Scan() bool {
	if !r.ScanLine() {
		return false
	}
	if r.lineErr == nil {
		r.lineErr = Decode(r.line, r.raw, &r.ev)
	}
	return true
}

// ScanLine advances to the next line, as Scan does, without decoding it:
// Raw and Line give it, and LineError is set only for a line too long to
// hold. [Decode] decodes it, on any goroutine, so that a reader of a large
// stream can decode lines in parallel and hand them on in order.
func (r *Reader) ScanLine() bool {
	r.lineErr = nil
	for {
		line, tooLong, err := r.readLine()
		if err != nil && len(line) == 0 && !tooLong {
			if err != io.EOF {
				r.err = err
			}
			return false
		}
		r.line++
		if tooLong {
			r.ev = Event{}
			r.lineErr = &LineError{Line: r.line, Text: clip(line), Err: fmt.Errorf("line longer than %d bytes", MaxLineLen)}
			return true
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			if err == io.EOF {
				return false
			}
			continue
		}
		r.raw = trimmed
		return true
	}
}

// Decode decodes raw, line number line of a stream, into ev, or says why
// it is not an event. ev is reset first; it keeps no reference to raw.
func Decode(line int, raw []byte, ev *Event) *LineError {
	*ev = Event{}
	if len(raw) == 0 || raw[0] != '{' {
		return &LineError{Line: line, Text: clip(raw), Err: fmt.Errorf("not JSON")}
	}
	if err := json.Unmarshal(raw, ev); err != nil {
		return &LineError{Line: line, Text: clip(raw), Err: err}
	}
	if ev.Action == "" {
		return &LineError{Line: line, Text: clip(raw), Err: fmt.Errorf("no Action")}
	}
	return nil
}

// readLine returns the next line without its newline. A line longer than
// MaxLineLen is drained and reported with tooLong, keeping only its start.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.bytes += int64(len(chunk))
		if len(r.buf)+len(chunk) > MaxLineLen {
			tooLong = true
			if len(r.buf) < 200 {
				r.buf = append(r.buf, chunk[:min(len(chunk), 200)]...)
			}
		} else {
			r.buf = append(r.buf, chunk...)
		}
		switch err {
		case nil:
			return bytes.TrimSuffix(r.buf, []byte("\n")), tooLong, nil
		case bufio.ErrBufferFull:
			continue
		default:
			return r.buf, tooLong, err
		}
	}
}

// Event returns the event read by the last Scan, or nil if the line was not
// an event.
func (r *Reader) Event() *Event {
	if r.lineErr != nil {
		return nil
	}
	return &r.ev
}

// Raw returns the bytes of the last line read, without surrounding space.
// They are valid until the next Scan.
func (r *Reader) Raw() []byte { return r.raw }

// Line is the number of the last line read, from 1.
func (r *Reader) Line() int { return r.line }

// LineError returns why the last line was not an event, or nil.
func (r *Reader) LineError() *LineError { return r.lineErr }

// Err returns the first read error other than io.EOF.
func (r *Reader) Err() error { return r.err }

// Buffered reports whether the next line may be read, in part, without
// waiting for the stream: false when the next Scan may block.
func (r *Reader) Buffered() bool { return r.br.Buffered() > 0 }

// BytesRead is how much of the stream has been consumed.
func (r *Reader) BytesRead() int64 { return r.bytes }

func clip(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
