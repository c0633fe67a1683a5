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

	"evalrec.dev/compare"
	"evalrec.dev/internal/histgen"
)

func main() {
	reps := flag.Int("reps", 1000, "comparisons per cell")
	spread := flag.Float64("spread", 0, "each test's noise is σ × U(1−spread, 1+spread)")
	alpha := flag.Float64("alpha", 0.05, "the gate's family-wise level")
	tests := flag.Int("tests", 0, "only the cells of this many tests (0: all)")
	flag.Parse()
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
