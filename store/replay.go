package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofrs/flock"

	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/result"
)

// ReplayOptions tune [DB.Replay].
type ReplayOptions struct {
	Timeout time.Duration // each write; default 5 s
	// Force stores files meant for another store or database here too.
	Force bool
	// only, when set, restricts the replay to the files of one run (its
	// ObjectID in hex, then a dot).
	only string
}

// ReplayReport says what a replay did.
type ReplayReport struct {
	Files     int      // files replayed and removed
	Tests     int      // results read from journals
	Recovered []string // one line per part whose writer died before it ended
	// Inserted and Duplicates count the documents of spool files written by
	// evalrec before the journal (one operation per line).
	Inserted, Duplicates int
	Rejected             []error  // documents the server refused
	BadLines             int      // lines that could not be read, set aside
	SetAside             string   // the file the bad lines went to
	Skipped              []string // files whose writer is still running
	Elsewhere            []string // files meant for another store: left alone
}

// setAsideFile collects the lines replay could not read, with their file and
// line number, so one bad line never holds up the rest.
const setAsideFile = "rejected-lines.jsonl"

// Replay stores what the journals and spool files in dir hold: files of
// sessions whose store failed, and journals of writers that died. Each file
// is removed once all of it is stored. It leaves alone files whose writer
// is still running, and files meant for another store or database (unless
// opt.Force). A line that cannot be read is set aside and the rest of its
// file is replayed.
func (d *DB) Replay(ctx context.Context, dir string, opt ReplayOptions) (ReplayReport, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	var rep ReplayReport
	files, err := spoolFiles(dir)
	if err != nil || len(files) == 0 {
		return rep, err
	}
	// One replay at a time, holding a lock on the directory: another (the
	// ingester of a go test run that just ended, or another command) may
	// be storing these files already, and what it leaves is for this one.
	lock := flock.New(dir, flock.SetFlag(os.O_RDONLY))
	lctx, cancel := context.WithTimeout(ctx, replayWait)
	ok, err := lock.TryLockContext(lctx, 20*time.Millisecond)
	cancel()
	if !ok {
		return rep, fmt.Errorf("another evalrec process kept storing the spool for %s (%v)", replayWait, err)
	}
	defer lock.Unlock()
	if files, err = spoolFiles(dir); err != nil {
		return rep, err
	}
	for _, path := range files {
		if opt.only != "" && !strings.HasPrefix(filepath.Base(path), opt.only) {
			continue
		}
		if err := d.replayFile(ctx, path, opt, &rep); err != nil {
			return rep, fmt.Errorf("replaying %s: %w", filepath.Base(path), err)
		}
	}
	return rep, nil
}

// replayWait bounds how long a replay waits for another to finish.
const replayWait = time.Minute

// replay is Replay for the files of one run, for a session about to
// finalize it.
func (d *DB) replay(ctx context.Context, dir string, timeout time.Duration, runPrefix string) (ReplayReport, error) {
	return d.Replay(ctx, dir, ReplayOptions{Timeout: timeout, only: runPrefix})
}

// PendingSpool lists the files waiting for replay: spool files, and
// journals (live ones too).
func PendingSpool(dir string) ([]string, error) { return spoolFiles(dir) }

func spoolFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && n != setAsideFile && (strings.HasSuffix(n, journal.Ext) || strings.HasSuffix(n, journal.PartExt)) {
			files = append(files, filepath.Join(dir, n))
		}
	}
	// Names end in the writer's start time; oldest first per run.
	slices.Sort(files)
	return files, nil
}

func (d *DB) replayFile(ctx context.Context, path string, opt ReplayOptions, rep *ReplayReport) error {
	lock := flock.New(path, flock.SetFlag(os.O_RDONLY))
	ok, err := lock.TryLock()
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return nil // replayed and removed by another process just now
	}
	if !ok {
		rep.Skipped = append(rep.Skipped, path) // its writer, or another replay, holds it
		return nil
	}
	defer lock.Unlock()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	first, err := r.Peek(16)
	if err != nil && len(first) == 0 {
		os.Remove(path) // empty: a writer that died before its header
		return nil
	}
	if journal.IsJournal(first) {
		done, err := d.replayJournal(ctx, path, r, opt, rep)
		if err != nil || !done {
			return err
		}
	} else {
		if strings.HasSuffix(path, journal.PartExt) && oldWriterAlive(path) {
			rep.Skipped = append(rep.Skipped, path)
			return nil
		}
		if err := d.replayOps(ctx, path, r, opt.Timeout, rep); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	rep.Files++
	return nil
}

// setAside appends a line that could not be replayed to dir's set-aside file.
func setAside(rep *ReplayReport, path string, le *journal.LineError) {
	rep.BadLines++
	dest := filepath.Join(filepath.Dir(path), setAsideFile)
	rep.SetAside = dest
	rec, _ := json.Marshal(map[string]any{
		"file": filepath.Base(path), "line": le.Line, "error": le.Err.Error(), "text": string(bytes.TrimSpace(le.Text)),
	})
	f, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(append(rec, '\n'))
}

// replayJournal replays a journal through a session, as its writer would
// have stored it. It reports false when the file was left alone.
func (d *DB) replayJournal(ctx context.Context, path string, r *bufio.Reader, opt ReplayOptions, rep *ReplayReport) (bool, error) {
	in := journal.NewReader(r)
	h, err := in.Header()
	if le := (*journal.LineError)(nil); errors.As(err, &le) {
		setAside(rep, path, le)
		return true, nil // nothing in it can be placed in a run
	}
	if !opt.Force && (h.Target.Database != d.name || h.Target.Store != d.Label()) {
		rep.Elsewhere = append(rep.Elsewhere, fmt.Sprintf("%s (for %s)", path, h.Target))
		return false, nil
	}
	sess := Open(ctx, SessionConfig{DB: d, Run: h.Run, WriteTimeout: opt.Timeout, FlushInterval: time.Hour, replay: true})
	type key struct {
		part, pkg, name string
		attempt         int
	}
	provisional := map[key]*result.Test{}
	var order []key
	ends := map[string]journal.PartEnd{}
	var parts []journal.Begin
	counts := map[string]int{}
	for {
		rec, err := in.Record()
		if err == io.EOF {
			break
		}
		if le := (*journal.LineError)(nil); errors.As(err, &le) {
			setAside(rep, path, le)
			continue
		}
		switch {
		case rec.Begin != nil:
			if _, seen := counts[rec.Begin.Part]; !seen {
				counts[rec.Begin.Part] = 0
				parts = append(parts, *rec.Begin)
				sess.beginPart(*rec.Begin)
			}
		case rec.Test != nil:
			t := &rec.Test.Test
			k := key{rec.Test.Part, t.Package, t.Name, t.Attempt}
			if rec.Test.Provisional {
				if _, ok := provisional[k]; !ok {
					order = append(order, k)
				}
				provisional[k] = t
				continue
			}
			delete(provisional, k)
			sess.Add(rec.Test.Part, t)
			counts[rec.Test.Part]++
			rep.Tests++
		case rec.End != nil:
			ends[rec.End.Part] = rec.End.PartEnd
		}
	}
	crash := journal.ReadCrash(path)
	for _, k := range order {
		if t, ok := provisional[k]; ok {
			// The test that never got its report died with the binary: the
			// runtime's crash report is its output's end.
			if crash.Text != "" && crash.Names(t.Name) {
				t.Output = strings.TrimRight(t.Output, "\n") + "\n" + crash.Text
			}
			sess.Add(k.part, t)
			counts[k.part]++
			rep.Tests++
		}
	}
	died := modTime(path)
	for _, p := range parts {
		end, ok := ends[p.Part]
		if !ok {
			end = journal.PartEnd{Status: model.StatusFailed, At: died, Error: diedReason(h.Run.Source, p.Package, counts[p.Part], in.Cut())}
			if crash.Message != "" {
				end.Error = fmt.Sprintf("test binary for %s crashed: %s; %d results recovered from its journal", p.Package, crash.Message, counts[p.Part])
			}
			rep.Recovered = append(rep.Recovered, fmt.Sprintf("%s: %d results", p.Package, counts[p.Part]))
		}
		sess.EndPart(p.Part, end)
	}
	_, err = sess.Close()
	if err == nil {
		os.Remove(journal.CrashFile(path))
	}
	return true, err
}

// diedReason says why a part that never ended failed. A journal whose
// last line was cut short lost its end to a failed write (a full disk) as
// likely as to a kill.
func diedReason(source, pkg string, n int, cut bool) string {
	if cut {
		return fmt.Sprintf("the journal of %s ends in a line cut short (its disk filled up, or its writer was killed mid-write); %d results recovered from it", pkg, n)
	}
	if source == "testmain" {
		return fmt.Sprintf("test binary for %s died without finishing (a panic, os.Exit, -timeout or a signal); %d results recovered from its journal", pkg, n)
	}
	return fmt.Sprintf("evalrec (%s) stopped before package %s ended (killed, or the machine went down); %d results recovered from its journal", source, pkg, n)
}

func modTime(path string) time.Time {
	if st, err := os.Stat(path); err == nil {
		return st.ModTime().UTC()
	}
	return time.Now().UTC()
}
