// Command changes measures change-point detection on generated series
// whose change points are known (see analytics.SeriesWithChanges):
// precision, recall, and how often an unchanged series shows one.
//
//	go run ./bench/changes [-reps 1000]
package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"evalrec.dev/analytics"
)

func main() {
	reps := flag.Int("reps", 1000, "series per cell")
	flag.Parse()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "p threshold\tshift\tprecision\trecall\tunchanged series with a change point")
	for _, p := range []float64{0.001, 0.0001} {
		for _, shift := range []float64{2, 3, 5} {
			m := analytics.MeasureChangePoints(*reps, shift, analytics.ChangeOptions{P: p})
			fmt.Fprintf(w, "%g\t%gσ\t%.3f\t%.3f\t%.1f%%\n", p, shift, m.Precision, m.Recall, 100*m.FalseInNoise)
		}
	}
	w.Flush()

	// Per noise shape, at the default: series of 60–200 points with two 3σ
	// changes, unchanged series, and 4σ bumps lasting 5 points.
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "noise\tprecision\trecall\tF1\tunchanged series with a change point\tedges of 5-point 4σ bumps found")
	for _, n := range analytics.Noises {
		m := analytics.MeasureShape(*reps, n, analytics.ChangeOptions{})
		fmt.Fprintf(w, "%s\t%.3f\t%.3f\t%.3f\t%.1f%%\t%.1f%%\n", m.Noise, m.Precision, m.Recall, m.F1, 100*m.FalseInNoise, 100*m.BumpEdges)
	}
	w.Flush()
}
