package journal_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/scoring"
)

var at = time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC)

// sample is a failed test with a metric of each kind JSON numbers cannot
// hold, as a writer receives it.
func sample() *result.Test {
	t := &result.Test{Package: "m/a", Name: "TestWER/short", Attempt: 2, Status: result.Failed,
		Started: at, Finished: at.Add(5 * time.Millisecond), Duration: 5 * time.Millisecond, Timed: true,
		Tags: []string{"t1"}, Participants: []string{"p1"}, Attrs: map[string]string{"k": "v"}, Output: "boom\n", Cached: true}
	t.SetMetric(result.Metric{Key: "wer", Result: scoring.Result{Name: "wer", Value: 0.2, Direction: scoring.LowerIsBetter, Score: 80, Weight: 1}})
	t.SetMetric(result.Metric{Key: "lat", Result: scoring.Result{Name: "lat", Value: math.NaN(), Unit: "ms", Direction: scoring.LowerIsBetter, Weight: 1}})
	t.SetMetric(result.Metric{Key: "big", Result: scoring.Result{Name: "big", Value: math.Inf(1), Direction: scoring.HigherIsBetter, Score: 100, Weight: 2}})
	t.Complete()
	return t
}

func read(t *testing.T, path string) (journal.Header, []journal.Record, *journal.Reader) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := journal.NewReader(bufio.NewReader(f))
	h, err := r.Header()
	require.NoError(t, err)
	var recs []journal.Record
	for {
		rec, err := r.Record()
		if err == io.EOF {
			return h, recs, r
		}
		require.NoError(t, err)
		recs = append(recs, rec)
	}
}

// TestWhatIsWrittenIsReadBack: every kind of record, NaN and ±Inf
// metrics included, reads back as it was given; sealing renames the file
// to the spool's name and releases it.
func TestWhatIsWrittenIsReadBack(t *testing.T) {
	dir := t.TempDir()
	run := model.EvaluationRun{ID: model.NewIDAt(at), EvaluationRunID: "r1", StartedAt: at, Source: "wrapper"}
	w, err := journal.Create(dir, journal.Header{Target: journal.Target{Store: "embedded:x", Database: "d"}, Run: run}, journal.Options{})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(w.Path(), journal.PartExt))
	code := 1
	in := sample()
	require.True(t, w.Write(journal.Record{Begin: &journal.Begin{Part: "p", Package: "m/a", Host: "h", PID: 42, StartedAt: at}}))
	require.True(t, w.Write(journal.Record{Test: journal.NewTest("p", in, true)}))
	require.True(t, w.Write(journal.Record{End: &journal.End{Part: "p", PartEnd: journal.PartEnd{Status: model.StatusFailed, ExitCode: &code, At: at}}}))
	path, err := w.Seal(true)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSuffix(w.Path(), journal.PartExt)+journal.Ext, path)

	h, recs, _ := read(t, path)
	assert.Equal(t, journal.Version, h.Version)
	assert.Equal(t, run.ID, h.Run.ID)
	assert.Equal(t, "database d at x", h.Target.String())
	require.Len(t, recs, 3)
	assert.Equal(t, "p", recs[0].Begin.Part)
	got := recs[1].Test
	require.NotNil(t, got)
	assert.True(t, got.Provisional)
	assertSameTest(t, in, &got.Test)
	assert.Equal(t, 1, *recs[2].End.ExitCode)
}

// TestTheFirstFormatsRecordsRead: records as evalrec wrote them before
// the journal was a package of its own (testdata/v1-records.jsonl,
// written by that code) read as the same test, part and end.
func TestTheFirstFormatsRecordsRead(t *testing.T) {
	b, err := os.ReadFile("testdata/v1-records.jsonl")
	require.NoError(t, err)
	head := `{"v":1,"target":{"store":"embedded:x","database":"d"},"run":{"_id":"` + model.NewIDAt(at).Hex() + `"}}` + "\n"
	r := journal.NewReader(bufio.NewReader(bytes.NewReader(append([]byte(head), b...))))
	_, err = r.Header()
	require.NoError(t, err)
	var recs []journal.Record
	for {
		rec, err := r.Record()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		recs = append(recs, rec)
	}
	require.Len(t, recs, 3)
	assertSameTest(t, sample(), &recs[0].Test.Test)
	assert.True(t, recs[0].Test.Provisional)
	assert.Equal(t, journal.Begin{Part: "p", Package: "m/a", Host: "h", PID: 42, StartedAt: at}, *recs[1].Begin)
	assert.Equal(t, model.StatusFailed, recs[2].End.Status)
	assert.Equal(t, "x", recs[2].End.Error)
}

func assertSameTest(t *testing.T, want, got *result.Test) {
	t.Helper()
	require.Len(t, got.Metrics, len(want.Metrics))
	for i, m := range want.Metrics {
		g := got.Metrics[i]
		assert.Equal(t, m.Key, g.Key)
		assert.Equal(t, result.NonFinite(m.Value), result.NonFinite(g.Value), m.Key)
		if result.NonFinite(m.Value) == "" {
			assert.Equal(t, m.Value, g.Value)
		}
		assert.Equal(t, m.Score, g.Score, m.Key)
		assert.Equal(t, m.Unit, g.Unit, m.Key)
		assert.Equal(t, m.Direction, g.Direction, m.Key)
		assert.Equal(t, m.Weight, g.Weight, m.Key)
	}
	w, g := *want, *got
	w.Metrics, g.Metrics = nil, nil
	assert.Equal(t, w, g)
}

// TestABadLineIsSaidAndTheRestRead: a line that does not decode is a
// LineError with its number and text, the next is read, and a last line
// cut short ends the journal without an error.
func TestABadLineIsSaidAndTheRestRead(t *testing.T) {
	text := `{"v":1,"target":{},"run":{}}` + "\n" +
		`{"begin":{"_id":"a"}}` + "\n" +
		`{"test":{"part":"a","metrics":["evalrec.metric.x {not json"]}}` + "\n" +
		"\n" +
		`{"end":{"part":"a","status":"completed"}}` + "\n" +
		`{"test":{"part":"a","na`
	r := journal.NewReader(bufio.NewReader(strings.NewReader(text)))
	_, err := r.Header()
	require.NoError(t, err)
	rec, err := r.Record()
	require.NoError(t, err)
	assert.Equal(t, "a", rec.Begin.Part)
	_, err = r.Record()
	var le *journal.LineError
	require.True(t, errors.As(err, &le), "%v", err)
	assert.Equal(t, 3, le.Line)
	assert.Contains(t, string(le.Text), "not json")
	rec, err = r.Record()
	require.NoError(t, err)
	assert.Equal(t, model.StatusCompleted, rec.End.Status)
	_, err = r.Record()
	assert.Equal(t, io.EOF, err)
	assert.True(t, r.Cut())
}

// fullDisk takes nothing once full is set.
type fullDisk struct {
	*os.File
	full bool
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.full {
		return 0, &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
	}
	return d.File.Write(p)
}

// TestAFullDiskCountsWhatItLoses: records a write could not take wait and
// are written once there is room; those still waiting at the seal are
// counted as lost, tests only.
func TestAFullDiskCountsWhatItLoses(t *testing.T) {
	var disk *fullDisk
	open := func(path string) (journal.File, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		disk = &fullDisk{File: f}
		return disk, err
	}
	w, err := journal.Create(t.TempDir(), journal.Header{Run: model.EvaluationRun{ID: model.NewID()}}, journal.Options{Open: open})
	require.NoError(t, err)
	disk.full = true
	for range 3 {
		require.True(t, w.Write(journal.Record{Test: journal.NewTest("p", sample(), false)}), "held, waiting for room")
	}
	require.True(t, w.Write(journal.Record{Test: journal.NewTest("p", sample(), true)}))
	assert.ErrorIs(t, w.Failed(), syscall.ENOSPC)
	unwritten, dropped := w.Lost()
	assert.Equal(t, 3, unwritten, "provisional records are not results")
	assert.Zero(t, dropped)
	disk.full = false
	require.True(t, w.Write(journal.Record{End: &journal.End{Part: "p", PartEnd: journal.PartEnd{Status: model.StatusCompleted}}}))
	assert.NoError(t, w.Failed())
	unwritten, _ = w.Lost()
	assert.Zero(t, unwritten)
	path, err := w.Seal(false)
	require.NoError(t, err)
	_, recs, _ := read(t, path)
	assert.Len(t, recs, 5)
}

// TestRemoveLeavesNoDirectoryBehind: a journal whose results are stored
// leaves neither its file nor an emptied spool directory.
func TestRemoveLeavesNoDirectoryBehind(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".evalrec", "spool")
	w, err := journal.Create(dir, journal.Header{Run: model.EvaluationRun{ID: model.NewID()}}, journal.Options{Buffered: true})
	require.NoError(t, err)
	w.Remove()
	_, err = os.Stat(filepath.Join(root, ".evalrec"))
	assert.True(t, os.IsNotExist(err), "%v", err)
}

func TestCrashReportsNameTheirTest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.1.2"+journal.PartExt)
	report := "panic: boom\n\ngoroutine 7 [running]:\nm/a.TestBoom(0xc0)\n\ngoroutine 1 [chan receive]:\nm/a.TestOther()\n"
	require.NoError(t, os.WriteFile(journal.CrashFile(path), []byte(report), 0o600))
	c := journal.ReadCrash(path)
	assert.Equal(t, "panic: boom", c.Message)
	assert.True(t, c.Names("TestBoom/sub"))
	assert.False(t, c.Names("TestOther"), "only the panicking goroutine's trace is kept")
	assert.Zero(t, journal.ReadCrash(filepath.Join(t.TempDir(), "none"+journal.Ext)))
}

// TestAJournalIsHeldWhileItsWriterWrites: Held says a writer lives while
// it has its journal open, and not once it sealed it or never was.
func TestAJournalIsHeldWhileItsWriterWrites(t *testing.T) {
	dir := t.TempDir()
	run := model.EvaluationRun{ID: model.NewIDAt(at), EvaluationRunID: "r1", StartedAt: at}
	w, err := journal.Create(dir, journal.Header{Run: run}, journal.Options{})
	require.NoError(t, err)
	assert.True(t, journal.Held(w.Path()), "its writer holds it")
	assert.True(t, journal.Held(w.Path()), "asking again leaves it held")
	part := w.Path()
	sealed, err := w.Seal(false)
	require.NoError(t, err)
	assert.False(t, journal.Held(sealed), "a sealed journal is held by nobody")
	assert.False(t, journal.Held(part), "a journal that is gone is not held")
	assert.False(t, journal.Held(filepath.Join(dir, "never.part")))
}

// TestARecorderKeepsWhatATestBinaryRecords: what a test binary in TestMain
// mode gives its Recorder reads back from the sealed journal, the part's
// error redacted; without a spool, Close counts every result as lost, in
// one line.
func TestARecorderKeepsWhatATestBinaryRecords(t *testing.T) {
	dir := t.TempDir()
	run := model.EvaluationRun{ID: model.NewIDAt(at), EvaluationRunID: "r1", StartedAt: at, Source: "testmain"}
	rec := journal.NewRecorder(dir, journal.Header{Target: journal.Target{Store: "sqlite:/x.db", Database: "d"}, Run: run}, journal.Options{})
	require.NotEmpty(t, rec.Path())
	rec.Begin(journal.Begin{Part: "p", Package: "m/a", PID: 42, StartedAt: at})
	failed := sample()
	rec.Provisional("p", failed)
	rec.Add("p", failed)
	rec.Add("p", &result.Test{Package: "m/a", Name: "TestOK", Status: result.Passed, Started: at, Finished: at})
	rec.End("p", journal.PartEnd{Status: model.StatusFailed, Error: "dial mongodb://u:hunter2@db:1/ failed"})
	assert.True(t, rec.Healthy())
	path, lost, err := rec.Close()
	require.NoError(t, err)
	assert.Zero(t, lost)
	assert.True(t, strings.HasSuffix(path, journal.Ext), path)

	_, recs, _ := read(t, path)
	require.Len(t, recs, 5)
	assert.True(t, recs[1].Test.Provisional)
	assert.False(t, recs[2].Test.Provisional)
	assert.Equal(t, "TestOK", recs[3].Test.Name)
	assert.Equal(t, "m/a.TestOK", recs[3].Test.TestID, "Add completes the test")
	assert.NotContains(t, recs[4].End.Error, "hunter2")

	blocked := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.WriteFile(blocked, nil, 0o600)) // a file where the spool goes
	none := journal.NewRecorder(blocked, journal.Header{Run: run}, journal.Options{})
	assert.Empty(t, none.Path())
	for range 3 {
		none.Add("p", &result.Test{Package: "m/a", Name: "TestOK", Status: result.Passed})
	}
	assert.False(t, none.Healthy())
	_, lost, err = none.Close()
	assert.Equal(t, 3, lost)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 results of this run are lost: no journal could be written to ")
	assert.Contains(t, err.Error(), "not a directory")
}
