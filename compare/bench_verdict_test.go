package compare

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"evalrec.dev/model"
)

// benchRuns is n runs of a benchmark whose sec/op is base × slow, with 3%
// noise, and its throughput (B/s) from the same samples.
func benchRuns(rng *rand.Rand, n int, name string, base, slow float64) []model.TestRun {
	var out []model.TestRun
	for range n {
		sec := base * slow * (1 + 0.03*rng.NormFloat64())
		out = append(out, model.TestRun{TestID: "p." + name, GoTest: name, Status: "passed", Passed: true,
			Metrics: map[string]model.MetricDoc{
				"sec/op": {Value: &sec, Direction: "lower"},
				"B/s":    {Value: ptr(1e6 / sec), Direction: "higher"},
			}})
	}
	return out
}

func ptr(f float64) *float64 { return &f }

// suite is n runs of 30 benchmarks whose times span eight orders of
// magnitude, BenchmarkParse among them slowed by slow, and 100 tests with
// a metric each.
func suite(rng *rand.Rand, n int, slow float64) []model.TestRun {
	out := benchRuns(rng, n, "BenchmarkParse", 1e-3, slow)
	for i := range 29 {
		out = append(out, benchRuns(rng, n, fmt.Sprintf("BenchmarkOther%02d", i), 1e-9*float64(int(1)<<(i%27)), 1)...)
	}
	for i := range 100 {
		for range n {
			v := 0.5 + 0.05*rng.NormFloat64()
			out = append(out, model.TestRun{TestID: fmt.Sprintf("p.TestEval%03d", i), GoTest: fmt.Sprintf("TestEval%03d", i), Status: "passed",
				Metrics: map[string]model.MetricDoc{"acc": {Value: &v, Direction: "higher"}}})
		}
	}
	return out
}

// A benchmark is judged per unit as benchstat does, on its own samples:
// among other benchmarks of other scales and a suite's tests, a 10% and a
// 30% slowdown are found at -count 10 in nearly every A/B, no change is
// found in few, and B/s and sec/op of the same samples always agree.
func TestBenchmarksGetOneVerdictPerUnitAsBenchstatGives(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range []struct {
		slow     float64
		min, max int // of 100 A/Bs, regressions found
	}{{1.0, 0, 4}, {1.1, 19, 20}, {1.3, 20, 20}} {
		found := 0
		for range 20 {
			base, cand := suite(rng, 10, 1), suite(rng, 10, c.slow)
			r := Sides([]model.EvaluationRun{{}}, []model.EvaluationRun{{}}, base, cand, Options{})
			verdicts := map[string]string{}
			for _, f := range r.Findings {
				if f.TestID == "p.BenchmarkParse" {
					verdicts[f.Metric] = f.Verdict
				}
			}
			if verdicts["sec/op"] != verdicts["B/s"] {
				t.Fatalf("%.0f%% slower: sec/op says %s, B/s %s", 100*(c.slow-1), verdicts["sec/op"], verdicts["B/s"])
			}
			if verdicts["sec/op"] == Regression {
				found++
			}
		}
		if found < c.min || found > c.max {
			t.Errorf("%s: %d of 20 A/Bs found a regression, want %d to %d", fmt.Sprintf("%.0f%% slower", 100*(c.slow-1)), found, c.min, c.max)
		}
		t.Logf("%.0f%% slower at -count 10: %d of 20 A/Bs found it", 100*(c.slow-1), found)
	}
}
