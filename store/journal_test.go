package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testenv"
	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

// The helper process: a writer that records some results and then dies the
// way test binaries do, with no chance to close its session.
func TestMain(m *testing.M) {
	if mode := os.Getenv("EVALREC_STORE_HELPER"); mode != "" {
		helper(mode)
		return
	}
	testenv.Clean()
	os.Exit(m.Run())
}

func helper(mode string) {
	var run model.EvaluationRun
	if err := json.Unmarshal([]byte(os.Getenv("HELPER_RUN")), &run); err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Getenv("HELPER_TESTS"))
	sess := store.Open(context.Background(), store.SessionConfig{
		URI: os.Getenv("HELPER_URI"), Database: os.Getenv("HELPER_DB"),
		ConnectTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, FlushInterval: time.Hour,
		SpoolDir: os.Getenv("HELPER_SPOOL"), Run: run,
	})
	sess.BeginPart("helper", "m/helper", nil)
	for i := range n {
		sess.Add("helper", werTest("m/helper", fmt.Sprintf("Test%03d", i), 0.2, result.Passed))
	}
	failed := werTest("m/helper", "TestCrashes", 0.9, result.Failed)
	failed.Attempt = 1
	sess.Provisional("helper", failed) // its output would come later; the process dies first
	switch mode {
	case "exit":
		os.Exit(3)
	case "kill":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	}
}

// runHelper runs the helper, which records n passing results and one
// provisional failure into run, then dies.
func runHelper(t *testing.T, s *storetest.Store, run model.EvaluationRun, spool, mode string, n int) {
	t.Helper()
	b, err := json.Marshal(run)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EVALREC_STORE_HELPER="+mode, "HELPER_RUN="+string(b), "HELPER_TESTS="+strconv.Itoa(n),
		"HELPER_URI="+s.URI, "HELPER_DB="+s.Database, "HELPER_SPOOL="+spool)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the helper dies: %s", out)
}

func TestAWriterThatDiesLosesNothingItRecorded(t *testing.T) {
	for _, mode := range []string{"exit", "kill"} {
		t.Run(mode, func(t *testing.T) {
			s := storetest.New(t)
			spool := t.TempDir()
			run := newRun("dies-" + mode)
			// The writer never flushes (its interval is an hour, and it dies
			// within 50 ms of its last result): only its journal has them.
			runHelper(t, s, run, spool, mode, 40)
			files, err := store.PendingSpool(spool)
			require.NoError(t, err)
			require.Len(t, files, 1)
			assert.True(t, strings.HasSuffix(files[0], ".jsonl.part"), "a journal left by a writer that died")

			// Another writer of the same run finishes, and recovers the
			// dead one's results before it finalizes.
			log, logs := capture()
			sess := store.Open(context.Background(), cfgFor(s, run, spool, log))
			sess.BeginPart("alive", "m/alive", nil)
			sess.Add("alive", werTest("m/alive", "TestA", 0.1, result.Passed))
			sess.EndPart("alive", journal.PartEnd{Status: model.StatusCompleted})
			_, err = sess.Close()
			require.NoError(t, err)

			got := getRun(t, s.DB, run.ID)
			assert.Equal(t, 42, got.NumTests, "40 passed and the crashing test of the dead writer, and 1 of the live one")
			assert.Equal(t, int64(got.NumTests), countTests(t, s.DB, run.ID))
			assert.Equal(t, 1, got.NumFailed, "the provisional record of the crashing test is stored")
			assert.Equal(t, model.StatusFailed, got.Status)
			assert.Contains(t, got.Error, "test binary for m/helper died without finishing")
			assert.Contains(t, got.Error, "41 results recovered")
			assert.Contains(t, logs.String(), "recovered 41 results of 1 test binaries of this run that died")
			files, _ = store.PendingSpool(spool)
			assert.Empty(t, files, "the journal is gone once stored")
		})
	}
}

func TestTheNextReplayRecoversAJournalNobodyFinished(t *testing.T) {
	s := storetest.New(t)
	spool := t.TempDir()
	run := newRun("nobody")
	runHelper(t, s, run, spool, "kill", 10)
	rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Files)
	assert.Equal(t, 11, rep.Tests)
	assert.Equal(t, []string{"m/helper: 11 results"}, rep.Recovered)
	got := getRun(t, s.DB, run.ID)
	assert.Equal(t, model.StatusFailed, got.Status)
	assert.Equal(t, 11, got.NumTests)
	assert.Equal(t, int64(11), countTests(t, s.DB, run.ID))
}

func TestALiveWritersJournalIsLeftAlone(t *testing.T) {
	s := storetest.New(t)
	spool := t.TempDir()
	run := newRun("live")
	sess := store.Open(context.Background(), cfgFor(s, run, spool, nil))
	sess.BeginPart("p", "m/p", nil)
	sess.Add("p", werTest("m/p", "TestA", 0.1, result.Passed))
	rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{})
	require.NoError(t, err)
	assert.Len(t, rep.Skipped, 1)
	assert.Zero(t, rep.Files)
	sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
	_, err = sess.Close()
	require.NoError(t, err)
	files, _ := store.PendingSpool(spool)
	assert.Empty(t, files, "a session that stored everything removes its journal")
}

func TestABadLineIsSetAsideAndTheRestReplayed(t *testing.T) {
	spool := t.TempDir()
	unreachable := func(key string, n int) model.EvaluationRun {
		run := newRun(key)
		sess := store.Open(context.Background(), store.SessionConfig{
			URI: "mongodb://127.0.0.1:1/", Database: "x", ConnectTimeout: 200 * time.Millisecond,
			WriteTimeout: time.Second, FlushInterval: time.Hour, SpoolDir: spool, Run: run,
		})
		part := key + "/p" // part IDs are unique across runs
		sess.BeginPart(part, "m/"+key, nil)
		for i := range n {
			sess.Add(part, werTest("m/"+key, fmt.Sprintf("Test%d", i), 0.1, result.Passed))
		}
		sess.EndPart(part, journal.PartEnd{Status: model.StatusCompleted})
		_, err := sess.Close()
		require.Error(t, err)
		return run
	}
	runs := []model.EvaluationRun{unreachable("a", 3), unreachable("b", 4), unreachable("c", 5), unreachable("d", 6)}
	files, err := store.PendingSpool(spool)
	require.NoError(t, err)
	require.Len(t, files, 4)
	// Corrupt the third line of one file.
	corrupt := files[1]
	lines := readLines(t, corrupt)
	lines[2] = `{"test":{"part":"x/p","name":` // cut in the middle
	require.NoError(t, os.WriteFile(corrupt, []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	s := storetest.New(t)
	rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, 4, rep.Files, "one bad line holds up nothing")
	assert.Equal(t, 1, rep.BadLines)
	assert.Equal(t, 3+4+5+6-1, rep.Tests)
	aside := readLines(t, rep.SetAside)
	require.Len(t, aside, 1)
	assert.Contains(t, aside[0], fmt.Sprintf(`"file":%q`, filepath.Base(corrupt)))
	assert.Contains(t, aside[0], `"line":3`)
	total := 0
	for _, r := range runs {
		got := getRun(t, s.DB, r.ID)
		assert.Equal(t, int64(got.NumTests), countTests(t, s.DB, r.ID), "the run's totals are its stored tests")
		total += got.NumTests
	}
	assert.Equal(t, 17, total)
}

func TestAnUnwritableSpoolIsNeverClaimed(t *testing.T) {
	// A file where the spool directory should be: no journal can be made
	// there, for root too.
	spool := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.WriteFile(spool, nil, 0o600))
	log, logs := capture()
	sess := store.Open(context.Background(), store.SessionConfig{
		URI: "mongodb://127.0.0.1:1/", Database: "x", ConnectTimeout: 200 * time.Millisecond,
		WriteTimeout: time.Second, FlushInterval: time.Hour, SpoolDir: spool, Run: newRun("nowhere"), Logger: log,
	})
	sess.BeginPart("p", "m/p", nil)
	for i := range 3 {
		sess.Add("p", werTest("m/p", fmt.Sprintf("Test%d", i), 0.1, result.Passed))
	}
	sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
	_, err := sess.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 results could not be spooled either and are lost")
	assert.Empty(t, sess.SpoolPath())
	assert.NotContains(t, logs.String(), "run `evalrec replay`")
	assert.Contains(t, logs.String(), "3 results of this run are lost: storing failed")
	assert.Equal(t, 1, strings.Count(logs.String(), "level="), "one line: %s", logs.String())
}

func TestAJournalRecordsItsTargetWithoutThePassword(t *testing.T) {
	spool := t.TempDir()
	sess := store.Open(context.Background(), store.SessionConfig{
		URI: "mongodb://evalrec:hunter2@127.0.0.1:1/?authSource=admin", Database: "evals",
		ConnectTimeout: 200 * time.Millisecond, WriteTimeout: time.Second, FlushInterval: time.Hour,
		SpoolDir: spool, Run: newRun("target"),
	})
	sess.BeginPart("p", "m/p", nil)
	_, err := sess.Close()
	require.Error(t, err)
	path := sess.SpoolPath()
	require.NotEmpty(t, path)
	head := readLines(t, path)[0]
	assert.Contains(t, head, `"target":{"store":"mongodb://evalrec:xxxxx@127.0.0.1:1/?authSource=admin","database":"evals"}`)
	b, _ := os.ReadFile(path)
	assert.NotContains(t, string(b), "hunter2")
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	require.NoError(t, sc.Err())
	return out
}
