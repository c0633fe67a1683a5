package journal

import (
	"bytes"
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
)

// Writer is an open journal. Its methods are safe for concurrent use, and
// a nil Writer (no journal) holds nothing.
//
// Records wait in pending until they are in the file: a buffered journal
// writes them in blocks, an unbuffered one at once. A write that fails (a
// full disk, say) keeps them, in order, and every later write and the seal
// try again, so that space freed before the end loses nothing; what is
// still unwritten at the seal is counted, and only that is lost.
type Writer struct {
	mu       sync.Mutex
	f        File
	buffered bool
	lock     *flock.Flock
	path     string
	pending  []byte    // records not yet (wholly) in the file, in order
	ends     []pending // where each record of pending ends
	dropped  int       // test results never held: pending was full
	err      error     // the last write's error, nil once one succeeds
}

// pending is a record waiting in Writer.pending.
type pending struct {
	end  int  // offset just past it in Writer.pending
	test bool // a test's final result, which counts when lost
}

// File is what a journal writes to: an *os.File, unless [Options.Open]
// puts something else (a disk that fills up) in its place.
type File interface {
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

// Options tune [Create].
type Options struct {
	// Buffered writes in blocks, for a source that can simply be read
	// again (a saved file): only sealing the journal makes it whole.
	Buffered bool
	// Open opens the journal's file for appending; nil opens it on disk.
	Open func(path string) (File, error)
}

// Buffering: a buffered journal writes when this much waits; any journal
// holds at most MaxPending bytes that could not be written.
const (
	blockSize  = 256 << 10
	MaxPending = 64 << 20
)

// Create starts a journal for h.Run in dir, with h as its first line, and
// holds its lock until [Writer.Remove] or [Writer.Seal].
func Create(dir string, h Header, opt Options) (*Writer, error) {
	name := fmt.Sprintf("%s.%d.%d%s", h.Run.ID.Hex(), os.Getpid(), time.Now().UnixNano(), PartExt)
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
	open := opt.Open
	if open == nil {
		open = func(path string) (File, error) { return os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0) }
	}
	f, err := open(path)
	if err != nil {
		lock.Unlock()
		os.Remove(path)
		return nil, err
	}
	w := &Writer{f: f, lock: lock, path: path, buffered: opt.Buffered}
	h.Version = Version
	w.write(h, false)
	if w.err != nil {
		err := w.err
		w.Remove()
		return nil, err
	}
	return w, nil
}

// An encoder writes records into a buffer of its own, which a record's
// encoding reuses: json.Marshal allocated a copy of each.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

// Flush writes what a buffered journal holds. A live source that buffers
// its journal calls it whenever it has handed on what it had read, so that
// a crash loses no more than with an unbuffered journal, and a stream that
// arrives faster than it is read costs a system call a block, not a result.
func (w *Writer) Flush() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

// Path is the journal's file while it is written.
func (w *Writer) Path() string { return w.path }

// Write appends one record and reports whether the journal holds it: in
// the file, or waiting to be written (see [Writer]). It is false only for
// a record that could not be encoded, or when MaxPending bytes already
// wait.
func (w *Writer) Write(rec Record) bool {
	return w.write(rec, rec.Test != nil && !rec.Test.Provisional)
}

func (w *Writer) write(rec any, test bool) bool {
	if w == nil {
		return false
	}
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(rec); err != nil {
		return false
	}
	b := e.buf.Bytes() // with its newline
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending)+len(b) >= MaxPending {
		w.flushLocked()
		if len(w.pending)+len(b) >= MaxPending {
			if test {
				w.dropped++
			}
			return false
		}
	}
	w.pending = append(w.pending, b...)
	w.ends = append(w.ends, pending{end: len(w.pending), test: test})
	if !w.buffered || len(w.pending) >= blockSize || w.err != nil {
		w.flushLocked()
	}
	return true
}

// flushLocked writes what is pending; what a failed write left stays
// pending, in order.
func (w *Writer) flushLocked() {
	if len(w.pending) == 0 {
		return
	}
	n, err := w.f.Write(w.pending)
	w.err = err
	switch {
	case n <= 0:
		return
	case n == len(w.pending):
		// Reuse the block for the next records (a buffered journal fills
		// one a batch); let one that grew while writes failed go.
		w.pending, w.ends = w.pending[:0], w.ends[:0]
		if cap(w.pending) > 2*blockSize {
			w.pending = nil
		}
		return
	}
	w.pending = w.pending[n:]
	kept := w.ends[:0]
	for _, p := range w.ends {
		if p.end > n {
			kept = append(kept, pending{end: p.end - n, test: p.test})
		}
	}
	w.ends = kept
}

// Failed returns the error of the last write, or nil when it succeeded.
func (w *Writer) Failed() error {
	if w == nil {
		return errors.New("no journal")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Lost counts the test results the journal does not hold: those still
// unwritten when it was sealed, and those it never took (see Write).
func (w *Writer) Lost() (unwritten, dropped int) {
	if w == nil {
		return 0, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.ends {
		if p.test {
			unwritten++
		}
	}
	return unwritten, w.dropped
}

// Remove deletes the journal: everything in it is stored. It removes the
// spool directory too, and an .evalrec directory above it, when they are
// left empty, so that a suite storing into MongoDB leaves nothing behind.
func (w *Writer) Remove() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Close()
	os.Remove(w.path)
	w.lock.Unlock()
	dir := filepath.Dir(w.path)
	if os.Remove(dir) == nil && filepath.Base(filepath.Dir(dir)) == dotdir.Name {
		removeIfOnlyIgnore(filepath.Dir(dir))
	}
}

// removeIfOnlyIgnore removes an .evalrec directory that holds only the
// .gitignore evalrec wrote into it (see dotdir).
func removeIfOnlyIgnore(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) > 1 || len(entries) == 1 && entries[0].Name() != ".gitignore" {
		return
	}
	os.Remove(filepath.Join(dir, ".gitignore"))
	os.Remove(dir)
}

// Seal closes the journal as a spool file for replay, and returns its path.
// sync makes the file durable first: a spool written because the store
// failed must survive a power cut; a test binary's (a [Recorder]), like
// the embedded store's last writes, survives the process.
func (w *Writer) Seal(sync bool) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	err := w.err
	if sync {
		err = errors.Join(err, w.f.Sync())
	}
	err = errors.Join(err, w.f.Close())
	final := strings.TrimSuffix(w.path, PartExt) + Ext
	if rerr := os.Rename(w.path, final); rerr != nil {
		err = errors.Join(err, rerr)
		final = w.path
	}
	w.lock.Unlock()
	return final, err
}

// Held reports whether the journal at path is locked: its writer is alive
// (or a replay is reading it). A journal that is gone is not held; one
// that cannot be tried is taken for held, so that a live writer is never
// taken for dead.
func Held(path string) bool {
	lock := flock.New(path, flock.SetFlag(os.O_RDONLY))
	ok, err := lock.TryLock()
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false
	case err != nil:
		return true
	case ok:
		lock.Unlock()
		return false
	}
	return true
}
