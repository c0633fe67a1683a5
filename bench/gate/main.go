// Command gate measures the regression gate on synthetic histories whose
// truth is known (see histgen.Scenario): how often it raises a false alarm
// when nothing changed, and how often it detects a shift of one metric of
// one test, for the first version's method and the current one, side by
// side in one run.
//
//	go run ./bench/gate [-reps 1000]
package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/internal/histgen"
)

func main() {
	reps := flag.Int("reps", 1000, "comparisons per cell")
	spread := flag.Float64("spread", 0, "each test's noise is σ × U(1−spread, 1+spread)")
	alpha := flag.Float64("alpha", 0.05, "the gate's family-wise level")
	tests := flag.Int("tests", 0, "only the cells of this many tests (0: all)")
	noises := flag.Bool("noises", false, "measure the current method on 50- and 1,000-test suites with each noise shape (Gaussian, t3, bimodal, discrete) instead")
	flag.Parse()
	if *noises {
		measureNoises(*reps, *alpha)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "tests\tbase runs\tcandidate runs\tchange\tmethod\tfalse alarms / detection")
	for _, c := range histgen.GateCells(*spread) {
		if *tests > 0 && c.Tests != *tests {
			continue
		}
		c.Alpha = *alpha
		for _, method := range []string{compare.MannWhitney, compare.ModeratedT} {
			rate := histgen.MeasureGate(c, method, *reps)
			what := "false alarms"
			if c.Shift > 0 {
				what = "detected"
			}
			fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%s %.1f%%\n", c.Tests, c.Base, c.Cand, c.Describe(), method, what, 100*rate)
		}
	}
	w.Flush()
}

// measureNoises measures the default method on the shapes of issue 18:
// per noise shape, 50 and 1,000 tests at 3 vs 3, 10 vs 10 and 10 runs
// against 1, false alarms when nothing changed and detection of one test
// shifted by 5σ.
func measureNoises(reps int, alpha float64) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "noise\ttests\tbase runs\tcandidate runs\tfalse alarms\t1 test +5σ detected")
	for _, n := range analytics.Noises {
		for _, tests := range []int{50, 1000} {
			for _, sides := range [][2]int{{3, 3}, {10, 10}, {10, 1}} {
				c := histgen.Scenario{Tests: tests, Base: sides[0], Cand: sides[1], Sigma: 0.01, Alpha: alpha, Noise: n.Draw}
				fa := histgen.MeasureGate(c, compare.ModeratedT, reps)
				c.Shift = 5
				det := histgen.MeasureGate(c, compare.ModeratedT, reps)
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%.1f%%\t%.1f%%\n", n.Name, tests, sides[0], sides[1], 100*fa, 100*det)
			}
		}
	}
	w.Flush()
}
