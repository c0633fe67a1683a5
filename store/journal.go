package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofrs/flock"

	"evalrec.dev/internal/dotdir"
	"evalrec.dev/result"
)

// The journal is the durable record of one session. Every call that adds to
// what the session stores (the run, each part's start and end, each test) is
// appended to it before the call returns, one line of JSON per call, with a
// single write: a test binary that panics, calls os.Exit or is killed right
// after keeps everything it recorded, because the kernel has it.
//
// While its writer lives the file is named RUN.PID.NANOS.jsonl.part and the
// writer holds a lock on it. When everything reached the store the writer
// removes it. When the store failed, the writer renames it to .jsonl: it is
// then the spool, which `evalrec replay` (and every evalrec command) stores
// later. A .part file whose lock is free was left by a writer that died;
// replaying it stores what the writer could not, and ends its parts as
// failed. Replay goes through a [Session] like the one that wrote the file,
// so run creation, joining and finalization are the same code.
const (
	journalExt     = ".jsonl"
	journalPartExt = ".jsonl.part"
	journalVersion = 1
)

// journalHeader is a journal's first line.
type journalHeader struct {
	Version int           `json:"v"`
	Target  Target        `json:"target"`
	Run     EvaluationRun `json:"run"`
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

// journalRecord is every line after the header: exactly one field is set.
type journalRecord struct {
	Begin *Part         `json:"begin,omitempty"`
	Test  *journalTest  `json:"test,omitempty"`
	End   *journalEnd   `json:"end,omitempty"`
	Cache *journalCache `json:"cached,omitempty"`
}

type journalEnd struct {
	Part string `json:"part"`
	PartEnd
}

type journalCache struct {
	Part string `json:"part"`
}

// journalTest is a result as the session received it, before it became a
// document: replay builds the document again for the run as stored then.
// Metrics are in their attribute encoding, which keeps NaN and ±Inf.
type journalTest struct {
	Part string `json:"part"`
	// Provisional marks a failed test recorded before its output was
	// known; a later record of the same execution replaces it.
	Provisional  bool              `json:"provisional,omitempty"`
	Package      string            `json:"package"`
	Name         string            `json:"name"`
	Attempt      int               `json:"attempt"`
	TestID       string            `json:"test_id"`
	TestName     string            `json:"test_name"`
	Status       result.Status     `json:"status"`
	Started      time.Time         `json:"started"`
	Finished     time.Time         `json:"finished"`
	Duration     time.Duration     `json:"duration_ns"`
	Timed        bool              `json:"timed,omitempty"`
	Metrics      []string          `json:"metrics,omitempty"`
	Score        *float64          `json:"score"`
	ScoreMethod  string            `json:"score_method,omitempty"`
	Tags         []string          `json:"tags,omitempty"`
	Participants []string          `json:"participants,omitempty"`
	Attrs        map[string]string `json:"attrs,omitempty"`
	Output       string            `json:"output,omitempty"`
	Cached       bool              `json:"cached,omitempty"`
}

func newJournalTest(part string, t *result.Test, provisional bool) *journalTest {
	jt := &journalTest{
		Part: part, Provisional: provisional,
		Package: t.Package, Name: t.Name, Attempt: t.Attempt, TestID: t.TestID, TestName: t.TestName,
		Status: t.Status, Started: t.Started, Finished: t.Finished, Duration: t.Duration, Timed: t.Timed,
		Score: finiteOrNil(t.Score), ScoreMethod: t.ScoreMethod, Tags: t.Tags, Participants: t.Participants,
		Attrs: t.Attrs, Output: t.Output, Cached: t.Cached,
	}
	for _, m := range t.Metrics {
		a := result.MetricAttr(m)
		jt.Metrics = append(jt.Metrics, a.Key+" "+a.Value)
	}
	return jt
}

func (jt *journalTest) result() (*result.Test, error) {
	t := &result.Test{
		Package: jt.Package, Name: jt.Name, Attempt: jt.Attempt, TestID: jt.TestID, TestName: jt.TestName,
		Status: jt.Status, Started: jt.Started, Finished: jt.Finished, Duration: jt.Duration, Timed: jt.Timed,
		Score: jt.Score, ScoreMethod: jt.ScoreMethod, Tags: jt.Tags, Participants: jt.Participants,
		Attrs: jt.Attrs, Output: jt.Output, Cached: jt.Cached,
	}
	for _, m := range jt.Metrics {
		k, v, _ := strings.Cut(m, " ")
		if err := t.ApplyAttr(k, v); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// journal is an open journal file. Its methods are safe for concurrent use.
//
// Records wait in pending until they are in the file: a buffered journal
// writes them in blocks, an unbuffered one at once. A write that fails (a
// full disk, say) keeps them, in order, and every later write and the seal
// try again, so that space freed before the end loses nothing; what is
// still unwritten at the seal is counted, and only that is lost.
type journal struct {
	mu       sync.Mutex
	f        journalFile
	buffered bool
	lock     *flock.Flock
	path     string
	pending  []byte    // records not yet (wholly) in the file, in order
	ends     []pending // where each record of pending ends
	dropped  int       // test results never held: pending was full
	err      error     // the last write's error, nil once one succeeds
}

// pending is a record waiting in journal.pending.
type pending struct {
	end  int  // offset just past it in journal.pending
	test bool // a test's final result, which counts when lost
}

// journalFile is what a journal writes to: an *os.File (tests put a disk
// that fills up in its place).
type journalFile interface {
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

// openJournalFile opens a journal's file for appending.
var openJournalFile = func(path string) (journalFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
}

// Buffering: a buffered journal writes when this much waits; any journal
// holds at most maxPending bytes that could not be written.
const (
	blockSize  = 256 << 10
	maxPending = 64 << 20
)

// createJournal starts a journal for the run in dir, with its header. A
// buffered journal writes in blocks, and only sealing it makes it whole.
func createJournal(dir string, target Target, run EvaluationRun, buffered bool) (*journal, error) {
	name := fmt.Sprintf("%s.%d.%d%s", run.ID.Hex(), os.Getpid(), time.Now().UnixNano(), journalPartExt)
	path := filepath.Join(dir, name)
	// Lock as the file is created, so that a replay never takes a journal
	// whose writer is just starting for one whose writer died. Another
	// writer may remove the empty directory in between: then try again.
	lock := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_EXCL|os.O_RDWR), flock.SetPermissions(0o600))
	var ok bool
	var err error
	for range 3 {
		if err = dotdir.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if ok, err = lock.TryLock(); !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if !ok || err != nil {
		return nil, errors.Join(errors.New("cannot create and lock a journal"), err)
	}
	f, err := openJournalFile(path)
	if err != nil {
		lock.Unlock()
		os.Remove(path)
		return nil, err
	}
	j := &journal{f: f, lock: lock, path: path, buffered: buffered}
	j.write(journalHeader{Version: journalVersion, Target: target, Run: run})
	if j.err != nil {
		err := j.err
		j.remove()
		return nil, err
	}
	return j, nil
}

// write appends one record and reports whether the journal holds it: in
// the file, or waiting to be written (see [journal]). It is false only for
// a record that could not be encoded, or when maxPending bytes already
// wait.
func (j *journal) write(rec any) bool {
	if j == nil {
		return false
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return false
	}
	r, _ := rec.(journalRecord)
	test := r.Test != nil && !r.Test.Provisional
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending)+len(b) >= maxPending {
		j.flushLocked()
		if len(j.pending)+len(b) >= maxPending {
			if test {
				j.dropped++
			}
			return false
		}
	}
	j.pending = append(append(j.pending, b...), '\n')
	j.ends = append(j.ends, pending{end: len(j.pending), test: test})
	if !j.buffered || len(j.pending) >= blockSize || j.err != nil {
		j.flushLocked()
	}
	return true
}

// flushLocked writes what is pending; what a failed write left stays
// pending, in order.
func (j *journal) flushLocked() {
	if len(j.pending) == 0 {
		return
	}
	n, err := j.f.Write(j.pending)
	j.err = err
	if n <= 0 {
		return
	}
	j.pending = j.pending[n:]
	kept := j.ends[:0]
	for _, p := range j.ends {
		if p.end > n {
			kept = append(kept, pending{end: p.end - n, test: p.test})
		}
	}
	j.ends = kept
	if len(j.pending) == 0 {
		j.pending = j.pending[:0:0] // let a large block go
	}
}

// failed returns the error of the last write, or nil when it succeeded.
func (j *journal) failed() error {
	if j == nil {
		return errors.New("no journal")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// lost counts the test results the journal does not hold: those still
// unwritten when it was sealed, and those it never took (see write).
func (j *journal) lost() (unwritten, dropped int) {
	if j == nil {
		return 0, 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, p := range j.ends {
		if p.test {
			unwritten++
		}
	}
	return unwritten, j.dropped
}

// remove deletes the journal: everything in it is stored. It removes the
// spool directory too, and an .evalrec directory above it, when they are
// left empty, so that a suite storing into MongoDB leaves nothing behind.
func (j *journal) remove() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.f.Close()
	os.Remove(j.path)
	j.lock.Unlock()
	dir := filepath.Dir(j.path)
	if os.Remove(dir) == nil && filepath.Base(filepath.Dir(dir)) == ".evalrec" {
		os.Remove(filepath.Dir(dir))
	}
}

// seal closes the journal as a spool file for replay, and returns its path.
// sync makes the file durable first: a spool written because the store
// failed must survive a power cut; a deferred session's, like the embedded
// store's last writes, survives the process.
func (j *journal) seal(sync bool) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.flushLocked()
	err := j.err
	if sync {
		err = errors.Join(err, j.f.Sync())
	}
	err = errors.Join(err, j.f.Close())
	final := strings.TrimSuffix(j.path, journalPartExt) + journalExt
	if rerr := os.Rename(j.path, final); rerr != nil {
		err = errors.Join(err, rerr)
		final = j.path
	}
	j.lock.Unlock()
	return final, err
}
