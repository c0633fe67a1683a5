package analytics

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SeriesWithChanges generates a series of n points with changes at known
// places: the level moves by shift standard deviations (±, at random) at
// each of k places at least minGap apart, and every point has normal
// noise. It returns the series and the change points' indices.
func SeriesWithChanges(rng *rand.Rand, n, k int, shift float64, minGap int) ([]float64, []int) {
	var at []int
	for len(at) < k {
		c := minGap + rng.IntN(n-2*minGap)
		ok := true
		for _, a := range at {
			if c-a < minGap && a-c < minGap {
				ok = false
			}
		}
		if ok {
			at = append(at, c)
		}
	}
	level := 10.0
	xs := make([]float64, n)
	for i := range xs {
		for _, a := range at {
			if i == a {
				if rng.IntN(2) == 0 {
					level += shift
				} else {
					level -= shift
				}
			}
		}
		xs[i] = level + rng.NormFloat64()
	}
	return xs, at
}

// ChangeMeasure is the detector's record over generated series.
type ChangeMeasure struct {
	Precision    float64 // found change points that are true
	Recall       float64 // true change points that were found
	FalseInNoise float64 // share of unchanged series with a change point
}

// MeasureChangePoints runs the detector over reps series of 120 points
// with two changes of shift standard deviations at least 15 points apart,
// and over reps unchanged series. A change point found within two points
// of a true one is correct.
func MeasureChangePoints(reps int, shift float64, opt ChangeOptions) ChangeMeasure {
	rng := rand.New(rand.NewPCG(7, 11))
	var found, correct, truth, hit, noisy int
	for range reps {
		xs, at := SeriesWithChanges(rng, 120, 2, shift, 15)
		cps := ChangePoints(xs, opt)
		truth += len(at)
		found += len(cps)
		for _, c := range cps {
			for _, a := range at {
				if c.Index-a <= 2 && a-c.Index <= 2 {
					correct++
					break
				}
			}
		}
		for _, a := range at {
			for _, c := range cps {
				if c.Index-a <= 2 && a-c.Index <= 2 {
					hit++
					break
				}
			}
		}
		flat, _ := SeriesWithChanges(rng, 120, 0, 0, 15)
		if len(ChangePoints(flat, opt)) > 0 {
			noisy++
		}
	}
	m := ChangeMeasure{FalseInNoise: float64(noisy) / float64(reps)}
	if found > 0 {
		m.Precision = float64(correct) / float64(found)
	}
	if truth > 0 {
		m.Recall = float64(hit) / float64(truth)
	}
	return m
}

// A Noise draws one point's noise, of unit spread, in a shape real
// series have.
type Noise struct {
	Name string
	Draw func(*rand.Rand) float64
}

// Noises are the shapes the detector is measured on: Gaussian; Student's
// t with 3 degrees of freedom (heavy tails), scaled to unit variance;
// bimodal (two levels half a unit either side, each a little noisy); and
// discrete (a Gaussian rounded to halves, as counts and scores on a scale
// are).
var Noises = []Noise{
	{"gaussian", func(r *rand.Rand) float64 { return r.NormFloat64() }},
	{"t3", func(r *rand.Rand) float64 {
		// t = Z / sqrt(χ²₃/3), whose variance is 3.
		chi := 0.0
		for range 3 {
			z := r.NormFloat64()
			chi += z * z
		}
		return r.NormFloat64() / math.Sqrt(chi/3) / math.Sqrt(3)
	}},
	{"bimodal", func(r *rand.Rand) float64 {
		side := 0.95
		if r.IntN(2) == 0 {
			side = -side
		}
		return side + 0.3*r.NormFloat64()
	}},
	{"discrete", func(r *rand.Rand) float64 { return math.Round(2*r.NormFloat64()) / 2 }},
}

// ShapeMeasure is the detector's record on one noise shape.
type ShapeMeasure struct {
	Noise        string
	Precision    float64 // of changes found, within ±3 points of a true one
	Recall       float64
	F1           float64
	FalseInNoise float64 // unchanged series with any change point
	BumpEdges    float64 // edges found of a 4σ bump lasting 5 points
}

// A ShapeCase is one generated series whose changes are known.
type ShapeCase struct {
	// Kind is "changes" (two changes of 3σ), "flat" (none) or "bump" (a
	// 4σ bump lasting 5 points: two edges).
	Kind   string
	Series []float64
	Truth  []int // indices of the first points after each change
}

// ShapeCases generates, with noise of one shape, reps series of 60 to 200
// points with two changes of 3σ (15 points apart or more), reps unchanged
// series, and reps series with a 4σ bump lasting 5 points. The same reps
// and noise give the same cases.
func ShapeCases(reps int, noise Noise) []ShapeCase {
	rng := rand.New(rand.NewPCG(23, 5))
	gen := func(n int, changes []int, shifts []float64) []float64 {
		xs := make([]float64, n)
		level := 10.0
		for i := range xs {
			for j, c := range changes {
				if i == c {
					level += shifts[j]
				}
			}
			xs[i] = level + noise.Draw(rng)
		}
		return xs
	}
	var out []ShapeCase
	for range reps {
		n := 60 + rng.IntN(141)
		var at []int
		for len(at) < 2 {
			c := 15 + rng.IntN(n-30)
			if len(at) == 0 || c-at[0] >= 15 || at[0]-c >= 15 {
				at = append(at, c)
			}
		}
		if at[0] > at[1] {
			at[0], at[1] = at[1], at[0]
		}
		sign := func() float64 {
			if rng.IntN(2) == 0 {
				return -3
			}
			return 3
		}
		out = append(out, ShapeCase{Kind: "changes", Series: gen(n, at, []float64{sign(), sign()}), Truth: at})
		out = append(out, ShapeCase{Kind: "flat", Series: gen(60+rng.IntN(141), nil, nil)})
		m := 60 + rng.IntN(141)
		b := 10 + rng.IntN(m-25)
		out = append(out, ShapeCase{Kind: "bump", Series: gen(m, []int{b, b + 5}, []float64{4, -4}), Truth: []int{b, b + 5}})
	}
	return out
}

// ScoreShape scores the change points a detector found in each case
// (found[i] for cases[i]). A change found within three points of a true
// one is correct.
func ScoreShape(noise string, cases []ShapeCase, found [][]int) ShapeMeasure {
	near := func(a, b int) bool { return a-b <= 3 && b-a <= 3 }
	hitOf := func(truth, cps []int) (hits int) {
		for _, a := range truth {
			if slices.ContainsFunc(cps, func(c int) bool { return near(c, a) }) {
				hits++
			}
		}
		return hits
	}
	var nFound, correct, truth, hit, flats, noisy, bumps, edges int
	for i, c := range cases {
		switch c.Kind {
		case "changes":
			truth += len(c.Truth)
			nFound += len(found[i])
			for _, f := range found[i] {
				if slices.ContainsFunc(c.Truth, func(a int) bool { return near(f, a) }) {
					correct++
				}
			}
			hit += hitOf(c.Truth, found[i])
		case "flat":
			flats++
			if len(found[i]) > 0 {
				noisy++
			}
		case "bump":
			bumps++
			edges += hitOf(c.Truth, found[i])
		}
	}
	sm := ShapeMeasure{Noise: noise, FalseInNoise: float64(noisy) / float64(max(1, flats)), BumpEdges: float64(edges) / float64(max(1, 2*bumps))}
	if nFound > 0 {
		sm.Precision = float64(correct) / float64(nFound)
	}
	if truth > 0 {
		sm.Recall = float64(hit) / float64(truth)
	}
	if sm.Precision+sm.Recall > 0 {
		sm.F1 = 2 * sm.Precision * sm.Recall / (sm.Precision + sm.Recall)
	}
	return sm
}

// MeasureShape runs the detector over ShapeCases(reps, noise) and scores
// it.
func MeasureShape(reps int, noise Noise, opt ChangeOptions) ShapeMeasure {
	cases := ShapeCases(reps, noise)
	found := make([][]int, len(cases))
	for i, c := range cases {
		for _, cp := range ChangePoints(c.Series, opt) {
			found[i] = append(found[i], cp.Index)
		}
	}
	return ScoreShape(noise.Name, cases, found)
}
