// Package journal is the durable record of one writer's share of a run: a
// file of JSON lines, the first a [Header] and every other a [Record],
// each appended with one write before the call that gave it returns, so
// that a writer that panics, calls os.Exit or is killed right after keeps
// everything it recorded: the kernel has it.
//
// While its writer lives the file is named RUN.PID.NANOS.jsonl.part and the
// writer holds a lock on it. When everything reached the store the writer
// removes it ([Writer.Remove]). When the store failed, the writer seals it
// as .jsonl ([Writer.Seal]): it is then the spool, which `evalrec replay`
// (and every evalrec command) stores later. A .part file whose lock is free
// was left by a writer that died; replaying it stores what the writer could
// not. [Reader] reads both. What a record means for a store is the store's
// business: this package only keeps records and gives them back.
package journal

import (
	"fmt"
	"math"
	"strings"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
)

// File names: a sealed journal (the spool) ends in Ext, one whose writer
// is still writing, or died, in PartExt.
const (
	Ext     = ".jsonl"
	PartExt = ".jsonl.part"
	// Version is the format's, in the header: its first bytes are
	// `{"v":`, which is how a journal is told from the first spool format
	// (see [IsJournal]).
	Version = 1
)

// Header is a journal's first line.
type Header struct {
	Version int                 `json:"v"`
	Target  Target              `json:"target"`
	Run     model.EvaluationRun `json:"run"`
}

// Target names the store a journal was meant for. It never holds a
// password.
type Target struct {
	Store    string `json:"store"` // a redacted URI, or "embedded:DIR"
	Database string `json:"database"`
}

func (t Target) String() string {
	return fmt.Sprintf("database %s at %s", t.Database, strings.TrimPrefix(t.Store, "embedded:"))
}

// Record is every line after the header: exactly one field is set.
type Record struct {
	Begin *Begin `json:"begin,omitempty"`
	Test  *Test  `json:"test,omitempty"`
	End   *End   `json:"end,omitempty"`
}

// Begin starts a part: one test binary (TestMain mode), or one package
// (the converter and the wrapper).
type Begin struct {
	Part      string    `json:"_id"`
	Package   string    `json:"package"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	// Dependencies of the test binary.
	Dependencies []provenance.Module `json:"dependencies,omitempty"`
}

// End ends a part.
type End struct {
	Part string `json:"part"`
	PartEnd
}

// PartEnd is how a part ended.
type PartEnd struct {
	Status   string `json:"status"` // model.StatusCompleted, or model.StatusFailed when it broke
	ExitCode *int   `json:"exit_code,omitempty"`
	Error    string `json:"error,omitempty"`
	// System is what the test binary announced about itself, if anything.
	System *provenance.System `json:"system,omitempty"`
	Cached bool               `json:"cached,omitempty"`
	// At is when the part ended, as its source tells it (the stream's own
	// time); zero means now.
	At time.Time `json:"at"`
}

// Test is a result as its writer received it, before it became a
// document: replay builds the document again for the run as stored then.
// Its metrics are in their attribute encoding (see result.Metric's
// MarshalText), which keeps NaN and ±Inf.
type Test struct {
	Part string `json:"part"`
	// Provisional marks a failed test recorded before its output was
	// known; a later record of the same execution replaces it.
	Provisional bool `json:"provisional,omitempty"`
	result.Test
}

// NewTest is the record of t, a result of part.
func NewTest(part string, t *result.Test, provisional bool) *Test {
	jt := &Test{Part: part, Provisional: provisional, Test: *t}
	if s := t.Score; s != nil && (math.IsNaN(*s) || math.IsInf(*s, 0)) {
		jt.Score = nil // JSON has no NaN; a test's score is never one once complete
	}
	return jt
}
