package journal

import (
	"errors"
	"fmt"
	"sync"

	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/redact"
	"evalrec.dev/result"
)

// A Recorder keeps one process's results in a journal and nowhere else,
// for `evalrec replay` to store: a test binary in TestMain mode, which
// links no store. Its methods are safe for concurrent use.
type Recorder struct {
	w   *Writer
	dir string
	err error // why there is no journal

	mu          sync.Mutex
	added, lost int
}

// NewRecorder starts a journal for h.Run in dir. Without one (dir cannot
// be written), the Recorder counts what it is given as lost, and Close
// says so.
func NewRecorder(dir string, h Header, opt Options) *Recorder {
	r := &Recorder{dir: dir}
	if dir == "" {
		r.err = errors.New("no spool directory")
		return r
	}
	r.w, r.err = Create(dir, h, opt)
	return r
}

// Path is the journal's file while it is written, or "" without one.
func (r *Recorder) Path() string {
	if r.w == nil {
		return ""
	}
	return r.w.Path()
}

// Begin records the start of a part.
func (r *Recorder) Begin(b Begin) { r.w.Write(Record{Begin: &b}) }

// Add records one finished test of a part. It completes t; the caller must
// not change t afterwards.
func (r *Recorder) Add(part string, t *result.Test) {
	t.Complete()
	r.w.Write(Record{Test: NewTest(part, t, false)})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.added++
	if r.w == nil {
		r.lost++ // a journal counts what it drops itself
	}
}

// Provisional records a finished test before all of it is known: a failed
// test whose output testing has not printed yet. Should the process die
// before the test is added, replay stores this record; once it is added,
// the added one counts.
func (r *Recorder) Provisional(part string, t *result.Test) {
	c := *t
	c.Complete()
	r.w.Write(Record{Test: NewTest(part, &c, true)})
}

// End records the end of a part. Its error quotes the package's output,
// and is redacted.
func (r *Recorder) End(part string, end PartEnd) {
	end.Error = redact.Text(end.Error)
	r.w.Write(Record{End: &End{Part: part, PartEnd: end}})
}

// Healthy reports whether everything recorded so far is in the journal
// or waits to be written there.
func (r *Recorder) Healthy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w != nil && r.lost == 0
}

// Close seals the journal for replay and returns its path. It returns an
// error, in one line, when results are lost (lost > 0), or when sealing
// failed with every result kept (lost == 0).
func (r *Recorder) Close() (path string, lost int, err error) {
	if r.w == nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.lost == 0 {
			return "", 0, nil
		}
		return "", r.lost, fmt.Errorf("%d results of this run are lost: no journal could be written to %s (%v)",
			r.lost, logline.RelPath(r.dir), r.err)
	}
	path, serr := r.w.Seal(false)
	unwritten, dropped := r.w.Lost()
	r.mu.Lock()
	r.lost += unwritten + dropped
	lost, total := r.lost, r.added
	r.mu.Unlock()
	switch {
	case lost > 0:
		return path, lost, fmt.Errorf("%d of %d results of this run are lost: %s; the other %d are in the journal, and the next evalrec command (or `evalrec replay`) stores them",
			lost, total, LossCause(path, serr, dropped), total-lost)
	case serr != nil:
		return path, 0, fmt.Errorf("closing %s failed (%v); its results are kept, and the next evalrec command (or `evalrec replay`) stores them", logline.RelPath(path), serr)
	}
	return path, 0, nil
}

// LossCause names what kept results out of the journal at path, given
// the error of sealing it and how many it never took: never "failed
// (<nil>)".
func LossCause(path string, sealErr error, dropped int) string {
	switch {
	case sealErr != nil:
		return fmt.Sprintf("writing %s failed (%v)", logline.RelPath(path), sealErr)
	case dropped > 0:
		return fmt.Sprintf("writing %s failed for a time, and more than %d MB of results waited", logline.RelPath(path), MaxPending>>20)
	}
	return fmt.Sprintf("they could not be written to %s", logline.RelPath(path))
}
