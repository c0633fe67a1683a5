package ui

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"evalrec.dev/compare"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

// ReportView is what evalrec report writes: one run, its comparison with
// a baseline, and charts of the runs before it.
type ReportView struct {
	Run      RunView         `json:"run"`
	Baseline string          `json:"baseline"`
	Compare  *compare.Report `json:"comparison"`
	// Changes is the comparison's table: what moved significantly, and
	// what started or stopped failing.
	Changes []ReportChange `json:"changes"`
	Charts  []Chart        `json:"charts"`
	Last    []RunRow       `json:"last_runs"`
}

// ReportOptions choose the report's baseline and history.
type ReportOptions struct {
	// Baseline names the runs to compare with (tag:…, branch:…, a run);
	// "" is the previous comparable run.
	Baseline     string
	BaselineRuns int
	// Last is how many runs of the project the charts show.
	Last int
}

// Report builds the report of the run ref names.
func (s *Server) Report(ctx context.Context, ref string, opt ReportOptions) (*ReportView, error) {
	scope := store.RunFilter{Project: s.opt.Project}
	run, err := s.db.ResolveRun(ctx, ref, scope)
	if err != nil {
		return nil, err
	}
	rv, err := s.runView(ctx, run, false)
	if err != nil {
		return nil, err
	}
	v := &ReportView{Run: *rv}
	var base []model.EvaluationRun
	switch {
	case opt.Baseline != "":
		f := scope
		f.Except = append(f.Except, run.ID)
		base, err = s.db.ResolveRuns(ctx, opt.Baseline, max(opt.BaselineRuns, 1), f)
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", opt.Baseline, err)
		}
		v.Baseline = opt.Baseline
	default:
		if prev, err := s.db.PreviousComparable(ctx, run); err == nil {
			base = []model.EvaluationRun{*prev}
			v.Baseline = prev.EvaluationRunID + " (the previous comparable run)"
		}
	}
	if len(base) > 0 {
		rep, err := compare.Load(ctx, s.db, base, []model.EvaluationRun{*run}, compare.Options{})
		if err != nil {
			return nil, err
		}
		v.Compare = &rep
		v.Changes = changesOf(&rep)
	}
	last := max(opt.Last, 2)
	f := scope
	// The run itself and those before it; stores keep milliseconds.
	f.Until, f.Limit = run.StartedAt.Add(time.Millisecond), int64(last)
	f.Environment, f.Branch = run.Environment, deref(run.GitBranch)
	runs, err := s.db.Runs(ctx, f)
	if err != nil {
		return nil, err
	}
	slices.Reverse(runs)
	for _, r := range runs {
		v.Last = append(v.Last, rowOf(r))
	}
	v.Charts = historyCharts(runs)
	return v, nil
}

// ReportChange is a row of a report's comparison.
type ReportChange struct {
	TestID  string   `json:"test_id"`
	Metric  string   `json:"metric,omitempty"` // "" for a test's status
	Base    *float64 `json:"base"`
	Cand    *float64 `json:"cand"`
	P       *float64 `json:"p"`
	Verdict string   `json:"verdict"` // regression, improvement, newly failing, fixed
	Class   string   `json:"-"`       // the CSS class of the verdict
}

// changesOf lists the tests that started or stopped failing, then the
// metrics that changed significantly.
func changesOf(r *compare.Report) []ReportChange {
	out := []ReportChange{}
	for _, id := range r.NewlyFailing {
		out = append(out, ReportChange{TestID: id, Verdict: "newly failing", Class: "failed"})
	}
	for _, id := range r.Fixed {
		out = append(out, ReportChange{TestID: id, Verdict: "fixed", Class: "passed"})
	}
	for _, f := range r.Findings {
		if f.Verdict == compare.Regression || f.Verdict == compare.Improvement {
			out = append(out, ReportChange{TestID: f.TestID, Metric: f.Metric, Base: ptr(f.Base), Cand: ptr(f.Cand), P: f.P, Verdict: f.Verdict, Class: f.Verdict})
		}
	}
	return out
}

// historyCharts charts the score and each metric of runs, oldest first.
func historyCharts(runs []model.EvaluationRun) []Chart {
	xs := make([]int64, len(runs))
	names := map[string]bool{}
	for i, r := range runs {
		xs[i] = r.StartedAt.Unix()
		for k := range r.Metrics {
			names[k] = true
		}
	}
	score := Chart{Title: "score", YLabel: "score", X: xs}
	line := Series{Label: "score"}
	var values []float64
	for _, r := range runs {
		line.Values = append(line.Values, r.Score)
		if r.Score != nil {
			values = append(values, *r.Score)
		}
	}
	score.Series = []Series{line}
	if len(values) == len(runs) {
		markChanges(&score, values, xs, "change")
	}
	charts := []Chart{score}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		c := Chart{Title: name, YLabel: name, X: xs}
		line := Series{Label: name}
		for _, r := range runs {
			if v, ok := r.Metrics[name]; ok {
				line.Values = append(line.Values, ptr(v))
			} else {
				line.Values = append(line.Values, nil)
			}
		}
		c.Series = []Series{line}
		charts = append(charts, c)
	}
	return charts
}

// WriteHTML writes the report as one self-contained HTML file: styles,
// scripts and data inline, nothing fetched.
func (s *Server) WriteHTML(w io.Writer, v *ReportView) error {
	return s.tpl.ExecuteTemplate(w, "report", v)
}

// WriteMarkdown writes the report as Markdown, for $GITHUB_STEP_SUMMARY.
func WriteMarkdown(w io.Writer, v *ReportView) error {
	r := v.Run.Run
	var b strings.Builder
	fmt.Fprintf(&b, "## evalrec: run %s — %s\n\n", mdEscape(r.EvaluationRunID), r.Status)
	fmt.Fprintf(&b, "| score | passed | failed | skipped | branch | commit | environment |\n|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s |\n\n", fmtScore(r.Score), r.NumPassed, r.NumFailed+r.NumIncomplete, r.NumSkipped,
		mdEscape(deref(r.GitBranch)), mdEscape(short(deref(r.GitCommit), 7)), mdEscape(r.Environment))
	if len(r.ExperimentTags) > 0 {
		fmt.Fprintf(&b, "tags: %s\n\n", mdEscape(strings.Join(r.ExperimentTags, ", ")))
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "> **error:** %s\n\n", mdEscape(r.Error))
	}
	if len(v.Run.Metrics) > 0 {
		b.WriteString("| metric | value | mean | min | max |\n|---|---|---|---|---|\n")
		for _, m := range v.Run.Metrics {
			if m.Stats != nil {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(m.Name), formatNumber(m.Value, "%.4g"),
					formatNumber(m.Stats.Mean, "%.4g"), formatNumber(m.Stats.Min, "%.4g"), formatNumber(m.Stats.Max, "%.4g"))
			} else {
				fmt.Fprintf(&b, "| %s | %s | | | |\n", mdEscape(m.Name), formatNumber(m.Value, "%.4g"))
			}
		}
		b.WriteString("\n")
	}
	if c := v.Compare; c != nil {
		fmt.Fprintf(&b, "### Compared with %s\n\n", mdEscape(v.Baseline))
		if len(v.Changes) > 0 {
			b.WriteString("| test | metric | base | candidate | p | verdict |\n|---|---|---|---|---|---|\n")
			for _, ch := range v.Changes {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(ch.TestID), mdEscape(ch.Metric),
					formatNumber(ch.Base, "%.4g"), formatNumber(ch.Cand, "%.4g"), formatNumber(ch.P, "%.3g"), ch.Verdict)
			}
		} else if len(c.Findings) == 0 {
			fmt.Fprintf(&b, "No test started or stopped failing; %s.\n", compare.NoMetricsLine)
		} else {
			fmt.Fprintf(&b, "No test started or stopped failing, and no significant change in %d comparisons.\n", len(c.Findings))
		}
		b.WriteString("\n")
		list := func(label string, ids []string) {
			if len(ids) > 0 {
				fmt.Fprintf(&b, "- **%s:** %s\n", label, mdEscape(strings.Join(ids, ", ")))
			}
		}
		list("new", c.NewTests)
		list("removed", c.RemovedTests)
		if n := len(c.Renamed); n > 0 {
			fmt.Fprintf(&b, "- **renamed:** %s\n", compare.RenamedLine(n))
		}
		for _, wn := range c.Warnings {
			fmt.Fprintf(&b, "- ⚠ %s\n", mdEscape(wn))
		}
		b.WriteString("\n")
	}
	if len(v.Last) > 1 {
		fmt.Fprintf(&b, "### The last %d runs\n\n```mermaid\nxychart-beta\n  title \"score\"\n  x-axis [", len(v.Last))
		for i, r := range v.Last {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "\"%s\"", r.StartedAt.UTC().Format("01-02 15:04"))
		}
		b.WriteString("]\n  line [")
		for i, r := range v.Last {
			if i > 0 {
				b.WriteString(", ")
			}
			s := 0.0
			if r.Score != nil {
				s = *r.Score
			}
			fmt.Fprintf(&b, "%.2f", s)
		}
		b.WriteString("]\n```\n")
	}
	if fs := v.Run.Failures; len(fs) > 0 {
		b.WriteString("\n### Failures\n\n")
		for _, f := range fs {
			fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n```\n%s\n```\n</details>\n\n", template.HTMLEscapeString(f.TestID), strings.ReplaceAll(f.Output, "```", "ʼʼʼ"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtScore(f *float64) string {
	if f == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", *f)
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// mdEscaper makes text from users inert in Markdown: no HTML, no table
// cells broken, no links, emphasis or code spans.
var mdEscaper = strings.NewReplacer("&", "&amp;", "|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;",
	"[", `\[`, "]", `\]`, "`", "\\`", "*", `\*`, "_", `\_`, "\\", `\\`)

func mdEscape(s string) string { return mdEscaper.Replace(s) }
