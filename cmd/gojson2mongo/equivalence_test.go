package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
	"evalrec.dev/model"
)

// TestThreeWaysStoreEquivalentTestRuns stores the example suite (a) with
// TestMain recording, (b) through go test -json | gojson2mongo and (c) with
// evalrec test, and checks that every test that calls Record has the same
// identity, status, metrics and score in all three.
func TestThreeWaysStoreEquivalentTestRuns(t *testing.T) {
	s := storetest.New(t)
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	storeEnv := s.Env()[1:] // not MONGODB_ENABLED

	goCmd := func(env []string, args ...string) []byte {
		cmd := exec.Command("go", args...)
		cmd.Dir = repo
		cmd.Env = testmod.Env(append([]string{testmod.BinEnv(t)}, env...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		require.NoError(t, cmd.Run(), "go %v\n%s%s", args, out.String(), errOut.String())
		return out.Bytes()
	}

	// (a) TestMain recording.
	// The example is a module of its own: go -C examples.
	goCmd(append(storeEnv, "MONGODB_ENABLED=true"), "-C", "examples", "test", "-count=1", "./scenario_test/")
	s.AwaitIngest(t)
	// (b) The converter, in-process, on a stream recorded with storage off.
	stream := goCmd(nil, "-C", "examples", "test", "-json", "-count=1", "./scenario_test/")
	for _, kv := range storeEnv {
		k, v, _ := bytes.Cut([]byte(kv), []byte("="))
		t.Setenv(string(k), string(v))
	}
	var stderr bytes.Buffer
	t.Chdir(filepath.Join(repo, "examples")) // the converter reads the module it runs in, as a user's would
	require.Equal(t, exitOK, run([]string{"-q"}, bytes.NewReader(stream), &bytes.Buffer{}, &stderr), stderr.String())
	// (c) The wrapper.
	goCmd(storeEnv, "run", "./cmd/evalrec", "-C", "examples", "test", "-q", "-count=1", "./scenario_test/")

	ctx := context.Background()
	bySource := map[string][]model.TestRun{}
	hashes := map[string]string{}
	runs := storetest.Runs(t, s.DB)
	require.Len(t, runs, 3)
	for _, r := range runs {
		assert.Equal(t, model.StatusCompleted, r.Status, r.Source)
		trs, err := s.DB.TestRunsOf(ctx, r.ID)
		require.NoError(t, err)
		bySource[r.Source] = trs
		hashes[r.Source] = r.SystemInfoHash
	}
	require.Len(t, bySource["testmain"], 4, "TestMain mode stores the four scenarios")
	assert.Len(t, bySource["converter"], 6, "the stream also has TestScenarios and TestEditDistance")
	assert.Len(t, bySource["wrapper"], 6)
	assert.Equal(t, hashes["testmain"], hashes["converter"], "the announced system matches the in-process snapshot")
	assert.Equal(t, hashes["testmain"], hashes["wrapper"])

	type key struct{ id, status, method, name string }
	view := func(tr model.TestRun) (key, float64, map[string]model.MetricDoc, []string, []string) {
		return key{tr.TestID, tr.Status, tr.ScoreMethod, tr.TestName}, *tr.Score, tr.Metrics, tr.Tags, tr.Participants
	}
	index := func(trs []model.TestRun) map[string]model.TestRun {
		m := map[string]model.TestRun{}
		for _, tr := range trs {
			m[tr.TestID] = tr
		}
		return m
	}
	conv, wrap := index(bySource["converter"]), index(bySource["wrapper"])
	for _, a := range bySource["testmain"] {
		for name, other := range map[string]map[string]model.TestRun{"converter": conv, "wrapper": wrap} {
			b, ok := other[a.TestID]
			require.True(t, ok, "%s lacks %s", name, a.TestID)
			ka, sa, ma, ta, pa := view(a)
			kb, sb, mb, tb, pb := view(b)
			assert.Equal(t, ka, kb, name)
			assert.Equal(t, sa, sb, "%s score of %s", name, a.TestID)
			assert.Equal(t, ma, mb, "%s metrics of %s", name, a.TestID)
			assert.Equal(t, ta, tb, name)
			assert.Equal(t, pa, pb, name)
			assert.Equal(t, a.GoTest, b.GoTest, name)
			assert.Equal(t, a.Attempt, b.Attempt, name)
		}
	}
}
