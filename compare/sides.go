package compare

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"

	"evalrec.dev/model"
	"evalrec.dev/samples"
	"evalrec.dev/scoring"
)

// Options tune a statistical comparison. The zero value uses the defaults.
type Options struct {
	// Alpha is the family-wise significance level, after Holm–Bonferroni
	// correction across every comparison made. Default 0.05.
	Alpha float64
	// Test is "t", the default: a t-test whose variance is moderated across
	// the suite (see moderated.go) and referred to the suite's own
	// permutation null (see calibrate.go). "t-gaussian" refers it to
	// Student's t instead, as the previous version did. "mannwhitney" is the first version's
	// method, kept for comparison: a Mann–Whitney U test where both sides
	// have two samples or more, and a fixed Tolerance otherwise.
	Test string
	// Durations compares each test's duration too, as a metric "duration"
	// in ms, lower is better (evalrec.yaml: compare_durations: true). A
	// change under MinDurationChange is none: go test reports durations
	// in hundredths of a second, and a scheduler's hiccup is as large.
	Durations bool
	// Tolerance is the relative change, in the worse direction, that the
	// Mann–Whitney method counts as a regression when a side has a single
	// sample. Default 0.05 (5%).
	Tolerance float64
}

// Test methods.
const (
	ModeratedT  = "t"
	MannWhitney = "mannwhitney"
	// GaussianT is the moderated t referred to Student's t, without the
	// suite's calibration: the previous version's method, kept for
	// comparison.
	GaussianT = "t-gaussian"
)

func (o Options) withDefaults() Options {
	if o.Alpha <= 0 {
		o.Alpha = 0.05
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 0.05
	}
	if o.Test == "" {
		o.Test = ModeratedT
	}
	return o
}

// Verdicts of a finding.
const (
	Regression  = "regression"
	Improvement = "improvement"
	Unchanged   = "unchanged"
	// TooFewRuns says the sides have too few samples for a change of five
	// standard deviations to reach significance among this many
	// comparisons: "unchanged" would claim more than is known.
	TooFewRuns = "too few runs"
)

// Finding compares one metric (or the score) of one test across the sides.
type Finding struct {
	TestID    string `json:"test_id"`
	Metric    string `json:"metric"`
	Direction string `json:"direction"`
	// DirectionKnown is false for a metric nothing defined: it was read as
	// higher-is-better.
	DirectionKnown bool `json:"direction_known"`
	// Base and Cand are the sides' means (medians for the Mann–Whitney
	// method), and N1 and N2 their samples.
	Base float64 `json:"base"`
	Cand float64 `json:"cand"`
	N1   int     `json:"n_base"`
	N2   int     `json:"n_cand"`
	// P is the test's p-value, or null when none was computed.
	// Significant is the verdict after Holm–Bonferroni.
	P           *float64 `json:"p"`
	Significant bool     `json:"significant"`
	Verdict     string   `json:"verdict"`
	Note        string   `json:"note,omitempty"`
	// Rule says what decided the verdict: "moderated t", "mann-whitney",
	// "benchstat" (a benchmark), or "threshold" where the sides had too
	// few runs to tell noise from change and the metric's declared
	// threshold did (passed in base, failed in candidate, or the reverse).
	Rule string `json:"rule"`
}

// Delta is Cand − Base.
func (f Finding) Delta() float64 { return f.Cand - f.Base }

// Report is a statistical comparison of two sides, each one or more runs.
type Report struct {
	BaseRuns     int       `json:"base_runs"`
	CandRuns     int       `json:"cand_runs"`
	BaseScore    *float64  `json:"base_score"` // mean run score of the side
	CandScore    *float64  `json:"cand_score"`
	Method       string    `json:"method"`
	Findings     []Finding `json:"findings"`
	NewTests     []string  `json:"new_tests"`
	RemovedTests []string  `json:"removed_tests"`
	NewlyFailing []string  `json:"newly_failing"`
	Fixed        []string  `json:"fixed"`
	// Renamed tests count as one test for the test set and for statuses
	// (newly failing, fixed); their metrics are not compared (see
	// [Renamed]).
	Renamed  []Renamed `json:"renamed_tests,omitempty"`
	Warnings []string  `json:"warnings"`
	// NeedRuns is how many runs a side would need for a change of five
	// standard deviations to show among this many comparisons, when it has
	// fewer; 0 when it has enough.
	NeedRuns int `json:"need_runs_per_side"`
	// Cached counts test results go test served from its cache: copies of
	// an earlier execution, left out of the samples.
	Cached int `json:"cached_left_out"`
}

// OnCandidateTests drops what the base side has and the candidate did not
// run, for a candidate that chose its tests (go test -run): those tests
// are not gone.
func (r Report) OnCandidateTests() Report {
	r.RemovedTests = nil
	r.Warnings = slices.DeleteFunc(slices.Clone(r.Warnings), func(w string) bool { return strings.HasPrefix(w, "dataset inconsistency") })
	return r
}

// Regressions returns the findings judged regressions.
func (r Report) Regressions() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Verdict == Regression {
			out = append(out, f)
		}
	}
	return out
}

// ScoreDrop is how far the candidate side's mean run score fell (positive
// when it fell), and false when a side has no score.
func (r Report) ScoreDrop() (float64, bool) {
	if r.BaseScore == nil || r.CandScore == nil {
		return 0, false
	}
	return *r.BaseScore - *r.CandScore, true
}

// Sides compares a candidate side against a base side. Each side is one or
// more runs and their test runs; with -count=N, one run gives N samples per
// test. The samples of a test are each of its metrics' values and, for a
// test without metrics, its score. Results served from go test's cache are
// left out: they repeat an earlier execution. The base side is read on the
// packages the candidate ran, so that a run of some packages is not told
// the others are gone.
//
// The default method is a t-test on each test's metric with its variance
// moderated across the suite (see moderated.go), and Holm–Bonferroni across
// every comparison that carries evidence: sides that are identical
// constants do not enter the family. A change between two constant sides
// is certain, and reported so.
func Sides(baseRuns, candRuns []model.EvaluationRun, base, cand []model.TestRun, opt Options) Report {
	rs, baseRows, candRows := resultsOf(base, cand)
	return compareSides(baseRuns, candRuns, rs, baseRows, candRows, opt)
}

// resultsOf puts two sides' test runs in one Results, and returns the rows
// of each.
func resultsOf(base, cand []model.TestRun) (*samples.Results, []int32, []int32) {
	rs := &samples.Results{Accumulate: true}
	rows := func(trs []model.TestRun) []int32 {
		from := len(rs.Rows)
		for i := range trs {
			rs.Add(&trs[i])
		}
		out := make([]int32, 0, len(rs.Rows)-from)
		for i := from; i < len(rs.Rows); i++ {
			out = append(out, int32(i))
		}
		return out
	}
	b := rows(base)
	return rs, b, rows(cand)
}

// compareSides is Sides over the rows of each side in rs.
func compareSides(baseRuns, candRuns []model.EvaluationRun, rs *samples.Results, baseRows, candRows []int32, opt Options) Report {
	opt = opt.withDefaults()
	r := Report{BaseRuns: len(baseRuns), CandRuns: len(candRuns), Method: opt.Test,
		BaseScore: meanScore(baseRuns), CandScore: meanScore(candRuns)}
	r.Warnings = sideWarnings(baseRuns, candRuns)
	base, cand := newSide(rs, baseRows), newSide(rs, candRows)
	base = onPackagesOf(base, cand)
	if selected(baseRuns) || selected(candRuns) {
		base, cand = common(base, cand)
		r.BaseScore, r.CandScore = base.meanScore(), cand.meanScore()
		r.Warnings = append(r.Warnings, "a side ran some tests only (go test -run): compared on the tests both ran, scores too")
	}
	// A result go test served from its cache says the test ran and how it
	// ended (as it did when last run fresh), so it counts for the test
	// set and for statuses; it is no new sample of a metric.
	bc, cc := base.cached(), cand.cached()
	r.Cached = bc + cc
	if r.Cached > 0 {
		// Say which side: a candidate run with -count=1 is often compared
		// with a history that was not.
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d test results (%d of the base, %d of the candidate) were served from go test's cache and are left out of the samples: run with -count=1 for fresh ones", r.Cached, bc, cc))
	}

	byID := testsByID(rs)
	bs, cs := base.samples(opt.Durations), cand.samples(opt.Durations)
	ch := statusChanges(base, cand, byID)
	r.NewTests, r.RemovedTests, r.NewlyFailing, r.Fixed, r.Renamed = ch.added, ch.removed, ch.broke, ch.fixed, ch.renamed
	if len(r.NewTests)+len(r.RemovedTests) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("dataset inconsistency: the sides differ in their test set (%d new, %d removed)",
			len(r.NewTests), len(r.RemovedTests)))
	}
	var pairs, benches []pair
	for _, t := range byID {
		if !base.ran(t) || !cand.ran(t) {
			continue
		}
		id := rs.Tests[t].TestID
		if bm, cm := rs.Method(int(base.last[t])), rs.Method(int(cand.last[t])); bm != cm {
			r.Warnings = append(r.Warnings, fmt.Sprintf("scoring inconsistency: %s is scored by %s in base and %s in candidate", id, bm, cm))
		}
		b, c := bs[t], cs[t]
		if b == nil || c == nil {
			continue
		}
		for _, metric := range slices.Sorted(maps.Keys(c.values)) {
			if bv, ok := b.values[metric]; ok {
				p := pair{id: id, metric: metric, dir: c.dirs[metric], known: !c.assumed[metric], b: bv, c: c.values[metric],
					bPassed: b.passed[metric], cPassed: c.passed[metric]}
				if c.bench {
					benches = append(benches, p)
					continue
				}
				pairs = append(pairs, p)
			}
		}
	}
	rule := "moderated t"
	switch opt.Test {
	case MannWhitney:
		r.Findings, rule = mannWhitney(pairs, opt), "mann-whitney"
	default:
		r.Findings, r.NeedRuns = moderatedT(pairs, opt.Alpha, opt.Test != GaussianT)
	}
	for i := range r.Findings {
		r.Findings[i].Rule = rule
		if f := &r.Findings[i]; f.Verdict == TooFewRuns && f.TestID == pairs[i].id && f.Metric == pairs[i].metric {
			byThreshold(f, pairs[i]) // findings are in the pairs' order until sorted below
		}
	}
	r.Findings = append(r.Findings, benchmarkVerdicts(benches)...)
	for i := range r.Findings {
		if f := &r.Findings[i]; f.Metric == DurationMetric && math.Abs(f.Delta()) < MinDurationChange && f.Verdict != TooFewRuns {
			f.Verdict = Unchanged
		}
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Compare(rank(a.Verdict), rank(b.Verdict))
	})
	return r
}

// selected reports whether a run of the side ran some tests only.
func selected(runs []model.EvaluationRun) bool {
	return slices.ContainsFunc(runs, func(r model.EvaluationRun) bool { return r.TestsSelected })
}

// pair is one test's metric on both sides.
type pair struct {
	id, metric string
	dir        scoring.Direction
	known      bool
	b, c       []float64
	// bPassed and cPassed are the samples' passes against the metric's
	// declared threshold, when it has one.
	bPassed, cPassed []bool
}

func (p pair) finding() Finding {
	return Finding{TestID: p.id, Metric: p.metric, Direction: p.dir.String(), DirectionKnown: p.known,
		Base: stats.Mean(p.b), Cand: stats.Mean(p.c), N1: len(p.b), N2: len(p.c)}
}

// moderatedT runs the default method, and returns the findings and the
// runs per side a 5σ change would need, when more than there are.
func moderatedT(pairs []pair, alpha float64, calibrated bool) ([]Finding, int) {
	fs := make([]Finding, len(pairs))
	s2 := make([]float64, len(pairs))
	d := make([]float64, len(pairs))
	groups := map[string][]int{}
	for i, p := range pairs {
		fs[i] = p.finding()
		s2[i], d[i] = pooledVariance(p.b, p.c)
		groups[p.metric] = append(groups[p.metric], i)
	}
	priors := map[string]prior{}
	for metric, idx := range groups {
		var gs, gd []float64
		for _, i := range idx {
			gs, gd = append(gs, s2[i]), append(gd, d[i])
		}
		priors[metric] = fitPrior(gs, gd)
	}
	// worseStat is a test's statistic, positive when the candidate is
	// worse, for any labelling of its samples.
	worseStat := func(i int) nullStatistic {
		p := pairs[i]
		return func(pooled []float64, nb int) (float64, bool) {
			b, c := pooled[:nb], pooled[nb:]
			s2, d := pooledVariance(b, c)
			v, _, ok := priors[p.metric].moderate(s2, d)
			if !ok || v == 0 {
				return 0, false
			}
			t := (stats.Mean(c) - stats.Mean(b)) / math.Sqrt(v*(1/float64(len(b))+1/float64(len(c))))
			if p.dir == scoring.HigherIsBetter {
				t = -t
			}
			return t, true
		}
	}
	var tested []int
	var dfs []float64
	worse := make([]float64, len(pairs)) // one-sided p-values of a change for the worse
	better := make([]float64, len(pairs))
	stats := make([]float64, len(pairs))
	dfOf := make([]float64, len(pairs))
	var exact []int // tests judged by their own labellings (see below)
	isExact := make([]bool, len(pairs))
	for i, p := range pairs {
		f := &fs[i]
		if f.Delta() == 0 {
			f.Verdict = Unchanged // identical, or ties: no change to test
			continue
		}
		v, df, ok := priors[p.metric].moderate(s2[i], d[i])
		switch {
		case !ok:
			f.Verdict, f.Note = TooFewRuns, "one run a side and no other test to learn the noise from: need ≥ 2 runs on a side"
		case v == 0:
			// Constant sides that differ, in a metric no test of the
			// suite shows noise in: a certain change.
			f.Significant, f.Note = true, "both sides constant"
			f.Verdict = worseOrBetter(f.Delta(), p.dir)
		case calibrated && len(p.c) == 1 && distinctValues(p.b) <= 2:
			// A history of one or two values (a count of rare events,
			// a pass or fail) tells little of the test's noise, and
			// borrowing the suite's would call a count that is usually
			// 0 and once 1 a change. Only the test's own labellings
			// judge one run against it: the newest of 11 runs is the
			// odd one out by chance once in 11.
			exact, isExact[i] = append(exact, i), true
			tested = append(tested, i)
			dfs = append(dfs, df)
		default:
			t, _ := worseStat(i)(append(slices.Clone(p.b), p.c...), len(p.b))
			stats[i], dfOf[i] = t, df
			tested = append(tested, i)
			dfs = append(dfs, df)
		}
	}
	// The reference distributions of the statistic for the worse and the
	// better direction, from the suite's own permutation null (see
	// calibrate.go); with too few tests to fit, Student's t at the
	// moderated degrees of freedom.
	var params []int
	for _, i := range tested {
		if !isExact[i] {
			params = append(params, i)
		}
	}
	// Per metric, as the prior is: a count of errors and a WER have
	// nulls of different shapes, and a metric with too few tests to fit
	// one of its own shares the pool of all such metrics.
	fallback := reference{scale: 1}
	refs := map[string][2]reference{} // worse, better
	if calibrated {
		byMetric := map[string][]int{}
		for _, i := range params {
			byMetric[pairs[i].metric] = append(byMetric[pairs[i].metric], i)
		}
		nulls := map[string][]float64{}
		var small []float64
		for metric, idx := range byMetric {
			null := permutationNull(len(idx), func(k int) ([]float64, []float64) { return pairs[idx[k]].b, pairs[idx[k]].c },
				func(k int) nullStatistic { return worseStat(idx[k]) })
			if len(null) >= minNull {
				nulls[metric] = null
			} else {
				small = append(small, null...)
			}
		}
		for metric := range byMetric {
			null, ok := nulls[metric]
			if !ok {
				null = small
			}
			refs[metric] = [2]reference{fitTail(slices.Clone(null), fallback), fitTail(negated(null), fallback)}
		}
	}
	refOf := func(metric string) [2]reference {
		if r, ok := refs[metric]; ok {
			return r
		}
		return [2]reference{fallback, fallback}
	}
	for _, i := range tested {
		if isExact[i] {
			continue
		}
		r := refOf(pairs[i].metric)
		worse[i], better[i] = r[0].upper(stats[i], dfOf[i]), r[1].upper(-stats[i], dfOf[i])
	}
	for _, i := range exact {
		worse[i], better[i] = exactP(pairs[i], worseStat(i))
	}
	for _, i := range tested {
		pv := min(better[i], worse[i])
		fs[i].P = &pv
		fs[i].Verdict = Unchanged
	}
	// Regressions and improvements are two one-sided families over every
	// tested comparison, each held at alpha by Holm's procedure: the gate's
	// false alarms are false regressions.
	for _, fam := range []struct {
		p       []float64
		verdict string
	}{{worse, Regression}, {better, Improvement}} {
		for _, i := range holmRejects(tested, fam.p, alpha) {
			fs[i].Significant, fs[i].Verdict = true, fam.verdict
		}
	}
	var first reference
	if len(tested) > 0 {
		first = refOf(pairs[tested[0]].metric)[0]
	}
	need := neededRuns(tested, dfs, fs, alpha, first)
	if need > 0 {
		for _, i := range tested {
			if !fs[i].Significant {
				fs[i].Verdict = TooFewRuns
			}
		}
	}
	for _, i := range exact {
		if f := &fs[i]; !f.Significant && *f.P > alpha {
			f.Verdict, f.Note = TooFewRuns, fmt.Sprintf("its history holds %d value(s): the newest of %d runs is the odd one out by chance once in %d; run more candidate runs", distinctValues(pairs[i].b), len(pairs[i].b)+1, len(pairs[i].b)+1)
		}
	}
	return fs, need
}

// distinctValues counts the distinct values.
func distinctValues(xs []float64) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return len(slices.Compact(s))
}

func negated(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = -x
	}
	return out
}

// exactP is a test's permutation p-values, worse and better, for one
// candidate sample: the share of its nb+1 labellings (each sample as the
// candidate in turn) whose statistic is at least, or at most, the
// observed one. A labelling with no statistic (both sides constant) ranks
// by the difference of the sides' means.
func exactP(p pair, f nullStatistic) (worse, better float64) {
	pooled := append(slices.Clone(p.b), p.c...)
	nb := len(p.b)
	score := func(xs []float64) float64 {
		if t, ok := f(xs, nb); ok {
			return t
		}
		d := stats.Mean(xs[nb:]) - stats.Mean(xs[:nb])
		if p.dir == scoring.HigherIsBetter {
			d = -d
		}
		switch {
		case d > 0:
			return math.Inf(1)
		case d < 0:
			return math.Inf(-1)
		}
		return 0
	}
	obs := score(pooled)
	var n, ge, le float64
	for _, lab := range allLabellings(nb, len(p.c)) {
		s := score(relabel(pooled, lab, nb))
		n++
		if s >= obs {
			ge++
		}
		if s <= obs {
			le++
		}
	}
	return ge / n, le / n
}

// upperTail is P(T ≥ t) for t with df degrees of freedom.
func upperTail(t, df float64) float64 {
	if math.IsInf(df, 1) || df > 1e6 {
		return stats.NormalDist{Mu: 0, Sigma: 1}.CDF(-t)
	}
	return stats.TDist{V: df}.CDF(-t)
}

// holmRejects applies Holm's step-down procedure to the p-values of the
// tested indices and returns those it rejects.
func holmRejects(tested []int, p []float64, alpha float64) []int {
	sorted := slices.Clone(tested)
	slices.SortStableFunc(sorted, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	m := len(sorted)
	var out []int
	for i, idx := range sorted {
		if p[idx] > alpha/float64(m-i) {
			break
		}
		out = append(out, idx)
	}
	return out
}

// neededRuns is the fewest runs a side, equal on both, with which a change
// of five standard deviations would reach Holm's first threshold among m
// comparisons; 0 when the sides at hand already get there.
func neededRuns(tested []int, dfs []float64, fs []Finding, alpha float64, ref reference) int {
	m := float64(len(tested))
	if m == 0 {
		return 0
	}
	first := alpha / m
	enough := func(n1, n2 int, df float64) bool {
		if ref.calibrated {
			df = ref.df
		}
		return upperTail(5/math.Sqrt(1/float64(n1)+1/float64(n2))/ref.scale, df) <= first
	}
	i := tested[0]
	if enough(fs[i].N1, fs[i].N2, dfs[0]) {
		return 0
	}
	extra := dfs[0] - float64(fs[i].N1+fs[i].N2-2) // what the prior adds
	for n := 2; n <= 1000; n++ {
		if enough(n, n, extra+float64(2*n-2)) {
			return n
		}
	}
	return 1000
}

// pooledVariance is the two samples' pooled variance and its degrees of
// freedom, n1 + n2 − 2.
func pooledVariance(a, b []float64) (float64, float64) {
	var ss float64
	for _, xs := range [][]float64{a, b} {
		m := stats.Mean(xs)
		for _, x := range xs {
			ss += (x - m) * (x - m)
		}
	}
	d := float64(len(a) + len(b) - 2)
	if d <= 0 {
		return 0, 0
	}
	return ss / d, d
}

// byThreshold decides a finding the sides have too few runs to test, when
// its metric declares a threshold: every base sample passed it and the
// candidate's newest failed is a regression, the reverse an improvement.
// This is the declared rule, not a statistical verdict, and Rule says so.
func byThreshold(f *Finding, p pair) {
	if len(p.bPassed) == 0 || len(p.cPassed) == 0 {
		return
	}
	all := func(bs []bool, v bool) bool {
		for _, b := range bs {
			if b != v {
				return false
			}
		}
		return true
	}
	cand := p.cPassed[len(p.cPassed)-1]
	switch {
	case all(p.bPassed, true) && !cand:
		f.Verdict, f.Rule = Regression, "threshold"
	case all(p.bPassed, false) && cand:
		f.Verdict, f.Rule = Improvement, "threshold"
	}
}

// benchmarkVerdicts judges each benchmark and unit on its own, as
// benchstat does: benchmath's Mann–Whitney U test (AssumeNothing) at
// alpha 0.05, with the medians as the sides' values. Benchmarks are not
// pooled with the suite's metrics, nor with each other, nor corrected
// across: a throughput (B/s) and a time (sec/op) of the same samples rank
// them alike and so get the same verdict.
func benchmarkVerdicts(pairs []pair) []Finding {
	fs := make([]Finding, 0, len(pairs))
	for _, p := range pairs {
		f := p.finding()
		f.Rule = "benchstat"
		bs := benchmath.NewSample(slices.Clone(p.b), &benchmath.DefaultThresholds)
		cs := benchmath.NewSample(slices.Clone(p.c), &benchmath.DefaultThresholds)
		f.Base, f.Cand = median(p.b), median(p.c)
		f.Verdict = Unchanged
		if f.N1 < 2 || f.N2 < 2 {
			f.Verdict = TooFewRuns
			fs = append(fs, f)
			continue
		}
		c := benchmath.AssumeNothing.Compare(bs, cs)
		pv := c.P
		f.P = &pv
		if c.P < c.Alpha && f.Delta() != 0 {
			f.Significant = true
			f.Verdict = worseOrBetter(f.Delta(), directionOf(f.Direction))
		}
		fs = append(fs, f)
	}
	return fs
}

// mannWhitney is the first version's method.
func mannWhitney(pairs []pair, opt Options) []Finding {
	fs := make([]Finding, len(pairs))
	var tested []int
	for i, p := range pairs {
		f := p.finding()
		f.Base, f.Cand = median(p.b), median(p.c)
		if f.N1 >= 2 && f.N2 >= 2 {
			c := benchmath.AssumeNothing.Compare(
				benchmath.NewSample(slices.Clone(p.b), &benchmath.DefaultThresholds),
				benchmath.NewSample(slices.Clone(p.c), &benchmath.DefaultThresholds))
			pv := c.P
			f.P = &pv
			tested = append(tested, i)
		} else {
			f.Verdict = toleranceVerdict(f, p.dir, opt.Tolerance)
		}
		fs[i] = f
	}
	holm(fs, tested, opt.Alpha)
	return fs
}

func rank(verdict string) int {
	switch verdict {
	case Regression:
		return 0
	case Improvement:
		return 1
	case TooFewRuns:
		return 2
	}
	return 3
}

// holm applies the Holm–Bonferroni step-down procedure (holmRejects) to
// the tested findings' p-values, and gives each its verdict. A significant
// finding with no change (a tie) is still unchanged.
func holm(fs []Finding, tested []int, alpha float64) {
	p := make([]float64, len(fs))
	for _, idx := range tested {
		p[idx] = *fs[idx].P
	}
	for _, idx := range holmRejects(tested, p, alpha) {
		fs[idx].Significant = true
	}
	for _, idx := range tested {
		f := &fs[idx]
		f.Verdict = Unchanged
		if f.Significant && f.Delta() != 0 {
			f.Verdict = worseOrBetter(f.Delta(), directionOf(f.Direction))
		}
	}
}

func toleranceVerdict(f Finding, dir scoring.Direction, tol float64) string {
	d := f.Delta()
	if d == 0 {
		return Unchanged
	}
	rel := math.Inf(1)
	if f.Base != 0 {
		rel = math.Abs(d / f.Base)
	}
	if rel <= tol {
		return Unchanged
	}
	return worseOrBetter(d, dir)
}

func worseOrBetter(delta float64, dir scoring.Direction) string {
	if (delta < 0) == (dir == scoring.HigherIsBetter) {
		return Regression
	}
	return Improvement
}

func directionOf(s string) scoring.Direction {
	d, _ := scoring.ParseDirection(s)
	return d
}

type testSamples struct {
	// passed is each metric's pass against its declared threshold, per
	// sample, where one was declared.
	passed  map[string][]bool
	values  map[string][]float64
	dirs    map[string]scoring.Direction
	assumed map[string]bool
	bench   bool // a benchmark: judged as benchstat does (see benchmarkVerdicts)
}

// DurationMetric is the name a test's duration is compared under.
const DurationMetric = "duration"

// MinDurationChange is the smallest change of a duration, in ms, that
// counts (see Options.Durations).
const MinDurationChange = 100.0

// sideWarnings says when the sides differ in project, environment or
// system: their results may differ for that reason alone.
func sideWarnings(base, cand []model.EvaluationRun) []string {
	var out []string
	for _, field := range []struct {
		name string
		get  func(model.EvaluationRun) string
	}{
		{"project", func(r model.EvaluationRun) string { return r.Project }},
		{"environment", func(r model.EvaluationRun) string { return r.Environment }},
		{"system", func(r model.EvaluationRun) string { return short(r.SystemInfoHash) }},
	} {
		b, c := distinct(base, field.get), distinct(cand, field.get)
		if !slices.Equal(b, c) {
			out = append(out, fmt.Sprintf("the sides differ in %s: base %s, candidate %s", field.name, strings.Join(b, ", "), strings.Join(c, ", ")))
		}
	}
	return out
}

func distinct(runs []model.EvaluationRun, get func(model.EvaluationRun) string) []string {
	var out []string
	for _, r := range runs {
		out = append(out, get(r))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func short(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}

// meanScore is the mean run score of a side, or nil when no run has one.
func meanScore(runs []model.EvaluationRun) *float64 {
	return meanOf(slices.Values(runs), func(r model.EvaluationRun) (float64, bool) {
		if r.Score == nil {
			return 0, false
		}
		return *r.Score, true
	})
}

// meanOf is the mean of the scores items have, or nil when none has one.
func meanOf[T any](items iter.Seq[T], score func(T) (float64, bool)) *float64 {
	var sum float64
	n := 0
	for it := range items {
		if s, ok := score(it); ok {
			sum += s
			n++
		}
	}
	if n == 0 {
		return nil
	}
	m := sum / float64(n)
	return &m
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
