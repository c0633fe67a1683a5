package analytics

import (
	"math/rand/v2"
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
