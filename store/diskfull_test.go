package store_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/redact"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

// fullDisk is a file on a disk with room for free more bytes: a write
// past it writes what fits, and fails with ENOSPC, as write(2) does.
type fullDisk struct {
	*os.File
	mu   sync.Mutex
	free int // < 0: no limit
}

func (d *fullDisk) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.free < 0 || len(p) <= d.free {
		if d.free >= 0 {
			d.free -= len(p)
		}
		return d.File.Write(p)
	}
	n, _ := d.File.Write(p[:d.free])
	d.free = 0
	return n, &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
}

func (d *fullDisk) setFree(n int) {
	d.mu.Lock()
	d.free = n
	d.mu.Unlock()
}

// results is how many results diskFullRun journals: more than one block of
// the buffered journal, so that writes fail while the run goes on.
const results = 1500

// diskFullRun journals results as a test binary does in TestMain mode
// (a journal.Recorder, buffered) on a disk that fills up after 100 KB;
// freed says whether space is freed before the journal is closed. logs is
// what closing it said.
func diskFullRun(t *testing.T, s *storetest.Store, freed bool) (spool string, logs string) {
	var disk *fullDisk
	open := func(path string) (journal.File, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, err
		}
		disk = &fullDisk{File: f, free: 100 << 10}
		return disk, nil
	}
	spool = t.TempDir()
	run := newRun("full-" + strconv.FormatBool(freed))
	rec := journal.NewRecorder(spool, journal.Header{Target: journal.Target{Store: redact.URI(s.URI), Database: s.Database}, Run: run},
		journal.Options{Buffered: true, Open: open})
	rec.Begin(journal.Begin{Part: "p", Package: "m/a", PID: os.Getpid(), StartedAt: time.Now().UTC().Truncate(time.Millisecond)})
	for i := range results {
		rec.Add("p", werTest("m/a", fmt.Sprintf("Test%04d", i), 0.2, result.Passed))
	}
	if freed {
		disk.setFree(-1)
	}
	rec.End("p", journal.PartEnd{Status: model.StatusCompleted})
	if _, _, err := rec.Close(); err != nil {
		logs = err.Error()
	}
	return spool, logs
}

// TestAFullDiskLosesOnlyWhatItCouldNotWrite: results wait for space; space
// freed before the end loses nothing, and a disk still full at the end
// loses exactly what is not in the journal, says why, and says that the
// next command stores the rest.
func TestAFullDiskLosesOnlyWhatItCouldNotWrite(t *testing.T) {
	t.Run("space freed before the end", func(t *testing.T) {
		s := storetest.New(t)
		spool, logs := diskFullRun(t, s, true)
		assert.NotContains(t, logs, "lost")
		rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{})
		require.NoError(t, err)
		assert.Equal(t, results, rep.Tests)
		r := storetest.Runs(t, s.DB)[0]
		assert.Equal(t, model.StatusCompleted, r.Status)
		assert.Equal(t, results, r.NumPassed)
	})
	t.Run("still full at the end", func(t *testing.T) {
		s := storetest.New(t)
		spool, logs := diskFullRun(t, s, false)
		m := regexp.MustCompile(`(\d+) of 1500 results of this run are lost: writing \S+ failed \([^)]*no space left on device\); the other (\d+) are in the journal, and the next evalrec command \(or ` + "`evalrec replay`" + `\) stores them`).FindStringSubmatch(logs)
		require.NotNil(t, m, "one line says what was lost, why, and what comes back:\n%s", logs)
		assert.NotContains(t, logs, "<nil>")
		lost, kept := atoi(t, m[1]), atoi(t, m[2])
		assert.Equal(t, results, lost+kept)
		assert.Positive(t, kept)
		assert.Positive(t, lost)
		rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{})
		require.NoError(t, err)
		assert.Equal(t, kept, rep.Tests, "what the message said is in the journal is what replay stores")
		r := storetest.Runs(t, s.DB)[0]
		assert.Equal(t, kept, r.NumTests)
		assert.NotContains(t, r.Error, "panic", "the run's error names what happened")
		assert.Contains(t, r.Error, "cut short (its disk filled up")
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
