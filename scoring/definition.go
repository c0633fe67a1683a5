package scoring

import (
	"fmt"
	"math"
)

// Direction says which way a metric improves.
type Direction int

const (
	// HigherIsBetter is the default: accuracy, completeness, recall.
	HigherIsBetter Direction = iota
	// LowerIsBetter suits error rates, latencies and costs.
	LowerIsBetter
)

// String returns "higher" or "lower", the spelling used in stored documents.
func (d Direction) String() string {
	if d == LowerIsBetter {
		return "lower"
	}
	return "higher"
}

// ParseDirection reads "higher" or "lower".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "higher", "":
		return HigherIsBetter, nil
	case "lower":
		return LowerIsBetter, nil
	}
	return HigherIsBetter, fmt.Errorf("scoring: unknown direction %q (want higher or lower)", s)
}

// Definition describes one metric. The zero value, apart from Name, is a
// higher-is-better fraction in [0, 1] with no threshold and weight 1.
type Definition struct {
	Name      string
	Unit      string
	Direction Direction
	// Min and Max give the range that maps onto 0–100. When both are zero the
	// range is [0, 1].
	Min, Max float64
	// Threshold, when set, decides Passed: v ≤ Threshold for lower-is-better
	// metrics, v ≥ Threshold for higher-is-better ones.
	Threshold *float64
	// Weight is used by the weighted calculator; zero means 1.
	Weight float64
}

// Threshold returns a pointer to t, for use in a Definition literal.
func Threshold(t float64) *float64 { return &t }

func (d Definition) bounds() (lo, hi float64) {
	if d.Min == 0 && d.Max == 0 {
		return 0, 1
	}
	return d.Min, d.Max
}

// Score maps v onto 0–100 by the definition's direction and range.
func (d Definition) Score(v float64) float64 {
	if !finite(v) {
		return 0
	}
	lo, hi := d.bounds()
	if hi == lo {
		// A degenerate range: the value either reaches the bound or not.
		if (d.Direction == HigherIsBetter && v >= hi) || (d.Direction == LowerIsBetter && v <= lo) {
			return 100
		}
		return 0
	}
	var s float64
	if d.Direction == LowerIsBetter {
		s = 100 * (hi - v) / (hi - lo)
	} else {
		s = 100 * (v - lo) / (hi - lo)
	}
	return clamp(s)
}

// Passed reports whether v meets the threshold. ok is false when the
// definition has no threshold.
func (d Definition) Passed(v float64) (passed, ok bool) {
	if d.Threshold == nil {
		return false, false
	}
	if !finite(v) {
		return false, true
	}
	if d.Direction == LowerIsBetter {
		return v <= *d.Threshold, true
	}
	return v >= *d.Threshold, true
}

// Evaluate scores one value against the definition. A definition whose
// Direction is left at its zero value takes the direction its unit implies
// (see [DirectionOfUnit]): a unit of ms is lower-is-better unless said
// otherwise.
func (d Definition) Evaluate(v float64) Result {
	if du, ok := DirectionOfUnit(d.Unit); ok && d.Direction == HigherIsBetter {
		d.Direction = du
	}
	r := Result{
		Name:      d.Name,
		Value:     v,
		Unit:      d.Unit,
		Direction: d.Direction,
		Threshold: d.Threshold,
		Weight:    d.weight(),
		Score:     d.Score(v),
	}
	if p, ok := d.Passed(v); ok {
		r.Passed = &p
	}
	return r
}

func (d Definition) weight() float64 {
	if d.Weight <= 0 || !finite(d.Weight) {
		return 1
	}
	return d.Weight
}

// Result is one metric of one test, scored.
type Result struct {
	Name      string
	Value     float64 // may be NaN or ±Inf; the store maps those to null
	Unit      string
	Direction Direction
	Threshold *float64
	Weight    float64
	Score     float64 // 0–100
	Passed    *bool   // nil when the metric has no threshold
	// Assumed says no definition and no unit gave the direction: the
	// metric was read as a higher-is-better fraction in [0, 1], the
	// default, and summaries say its direction is unknown.
	Assumed bool
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func clamp(s float64) float64 {
	switch {
	case math.IsNaN(s):
		return 0
	case s < 0:
		return 0
	case s > 100:
		return 100
	}
	return s
}
