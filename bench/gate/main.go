// Command gate measures the regression gate on synthetic histories whose
// truth is known (see gatesim.Scenario): how often it raises a false alarm
// when nothing changed, and how often it detects a shift of one metric of
// one test, for the first version's method and the current one, side by
// side in one run.
//
//	go run ./bench/gate [-reps 1000]
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"text/tabwriter"

	"evalrec.dev/analytics"
	"evalrec.dev/compare"
	"evalrec.dev/internal/gatesim"
)

func main() {
	reps := flag.Int("reps", 1000, "comparisons per cell")
	spread := flag.Float64("spread", 0, "each test's noise is σ × U(1−spread, 1+spread)")
	alpha := flag.Float64("alpha", 0.05, "the gate's family-wise level")
	tests := flag.Int("tests", 0, "only the cells of this many tests (0: all)")
	noises := flag.Bool("noises", false, "measure the current and the previous method on 50- and 1,000-test suites with each noise shape (Gaussian, t3, bimodal, discrete, counts) instead")
	flag.Parse()
	if *noises {
		measureNoises(*reps, *alpha)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "tests\tbase runs\tcandidate runs\tchange\tmethod\tfalse alarms / detection")
	for _, c := range gatesim.GateCells(*spread) {
		if *tests > 0 && c.Tests != *tests {
			continue
		}
		c.Alpha = *alpha
		for _, method := range []string{compare.MannWhitney, compare.ModeratedT} {
			rate := gatesim.MeasureGate(c, method, *reps)
			what := "false alarms"
			if c.Shift > 0 {
				what = "detected"
			}
			fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%s %.1f%%\n", c.Tests, c.Base, c.Cand, c.Describe(), method, what, 100*rate)
		}
	}
	w.Flush()
}

// measureNoises measures the default method, and the previous one beside
// it, on the shapes of issue 18: per noise shape, 50 and 1,000 tests at
// 3 vs 3, 10 vs 10 and 10 runs against 1; false alarms when nothing
// changed, detection of one test shifted by 5σ and of 10% of the tests
// shifted by 2σ. Every suite also holds status-only tests (flaky, always
// failing, skipped); the "counts" shape gives a fifth of the tests a count
// of rare events, whose history is often all zeros. Each rate has its 95%
// Wilson interval.
func measureNoises(reps int, alpha float64) {
	type cell struct {
		noise      analytics.Noise
		counts     bool
		tests      int
		base, cand int
	}
	var cells []cell
	shapes := append(slices.Clone(analytics.Noises), analytics.Noise{Name: "counts"})
	for _, n := range shapes {
		for _, tests := range []int{50, 1000} {
			for _, sides := range [][2]int{{3, 3}, {10, 10}, {10, 1}} {
				cells = append(cells, cell{noise: n, counts: n.Name == "counts", tests: tests, base: sides[0], cand: sides[1]})
			}
		}
	}
	rows := make([]string, len(cells))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, c := range cells {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sc := gatesim.Scenario{Tests: c.tests, Base: c.base, Cand: c.cand, Sigma: 0.01, Alpha: alpha, Noise: c.noise.Draw,
				StatusOnly: c.tests / 10, Flaky: c.tests / 50, FlakyRate: 0.2, Failing: c.tests / 50, Skipped: c.tests / 50}
			if c.counts {
				sc.Counts = c.tests / 5
			}
			row := fmt.Sprintf("%s\t%d\t%dv%d", c.noise.Name, c.tests, c.base, c.cand)
			for _, method := range []string{compare.GaussianT, compare.ModeratedT} {
				fa := gatesim.MeasureGate(sc, method, reps)
				one := sc
				one.Shift = 5
				det := gatesim.MeasureGate(one, method, reps)
				many := sc
				many.Shift, many.ShiftShare = 2, 0.1
				wide := gatesim.MeasureGate(many, method, reps)
				row += fmt.Sprintf("\t%s\t%s\t%s", interval(fa, reps), interval(det, reps), interval(wide, reps))
			}
			rows[k] = row
		}()
	}
	wg.Wait()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "noise\ttests\truns\tbefore: false alarms\t1 test +5σ\t10% +2σ\tnow: false alarms\t1 test +5σ\t10% +2σ")
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	w.Flush()
}

// interval prints a rate measured on n trials with its 95% Wilson interval.
func interval(rate float64, n int) string {
	z := 1.959964
	nf := float64(n)
	centre := (rate + z*z/(2*nf)) / (1 + z*z/nf)
	half := z / (1 + z*z/nf) * math.Sqrt(rate*(1-rate)/nf+z*z/(4*nf*nf))
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", 100*rate, 100*max(0, centre-half), 100*min(1, centre+half))
}
