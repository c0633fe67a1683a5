package analytics

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/model"
	"evalrec.dev/samples"
)

// history builds runs and test runs from status strings, one character per
// run, oldest first: P passed, F failed, S skipped.
type history struct {
	runs  []model.EvaluationRun
	tests []model.TestRun
}

func (h *history) run(env, hash, commit string, statuses map[string]byte, numTests, numFailed int) {
	i := len(h.runs)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	r := model.EvaluationRun{ID: model.NewID(), StartedAt: at, Environment: env, SystemInfoHash: hash,
		GitCommit: &commit, NumTests: numTests, NumFailed: numFailed}
	h.runs = append(h.runs, r)
	for id, st := range statuses {
		s := map[byte]string{'P': "passed", 'F': "failed", 'S': "skipped"}[st]
		h.tests = append(h.tests, model.TestRun{EvaluationRunID: r.ID, TestID: id, TestName: id, Status: s, FinishedAt: at})
	}
}

func seq(h *history, id, statuses string, commits func(i int) string) {
	for i := range statuses {
		h.run("dev", "h1", commits(i), map[string]byte{id: statuses[i]}, 1, 0)
	}
}

func eachCommit(i int) string { return fmt.Sprint("c", i) }
func oneCommit(int) string    { return "c0" }

func TestJudge(t *testing.T) {
	tests := []struct {
		name     string
		statuses string
		commits  func(int) string
		verdict  string
		flips    int
	}{
		{"always passes", "PPPPPPPP", eachCommit, "", 0},
		{"alternates", "PFPFPFPF", eachCommit, Flaky, 7},
		{"fails now and then", "PPPFPPPPFPPP", eachCommit, Flaky, 4},
		{"broke and stays broken", "PPPPPFFFF", eachCommit, Broken, 1},
		{"never passed", "FFFFFF", eachCommit, Broken, 0},
		{"one failure then fixed", "PPPFPPPP", eachCommit, "", 2},
		{"passed and failed on one commit", "PPPPPF", oneCommit, Flaky, 1},
		{"broke on new commits", "PPPPFFF", eachCommit, Broken, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &history{}
			seq(h, "T", tt.statuses, tt.commits)
			got := findFlaky(t, h.runs, h.tests, FlakyOptions{})
			if tt.verdict == "" {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			assert.Equal(t, tt.verdict, got[0].Verdict)
			assert.Equal(t, tt.flips, got[0].Flips)
			assert.InDelta(t, float64(tt.flips)/float64(len(tt.statuses)-1), got[0].FlipRate, 1e-9)
		})
	}
}

func TestFlakySignals(t *testing.T) {
	h := &history{}
	seq(h, "T", "PFPPFPPPPF", eachCommit)
	got := findFlaky(t, h.runs, h.tests, FlakyOptions{})
	require.Len(t, got, 1)
	g := got[0]
	assert.Equal(t, 10, g.Samples)
	assert.Equal(t, 7, g.Passed)
	assert.Equal(t, 3, g.Failed)
	assert.InDelta(t, 0.7, g.PassRate, 1e-9)
	assert.Equal(t, 5, g.Flips)
	assert.InDelta(t, 5.0/9, g.FlipRate, 1e-9)
	assert.Equal(t, 3, g.Impact)
	assert.False(t, g.SameCommit)
	assert.Equal(t, h.runs[9].StartedAt, g.LastFailure)
}

func TestMinimumSamplesAndWindow(t *testing.T) {
	h := &history{}
	seq(h, "T", "PFPF", eachCommit)
	assert.Empty(t, findFlaky(t, h.runs, h.tests, FlakyOptions{}), "4 samples are too few by default")
	assert.Len(t, findFlaky(t, h.runs, h.tests, FlakyOptions{MinSamples: 4}), 1)

	h = &history{}
	seq(h, "T", "PFPFPF"+"PPPPPPPPPP", eachCommit)
	assert.Empty(t, findFlaky(t, h.runs, h.tests, FlakyOptions{Window: 10}), "the flakiness is older than the window")
	assert.Len(t, findFlaky(t, h.runs, h.tests, FlakyOptions{Window: 16}), 1)
}

func TestConfigurationsAreNeverPooled(t *testing.T) {
	h := &history{}
	for i := range 10 {
		// Always passes on h1, always fails on h2: broken on h2, not flaky.
		h.run("dev", "h1", eachCommit(i), map[string]byte{"T": 'P'}, 1, 0)
		h.run("dev", "h2", eachCommit(i), map[string]byte{"T": 'F'}, 1, 1)
	}
	got := findFlaky(t, h.runs, h.tests, FlakyOptions{})
	require.Len(t, got, 1)
	assert.Equal(t, Broken, got[0].Verdict)
	assert.Equal(t, "h2", got[0].SystemInfoHash)
}

func TestInfrastructureOutagesAreLeftOut(t *testing.T) {
	h := &history{}
	for i := range 10 {
		all := map[string]byte{"T": 'P', "A": 'P', "B": 'P', "C": 'P', "D": 'P'}
		failed := 0
		if i == 4 || i == 7 {
			// An outage: every test failed in these runs.
			for k := range all {
				all[k] = 'F'
			}
			failed = 5
		}
		h.run("dev", "h1", eachCommit(i), all, 5, failed)
	}
	assert.Empty(t, findFlaky(t, h.runs, h.tests, FlakyOptions{}))
	assert.Len(t, findFlaky(t, h.runs, h.tests, FlakyOptions{InfraFailureRatio: 1}), 5, "without the exclusion, every test looks flaky")
}

func TestSortedByImpact(t *testing.T) {
	h := &history{}
	a, b := "PFPFPFPFPF", "PPPPFPPPFP"
	for i := range a {
		h.run("dev", "h1", eachCommit(i), map[string]byte{"mild": b[i], "bad": a[i], "ok": 'P', "skip": 'S'}, 4, 0)
	}
	got := findFlaky(t, h.runs, h.tests, FlakyOptions{})
	require.Len(t, got, 2)
	assert.Equal(t, "bad", got[0].TestID)
	assert.Equal(t, "mild", got[1].TestID)
}

// findFlaky is FindFlaky on test runs.
func findFlaky(t *testing.T, runs []model.EvaluationRun, trs []model.TestRun, opt FlakyOptions) []TestHealth {
	t.Helper()
	found, err := FindFlaky(runs, samples.StreamOf(trs), opt)
	if err != nil {
		t.Fatal(err)
	}
	return found
}
