package main

import (
	"fmt"
	"io"
	"strings"

	"evalrec.dev/compare"
	"evalrec.dev/internal/columns"
)

// maxChanges is how many metric and test changes the summary lists.
const maxChanges = 5

// maxFailures is how many failed tests' output the wrapper prints after
// the run; go test's own lines name every failure.
const maxFailures = 50

// maxListed is how many names a summary's list shows before it counts the
// rest: a run with 100,000 new tests must not print one 4 MB line.
const maxListed = 10

// brief joins the first maxListed ids, shown escaped (see
// columns.Printable), and counts the rest; n < 0 shows them all.
func brief(ids []string, n int) string {
	if n < 0 || len(ids) <= n {
		n = len(ids)
	}
	shown := make([]string, n)
	for i, id := range ids[:n] {
		shown[i] = columns.Cut(columns.Printable(id), columns.MaxCell)
	}
	s := strings.Join(shown, ", ")
	if rest := len(ids) - n; rest > 0 {
		s += fmt.Sprintf(", … and %d more", rest)
	}
	return s
}

// printChanges prints the largest changes against the previous run.
func printChanges(w io.Writer, d compare.Diff) {
	fmt.Fprintf(w, "  vs     %s (previous run, same branch, environment and system)\n", d.Base.EvaluationRunID)
	if sd, ok := d.ScoreDelta(); ok {
		fmt.Fprintf(w, "  score  %+.2f\n", sd)
	}
	shown := 0
	for _, m := range d.Metrics {
		if m.Delta() == 0 || shown == maxChanges {
			continue
		}
		shown++
		verdict := ""
		switch {
		case !m.DirectionKnown:
			verdict = ", direction unknown"
		case m.Improvement() < 0:
			verdict = ", worse"
		default:
			verdict = ", better"
		}
		fmt.Fprintf(w, "  metric %-16s %.4g → %.4g (%+.4g%s)\n", m.Name, m.Base, m.Cand, m.Delta(), verdict)
	}
	for i, t := range d.Tests {
		if i == maxChanges {
			fmt.Fprintf(w, "  …and %d more tests changed\n", len(d.Tests)-i)
			break
		}
		status := ""
		if t.BaseStatus != t.CandStatus {
			status = fmt.Sprintf(" [%s → %s]", t.BaseStatus, t.CandStatus)
		}
		fmt.Fprintf(w, "  test   %-40s %s → %s%s\n", columns.Cut(columns.Printable(t.TestID), columns.MaxCell), fmtScore(t.BaseScore), fmtScore(t.CandScore), status)
	}
	list := func(label string, ids []string) {
		if len(ids) > 0 {
			fmt.Fprintf(w, "  %-6s %s\n", label, brief(ids, maxListed))
		}
	}
	list("new", d.NewTests)
	list("gone", d.RemovedTests)
	list("broke", d.NewlyFailing)
	list("fixed", d.Fixed)
	if n := len(d.Renamed); n > 0 {
		fmt.Fprintf(w, "  %-6s %s\n", "names", compare.RenamedLine(n))
	}
	if len(d.Metrics) == 0 && len(d.Tests) == 0 && len(d.NewTests)+len(d.RemovedTests) == 0 {
		fmt.Fprintf(w, "  no changes\n")
	}
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ") + "\n"
}
