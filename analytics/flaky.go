// Package analytics answers questions about stored history: which tests are
// flaky or broken, and how metrics trend. It is pure logic over the stored
// documents; the store package fetches them.
package analytics

import (
	"cmp"
	"slices"
	"time"

	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/samples"
)

// FlakyOptions tune flaky detection. The zero value uses the defaults.
type FlakyOptions struct {
	// Window is how many of a test's most recent results (runs and
	// -count attempts) are judged. Default 30.
	Window int
	// MinSamples is the fewest results a verdict needs. Default 5.
	MinSamples int
	// InfraFailureRatio excludes runs in which more than this share of the
	// tests failed: that points to the infrastructure, not the test.
	// Default 0.8; runs with fewer than 5 tests are never excluded.
	InfraFailureRatio float64
	// BrokenStreak is how many latest failures in a row, after at most one
	// change from passing, make a test broken rather than flaky. Default 3.
	BrokenStreak int
	// BlipTests is how many tests, each failing only in that run of the
	// window, make a run a blip: they failed together, once (a network
	// outage, a full disk), which says nothing of any one of them.
	// Default 3.
	BlipTests int
}

// WithDefaults is o with the default of each option left zero.
func (o FlakyOptions) WithDefaults() FlakyOptions {
	if o.Window <= 0 {
		o.Window = 30
	}
	if o.MinSamples <= 0 {
		o.MinSamples = 5
	}
	if o.InfraFailureRatio <= 0 {
		o.InfraFailureRatio = 0.8
	}
	if o.BrokenStreak <= 0 {
		o.BrokenStreak = 3
	}
	if o.BlipTests <= 0 {
		o.BlipTests = 3
	}
	return o
}

// Verdicts.
const (
	Flaky  = "flaky"  // passes and fails without a code change explaining it
	Broken = "broken" // started failing and keeps failing
)

// TestHealth is the verdict on one test in one configuration.
type TestHealth struct {
	TestID         string    `json:"test_id"`
	TestName       string    `json:"test_name"`
	Environment    string    `json:"environment"`
	SystemInfoHash string    `json:"system_info_hash"`
	Verdict        string    `json:"verdict"`
	Samples        int       `json:"samples"`
	Passed         int       `json:"passed"`
	Failed         int       `json:"failed"` // failed or incomplete
	PassRate       float64   `json:"pass_rate"`
	Flips          int       `json:"flips"`
	FlipRate       float64   `json:"flip_rate"`   // flips / (samples − 1)
	SameCommit     bool      `json:"same_commit"` // passed and failed on one commit
	FirstSeen      time.Time `json:"first_seen"`
	LastSeen       time.Time `json:"last_seen"`
	LastFailure    time.Time `json:"last_failure"`
	// Strip is the window's results, oldest first: P passed, F failed.
	Strip string `json:"strip"`
	// Impact is how many results in the window the test turned red. Flaky
	// and broken tests are sorted by it, largest first.
	Impact int `json:"impact"`
}

// sample is one judged result.
type sample struct {
	at     time.Time
	passed bool
	commit string
	run    [12]byte
}

// Blip is a run in which several tests that otherwise pass failed
// together, once: their failures are left out of flakiness, and reported
// here instead.
type Blip struct {
	Run            string    `json:"run"` // evaluation_run_id
	At             time.Time `json:"at"`
	Environment    string    `json:"environment"`
	SystemInfoHash string    `json:"system_info_hash"`
	Tests          []string  `json:"tests"`
}

// FindFlaky judges every test in tests. runs must hold the evaluation run
// of every test run (to read its configuration and failure share). Only
// flaky and broken tests are returned, sorted by impact.
//
// The signals are those of the anchors in notes/analytics-methods.md: the
// pass rate, the flip rate (Buildkite, research), passing and failing on
// the same commit (Datadog, Trunk, Google), a minimum sample size, and the
// exclusion of runs where most tests failed (Trunk). History is split by
// environment and system hash, so different configurations never pool.
func FindFlaky(runs []model.EvaluationRun, results samples.ResultStream, opt FlakyOptions) ([]TestHealth, error) {
	health, _, err := Health(runs, results, opt)
	return health, err
}

// Health is FindFlaky, with the blips whose failures it left out: runs in
// which opt.BlipTests tests or more failed that failed in no other run of
// their window. Blips are sorted newest first.
//
// Only tests that failed at least once can be flaky or broken, or make a
// blip: a first pass over the results finds them, and the second gathers
// their samples only, so a window of 1.5 million results that hold a few
// hundred failures keeps a few thousand samples.
func Health(runs []model.EvaluationRun, results samples.ResultStream, opt FlakyOptions) ([]TestHealth, []Blip, error) {
	opt = opt.WithDefaults()
	type key struct {
		env, hash string
		test      int32
	}
	byID := make(map[[12]byte]*model.EvaluationRun, len(runs))
	for i := range runs {
		byID[runs[i].ID] = &runs[i]
	}
	// The run of each index, nil where it is unknown or an infrastructure
	// failure.
	var runOf []*model.EvaluationRun
	runsOf := func(rs *samples.Results) {
		for i := len(runOf); i < len(rs.Runs); i++ {
			r := byID[rs.Runs[i]]
			if r != nil && infraFailure(r, opt.InfraFailureRatio) {
				r = nil
			}
			runOf = append(runOf, r)
		}
	}
	var failing []bool
	err := results(func(rs *samples.Results) error {
		runsOf(rs)
		if n := len(rs.Tests) - len(failing); n > 0 {
			failing = append(failing, make([]bool, n)...)
		}
		for i := range rs.Rows {
			t := &rs.Rows[i]
			if runOf[t.Run] != nil && (t.Status() == result.Failed || t.Status() == result.Incomplete) {
				failing[t.Test] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	groups := map[key][]sample{}
	var tests []samples.TestKey
	err = results(func(rs *samples.Results) error {
		runsOf(rs)
		tests = rs.Tests
		for i := range rs.Rows {
			t := &rs.Rows[i]
			r := runOf[t.Run]
			if r == nil || int(t.Test) >= len(failing) || !failing[t.Test] {
				continue
			}
			var passed bool
			switch t.Status() {
			case result.Passed:
				passed = true
			case result.Failed, result.Incomplete:
			default:
				continue // skipped says nothing
			}
			k := key{r.Environment, r.SystemInfoHash, t.Test}
			commit := ""
			if r.GitCommit != nil {
				commit = *r.GitCommit
			}
			groups[k] = append(groups[k], sample{at: t.FinishedAt(), passed: passed, commit: commit, run: r.ID})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// Each test's window, and the runs in which it failed only once.
	alone := map[[12]byte][]string{} // run → tests whose only failure it holds
	for k, ss := range groups {
		slices.SortStableFunc(ss, func(a, b sample) int { return a.at.Compare(b.at) })
		if len(ss) > opt.Window {
			ss = ss[len(ss)-opt.Window:]
		}
		groups[k] = ss
		var failedIn [12]byte
		failures := 0
		for _, s := range ss {
			if !s.passed {
				failures++
				failedIn = s.run
			}
		}
		if failures == 1 {
			alone[failedIn] = append(alone[failedIn], tests[k.test].TestID)
		}
	}
	var blips []Blip
	blipRuns := map[[12]byte]bool{}
	for id, ts := range alone {
		if len(ts) < opt.BlipTests {
			continue
		}
		r := byID[id]
		blipRuns[id] = true
		blips = append(blips, Blip{Run: r.EvaluationRunID, At: r.StartedAt, Environment: r.Environment,
			SystemInfoHash: r.SystemInfoHash, Tests: slices.Sorted(slices.Values(ts))})
	}
	slices.SortFunc(blips, func(a, b Blip) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Run, b.Run)) })

	var out []TestHealth
	for k, ss := range groups {
		if len(blipRuns) > 0 {
			// A blip's failures are the blip's, not the test's.
			ss = slices.DeleteFunc(slices.Clone(ss), func(s sample) bool { return !s.passed && blipRuns[s.run] })
		}
		if len(ss) < opt.MinSamples {
			continue
		}
		h := judge(ss, opt)
		if h.Verdict == "" {
			continue
		}
		test := tests[k.test]
		h.TestID, h.TestName, h.Environment, h.SystemInfoHash = test.TestID, test.TestName, k.env, k.hash
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b TestHealth) int {
		return cmp.Or(cmp.Compare(b.Impact, a.Impact), cmp.Compare(b.FlipRate, a.FlipRate),
			cmp.Compare(a.TestID, b.TestID), cmp.Compare(a.Environment, b.Environment), cmp.Compare(a.SystemInfoHash, b.SystemInfoHash))
	})
	return out, blips, nil
}

func infraFailure(r *model.EvaluationRun, ratio float64) bool {
	if r.NumTests < 5 {
		return false
	}
	return float64(r.NumFailed+r.NumIncomplete)/float64(r.NumTests) > ratio
}

// judge computes the signals of one test's samples, oldest first, and its
// verdict ("" when healthy).
func judge(ss []sample, opt FlakyOptions) TestHealth {
	h := TestHealth{Samples: len(ss), FirstSeen: ss[0].at, LastSeen: ss[len(ss)-1].at}
	byCommit := map[string][2]bool{} // commit → seen passing, seen failing
	strip := make([]byte, len(ss))
	for i, s := range ss {
		strip[i] = 'F'
		if s.passed {
			strip[i] = 'P'
			h.Passed++
		} else {
			h.Failed++
			h.LastFailure = s.at
		}
		if i > 0 && s.passed != ss[i-1].passed {
			h.Flips++
		}
		if s.commit != "" {
			seen := byCommit[s.commit]
			if s.passed {
				seen[0] = true
			} else {
				seen[1] = true
			}
			byCommit[s.commit] = seen
			if seen[0] && seen[1] {
				h.SameCommit = true
			}
		}
	}
	h.Strip = string(strip)
	h.PassRate = float64(h.Passed) / float64(h.Samples)
	h.FlipRate = float64(h.Flips) / float64(h.Samples-1)
	h.Impact = h.Failed

	streak := 0
	for i := len(ss) - 1; i >= 0 && !ss[i].passed; i-- {
		streak++
	}
	switch {
	case h.Failed == 0:
		// healthy
	case h.Passed == 0, streak >= opt.BrokenStreak && h.Flips <= 1:
		h.Verdict = Broken
	case h.SameCommit:
		h.Verdict = Flaky
	case h.Flips >= 2 && h.Failed >= 2:
		// One isolated failure between passes on different commits is as
		// likely a regression that was fixed; two or more is a pattern.
		h.Verdict = Flaky
	}
	return h
}
