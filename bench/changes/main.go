// Command changes measures change-point detection on generated series
// whose change points are known (see analytics.SeriesWithChanges and
// analytics.ShapeCases): precision, recall, and how often an unchanged
// series shows one. With -otava, Apache Otava runs on the same series of
// each noise shape, side by side.
//
//	go run ./bench/changes [-reps 1000] [-otava DIR]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"

	"evalrec.dev/analytics"
)

func main() {
	reps := flag.Int("reps", 1000, "series per cell")
	otava := flag.String("otava", "", "Apache Otava's source tree: run it beside evalrec on the noise shapes (needs python3 with numpy and scipy)")
	python := flag.String("python", "python3", "the Python that runs Otava")
	flag.Parse()
	if *otava != "" {
		sideBySide(*reps, *otava, *python)
		return
	}
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

// sideBySide scores evalrec's default and Otava's (window 50, P 0.001,
// and P 0.0001) on the same cases of every noise shape, and the CPU each
// took.
func sideBySide(reps int, src, python string) {
	script, err := filepath.Abs(filepath.Join("bench", "changes", "run_otava.py"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		log.Fatalf("run from the repository's root: %v", err)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "noise\tdetector\tprecision\trecall\tF1\tunchanged series flagged\tbump edges found\tCPU")
	for _, n := range analytics.Noises {
		cases := analytics.ShapeCases(reps, n)
		var series [][]float64
		for _, c := range cases {
			series = append(series, c.Series)
		}
		start := cpu()
		found := make([][]int, len(cases))
		for i, c := range cases {
			for _, cp := range analytics.ChangePoints(c.Series, analytics.ChangeOptions{}) {
				found[i] = append(found[i], cp.Index)
			}
		}
		row(w, analytics.ScoreShape(n.Name, cases, found), "evalrec default", cpu()-start)
		for _, p := range []string{"0.001", "0.0001"} {
			in, _ := json.Marshal(series)
			cmd := exec.Command(python, script, src, p)
			cmd.Stdin, cmd.Stderr = bytes.NewReader(in), os.Stderr
			out, err := cmd.Output()
			if err != nil {
				log.Fatalf("otava: %v", err)
			}
			var otava [][]int
			if err := json.Unmarshal(out, &otava); err != nil || len(otava) != len(cases) {
				log.Fatalf("otava's output: %v (%d series for %d)", err, len(otava), len(cases))
			}
			used := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			row(w, analytics.ScoreShape(n.Name, cases, otava), "otava -P "+p, used)
		}
	}
	w.Flush()
	fmt.Printf("\n%d series of each kind a shape; CPU is for all %d series of a shape (%s).\n", reps, 3*reps, runtime.Version())
}

func row(w *tabwriter.Writer, m analytics.ShapeMeasure, who string, used time.Duration) {
	fmt.Fprintf(w, "%s\t%s\t%.3f\t%.3f\t%.3f\t%.1f%%\t%.1f%%\t%.2f s\n", m.Noise, who, m.Precision, m.Recall, m.F1,
		100*m.FalseInNoise, 100*m.BumpEdges, used.Seconds())
}
