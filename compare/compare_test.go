package compare

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"evalrec.dev/model"
	"evalrec.dev/scoring"
)

func f(v float64) *float64 { return &v }

func tr(id, status string, score float64, attempt int) model.TestRun {
	return model.TestRun{TestID: id, Status: status, Score: f(score), Attempt: attempt,
		Metrics: map[string]model.MetricDoc{"wer": {Direction: "lower"}, "acc": {Direction: "higher"}}}
}

func TestRuns(t *testing.T) {
	base := &model.EvaluationRun{Score: f(80), Metrics: map[string]float64{"wer": 0.20, "acc": 0.90, "gone": 1}}
	cand := &model.EvaluationRun{Score: f(75), Metrics: map[string]float64{"wer": 0.25, "acc": 0.91, "new": 1}}
	d := Runs(base, cand,
		[]model.TestRun{tr("a", "passed", 90, 1), tr("b", "passed", 70, 1), tr("c", "failed", 0, 1), tr("old", "passed", 100, 1)},
		[]model.TestRun{tr("a", "passed", 90, 1), tr("b", "failed", 40, 1), tr("b", "passed", 50, 2), tr("c", "passed", 100, 1), tr("fresh", "passed", 100, 1)},
	)
	sd, ok := d.ScoreDelta()
	assert.True(t, ok)
	assert.Equal(t, -5.0, sd)

	if assert.Len(t, d.Metrics, 2) {
		assert.Equal(t, "wer", d.Metrics[0].Name, "largest relative change first")
		assert.Equal(t, scoring.LowerIsBetter, d.Metrics[0].Direction)
		assert.InDelta(t, -0.05, d.Metrics[0].Improvement(), 1e-9, "a higher WER is worse")
		assert.InDelta(t, 0.01, d.Metrics[1].Improvement(), 1e-9)
	}
	assert.True(t, d.Metrics[0].DirectionKnown)
	assert.Equal(t, []string{"fresh"}, d.NewTests)
	assert.Equal(t, []string{"old"}, d.RemovedTests)
	assert.Equal(t, []string{"c"}, d.Fixed)
	assert.Empty(t, d.NewlyFailing, "b's last attempt passed")
	if assert.Len(t, d.Tests, 2) {
		assert.Equal(t, "c", d.Tests[0].TestID)
		assert.Equal(t, 100.0, d.Tests[0].ScoreDelta())
		assert.Equal(t, -20.0, d.Tests[1].ScoreDelta())
	}
}

func TestRunsWithoutTestsDoesNotGuessDirections(t *testing.T) {
	base := &model.EvaluationRun{Metrics: map[string]float64{"wer": 0.2}}
	cand := &model.EvaluationRun{Metrics: map[string]float64{"wer": 0.3}}
	d := Runs(base, cand, nil, nil)
	if assert.Len(t, d.Metrics, 1) {
		assert.False(t, d.Metrics[0].DirectionKnown)
	}
}

// After a run of some tests (go test -run), the next full run is compared
// on the tests both ran: the others are not new, and the score is theirs.
func TestARunOfSomeTestsIsComparedOnTheTestsBothRan(t *testing.T) {
	some := &model.EvaluationRun{Score: f(90), TestsSelected: true}
	all := &model.EvaluationRun{Score: f(60)}
	d := Runs(some, all,
		[]model.TestRun{tr("a", "passed", 90, 1)},
		[]model.TestRun{tr("a", "passed", 92, 1), tr("b", "failed", 0, 1), tr("c", "passed", 88, 1)},
	)
	assert.True(t, d.Common)
	assert.Empty(t, d.NewTests, "b and c did not run in the first: they are not new")
	sd, ok := d.ScoreDelta()
	assert.True(t, ok)
	assert.InDelta(t, 2.0, sd, 1e-9, "the score of the tests both ran, not 60 against 90")

	r := Sides([]model.EvaluationRun{*some}, []model.EvaluationRun{*all},
		[]model.TestRun{tr("a", "passed", 90, 1)},
		[]model.TestRun{tr("a", "passed", 92, 1), tr("b", "failed", 0, 1)}, Options{})
	assert.Empty(t, r.NewTests)
	drop, _ := r.ScoreDrop()
	assert.InDelta(t, -2.0, drop, 1e-9)
}

// TestsNamedAnewEachRunAreComparedAsOne: testify names subtests with the
// %#v of their arguments, pointers' addresses and times included, so each
// run names them anew. Such a test and its namesake on the other side are
// one test, whose status change counts; a hex number in a name that is
// not renamed stays removed, and a test only one side ran stays new.
func TestTestsNamedAnewEachRunAreComparedAsOne(t *testing.T) {
	const p = "m/p.TestContains/Contains("
	base := []model.TestRun{
		tr(p+"(*A)(0xc000123456))", "passed", 100, 1),
		tr(p+"(*A)(0xc000111111),_(*A)(0xc000222222))", "passed", 100, 1),
		tr(p+"(*A)(0xc000333333),_(*A)(0xc000444444))", "failed", 0, 1),
		tr("m/p.TestEqual/Equal(time.Date(2026,_time.December,_6,_4,_49,_47,_7071057,_time.Local))", "passed", 100, 1),
		tr("m/p.TestParse/0xdeadbeef", "passed", 100, 1),
	}
	cand := []model.TestRun{
		tr(p+"(*A)(0x3689bfd032e0))", "failed", 0, 1),
		tr(p+"(*A)(0x3689bfd03300),_(*A)(0x3689bfd03320))", "passed", 100, 1),
		tr(p+"(*A)(0x3689bfd03340),_(*A)(0x3689bfd03360))", "passed", 100, 1),
		tr("m/p.TestEqual/Equal(time.Date(2026,_time.December,_6,_4,_59,_57,_743643626,_time.Local))", "passed", 100, 1),
		tr("m/p.TestNew", "passed", 100, 1),
	}
	d := Runs(&model.EvaluationRun{Score: f(80)}, &model.EvaluationRun{Score: f(80)}, base, cand)
	assert.Equal(t, []string{"m/p.TestNew"}, d.NewTests)
	assert.Equal(t, []string{"m/p.TestParse/0xdeadbeef"}, d.RemovedTests, "a name of its own, not renamed")
	assert.Len(t, d.Renamed, 4)
	assert.Equal(t, []string{cand[0].TestID}, d.NewlyFailing)
	assert.Equal(t, []string{cand[2].TestID}, d.Fixed, "namesakes pair in the order of their IDs")
	assert.Len(t, d.Tests, 2, "the renamed tests whose status changed")

	r := Sides([]model.EvaluationRun{{}}, []model.EvaluationRun{{}}, base, cand, Options{})
	assert.Equal(t, d.NewTests, r.NewTests)
	assert.Equal(t, d.RemovedTests, r.RemovedTests)
	assert.Equal(t, d.Renamed, r.Renamed)
	assert.Equal(t, d.NewlyFailing, r.NewlyFailing)
	assert.Equal(t, d.Fixed, r.Fixed)
}
