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
}
