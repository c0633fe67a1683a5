package scoring

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefinitionScore(t *testing.T) {
	tests := []struct {
		name string
		def  Definition
		v    float64
		want float64
	}{
		{"default is a higher-is-better fraction", Definition{}, 0.95, 95},
		{"default clamps above 1", Definition{}, 1.5, 100},
		{"default clamps below 0", Definition{}, -0.2, 0},
		{"lower is better", Definition{Direction: LowerIsBetter}, 0.12, 88},
		{"lower is better over a range", Definition{Direction: LowerIsBetter, Min: 100, Max: 500}, 200, 75},
		{"higher is better over a range", Definition{Min: 10, Max: 20}, 12.5, 25},
		{"NaN scores zero", Definition{}, math.NaN(), 0},
		{"+Inf scores zero even when higher is better", Definition{}, math.Inf(1), 0},
		{"-Inf scores zero even when lower is better", Definition{Direction: LowerIsBetter}, math.Inf(-1), 0},
		{"degenerate range reached", Definition{Min: 5, Max: 5}, 5, 100},
		{"degenerate range missed", Definition{Min: 5, Max: 5}, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, tt.def.Score(tt.v), 1e-9)
		})
	}
}

func TestDefinitionPassed(t *testing.T) {
	lower := Definition{Direction: LowerIsBetter, Threshold: Threshold(0.2)}
	higher := Definition{Threshold: Threshold(0.9)}
	tests := []struct {
		name       string
		def        Definition
		v          float64
		passed, ok bool
	}{
		{"no threshold", Definition{}, 0.5, false, false},
		{"lower at threshold passes", lower, 0.2, true, true},
		{"lower above threshold fails", lower, 0.21, false, true},
		{"higher at threshold passes", higher, 0.9, true, true},
		{"higher below threshold fails", higher, 0.89, false, true},
		{"NaN never passes", lower, math.NaN(), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := tt.def.Passed(tt.v)
			assert.Equal(t, tt.passed, p)
			assert.Equal(t, tt.ok, ok)
		})
	}
}

func results(scores ...float64) []Result {
	rs := make([]Result, len(scores))
	for i, s := range scores {
		rs[i] = Result{Name: string(rune('a' + i)), Score: s, Weight: 1}
	}
	return rs
}

func pass(b bool) *bool { return &b }

func TestBuiltInCalculators(t *testing.T) {
	weightedInput := []Result{{Name: "a", Score: 100, Weight: 3}, {Name: "b", Score: 0, Weight: 1}}
	passInput := []Result{
		{Name: "a", Score: 10, Passed: pass(true)},
		{Name: "b", Score: 90, Passed: pass(false)},
		{Name: "c", Score: 50, Passed: pass(true)},
		{Name: "d", Score: 50}, // no threshold: not judged
	}
	tests := []struct {
		method string
		in     []Result
		want   float64
		ok     bool
	}{
		{Average, results(80, 90, 100), 90, true},
		{Average, nil, 0, false},
		{Weighted, weightedInput, 75, true},
		{Weighted, []Result{{Name: "a", Score: 40}, {Name: "b", Score: 60}}, 50, true}, // zero weight means 1
		{Min, results(80, 35, 100), 35, true},
		{Min, nil, 0, false},
		{PassRate, passInput, 100 * 2.0 / 3.0, true},
		{PassRate, results(10, 20), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got, ok, err := Default.Score(tt.method, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.ok, ok)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestScoreIsOrderIndependentAndClamped(t *testing.T) {
	r := NewRegistry()
	// A calculator sensitive to order: the first score. Sorting makes it see "a".
	r.Register("first", CalculatorFunc(func(rs []Result) (float64, bool) { return rs[0].Score, true }))
	r.Register("wild", CalculatorFunc(func(rs []Result) (float64, bool) { return 250, true }))
	in := []Result{{Name: "z", Score: 10}, {Name: "a", Score: 70}}
	got, _, err := r.Score("first", in)
	require.NoError(t, err)
	assert.Equal(t, 70.0, got)
	assert.Equal(t, "z", in[0].Name, "Score must not reorder the caller's slice")

	got, _, err = r.Score("wild", in)
	require.NoError(t, err)
	assert.Equal(t, 100.0, got)
}

func TestUnknownMethodNamesTheRegisteredOnes(t *testing.T) {
	_, _, err := NewRegistry().Score("nope", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown score method "nope"`)
	assert.Contains(t, err.Error(), "average, min, pass_rate, weighted")
}

func TestEvaluate(t *testing.T) {
	d := Definition{Name: "wer", Unit: "ratio", Direction: LowerIsBetter, Threshold: Threshold(0.2), Weight: 2}
	r := d.Evaluate(0.1)
	assert.Equal(t, "wer", r.Name)
	assert.InDelta(t, 90, r.Score, 1e-9)
	require.NotNil(t, r.Passed)
	assert.True(t, *r.Passed)
	assert.Equal(t, 2.0, r.Weight)

	assert.Nil(t, Definition{Name: "x"}.Evaluate(0.3).Passed)
}

func TestParseDirection(t *testing.T) {
	d, err := ParseDirection("lower")
	require.NoError(t, err)
	assert.Equal(t, LowerIsBetter, d)
	assert.Equal(t, "lower", d.String())
	_, err = ParseDirection("sideways")
	assert.Error(t, err)
}
