package compare

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/combin"
)

// The moderated t statistic is referred to Student's t, which assumes
// normal noise. Evaluation metrics are often not normal: heavy-tailed (a
// judge that is sometimes far off), bimodal (an answer right or wrong),
// discrete. Across a wide suite, the family-wise threshold lies far in the
// tail (at 1,000 tests, one-sided p = 5e-5), and there a t3 noise gives
// values a Gaussian null calls impossible: measured on generated suites,
// one run against a 10-run history of 1,000 tests raised a false alarm in
// 93% of unchanged comparisons.
//
// So the gate learns the statistic's null distribution from the suite
// itself. Under no change, the runs of a test are exchangeable: relabelling
// which samples are the candidate gives the statistic's permutation
// distribution. Pooled across the tests of each metric, as the prior is
// (hundreds to hundreds of thousands of values), its upper tail is fitted
// by a scaled Student t (see fitTail). Holm's thresholds lie further out than a pool of a few
// hundred values reaches; the fitted t carries the pool's tail there. A
// suite whose tail is normal keeps the moderated t's own reference; a
// heavy-tailed one fits a small ν, and its threshold moves out with it.
//
// A permutation test alone cannot do this at the defaults: one run
// against ten has 11 labellings, so no p-value under 1/11.

// reference is the distribution the statistics are referred to.
type reference struct {
	scale float64
	df    float64 // +Inf: normal
	// calibrated is true when the suite's own null fitted it.
	calibrated bool
	// extreme, when set, is a second fit, to the pool's farthest values
	// (see extremeFit); a p-value is the larger of the two.
	extreme *reference
}

// upper is P(T ≥ t) under r; an uncalibrated reference is Student's t
// at the test's own moderated degrees of freedom.
func (r reference) upper(t, ownDF float64) float64 {
	p := upperTail(t, ownDF)
	if r.calibrated {
		p = upperTail(t/r.scale, r.df)
	}
	if r.extreme != nil {
		p = max(p, r.extreme.upper(t, ownDF))
	}
	return p
}

// Calibration limits.
const (
	// minNull is the fewest pooled null statistics to fit a tail to;
	// below it (a suite of a few tests), the moderated t's own reference
	// is used.
	minNull = 200
	// maxNull bounds the pooled statistics, and so the work, on wide
	// suites.
	maxNull = 200_000
	// labellings is how many relabellings of each test are drawn when
	// there are more than that many.
	labellings = 20
)

// nullStatistic computes a test's statistic for one relabelling of its
// pooled samples: the first nb are the base side.
type nullStatistic func(pooled []float64, nb int) (t float64, ok bool)

// permutationNull pools the statistics of n tests under relabellings of
// their samples: every labelling but the observed one where there are at
// most 20 (one run against a history has one per run), 20 drawn
// otherwise, fewer a test on very wide suites. The observed labelling is
// left out so that a test that did change does not thicken the tail it is
// judged against.
func permutationNull(n int, samples func(i int) (b, c []float64), stat func(i int) nullStatistic) []float64 {
	rng := rand.New(rand.NewPCG(0x5eed, 18)) // fixed: a comparison is reproducible
	perTest := labellings
	if n > 0 && n*perTest > maxNull {
		perTest = max(2, maxNull/n)
	}
	all := map[[2]int][][]int{}
	var null, pooled []float64
	for i := range n {
		b, c := samples(i)
		nb, nc := len(b), len(c)
		pooled = append(append(pooled[:0], b...), c...)
		f := stat(i)
		if nc == 1 || combin.GeneralizedBinomial(float64(nb+nc), float64(nc)) <= float64(labellings) {
			labs, ok := all[[2]int{nb, nc}]
			if !ok {
				labs = allLabellings(nb, nc)
				all[[2]int{nb, nc}] = labs
			}
			for _, lab := range labs[:len(labs)-1] { // the last is the observed one
				if t, ok := f(relabel(pooled, lab, nb), nb); ok {
					null = append(null, t)
				}
			}
			continue
		}
		for range perTest {
			shuffled := slices.Clone(pooled)
			rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			if t, ok := f(shuffled, nb); ok {
				null = append(null, t)
			}
		}
	}
	return null
}

// fitTail fits a scaled Student t to the upper tail of the null sample:
// the k values above u, its (1 − k/M) quantile. The scale is tied to u
// (P(T > u) = k/M), and the degrees of freedom maximise the likelihood of
// the values above u given that they are above it, over a grid from 0.5
// to 1,000 and ∞ (normal). The body does not pull the fit: only the tail
// is extrapolated.
func fitTail(null []float64, fallback reference) reference {
	if len(null) < minNull {
		return fallback
	}
	slices.Sort(null)
	r := fitBody(null, fallback)
	r.extreme = extremeFit(null)
	return r
}

// extremeFit fits a scaled Student t through two of the pool's upper
// order statistics, its 10th largest value and its 0.98 quantile: the
// values nearest Holm's thresholds that the pool holds. The body's fit
// (fitBody) weighs the hundreds of values just above its anchor, and
// misses a tail that turns heavy only further out, as the moderated t of
// 3 runs against 3 under t3 noise does (measured: 6.7 at the pool's
// 0.9999 quantile, where the body's fit put 4.1). Nil when the pool has
// no such tail, or is too small for the two to differ.
func extremeFit(sorted []float64) *reference {
	m := len(sorted)
	k1, k2 := m/50, 10
	if k1 <= 2*k2 {
		return nil
	}
	u, x := sorted[m-1-k1], sorted[m-1-k2]
	if u <= 0 || x <= u {
		return nil
	}
	p1, p2 := float64(k1)/float64(m), float64(k2)/float64(m)
	ratio := func(df float64) float64 { return quantile(df, 1-p2) / quantile(df, 1-p1) }
	if x/u <= ratio(math.Inf(1)) {
		return nil // no heavier than normal out there
	}
	// ratio falls as df rises: bisect on log df within [0.5, 1000].
	lo, hi := math.Log(0.5), math.Log(1000)
	for range 40 {
		mid := (lo + hi) / 2
		if ratio(math.Exp(mid)) > x/u {
			lo = mid
		} else {
			hi = mid
		}
	}
	df := math.Exp(lo)
	return &reference{scale: u / quantile(df, 1-p1), df: df, calibrated: true}
}

// fitBody is fitTail's fit to the pool's upper tail, sorted.
func fitBody(null []float64, fallback reference) reference {
	m := len(null)
	// The tail: the top 10% of a small pool, the top 2% (but 200 values
	// at least) of a large one, so that the fit sees as far out as the
	// pool reliably reaches.
	k := max(min(m/10, 200), m/50)
	p := float64(k) / float64(m)
	u := null[m-1-k]
	if u <= 0 {
		return fallback
	}
	tail := null[m-k:]
	qs := make([]float64, len(dfGrid))
	for i, df := range dfGrid {
		qs[i] = quantile(df, 1-p)
	}
	fit := func(k int) (reference, float64) {
		df := dfGrid[k]
		scale := u / qs[k]
		ll := float64(len(tail)) * (logPDFConst(df) - math.Log(scale))
		for _, x := range tail {
			ll += logPDFKernel(df, x/scale)
		}
		return reference{scale: scale, df: df, calibrated: true}, ll
	}
	normal, normalLL := fit(len(dfGrid) - 1)
	bestLL := normalLL
	lls := make([]float64, len(dfGrid)-1)
	for k := range lls {
		_, lls[k] = fit(k)
		bestLL = max(bestLL, lls[k])
	}
	// The normal tail stays unless the heavier one is clearly more likely
	// (a likelihood-ratio test at 1%, one-sided, as ν = ∞ is the
	// boundary): a fit that chases the noise of a few dozen tail values
	// would move the threshold out and lose detection for nothing. Then
	// the moderated t's own reference stands, unless the pool says its
	// scale is too small by more than twice the standard error of u
	// (relative, 1.34/√M at the 0.9 quantile): the scale that the pool
	// gives is itself that uncertain, and at Holm's thresholds a 6% error
	// doubles the false alarms.
	if 2*(bestLL-normalLL) < 5.41 {
		z := qs[len(qs)-1]
		se := math.Sqrt(p*(1-p)/float64(m)) / (math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) * z)
		if normal.scale > 1+2*se {
			return normal
		}
		return fallback
	}
	// A heavier tail: the heaviest within the fit's one-sided 99%
	// likelihood interval, for the same reason. The most likely one is
	// in it, so the loop returns.
	j := 0
	for 2*(bestLL-lls[j]) >= 5.41 {
		j++
	}
	r, _ := fit(j)
	return r
}

// dfGrid is the degrees of freedom fitTail chooses among: log-spaced from
// 0.5 to 1,000, and ∞.
var dfGrid = func() []float64 {
	var out []float64
	for i := range 81 {
		out = append(out, 0.5*math.Pow(2000, float64(i)/80))
	}
	return append(out, math.Inf(1))
}()

// quantile is Student's t's (the normal's at df ∞) quantile at p, as
// gonum's distuv computes it: from the inverse of the regularized
// incomplete beta function, since F(t) = 1 − I(df/df+t², df/2, 1/2)/2
// for t > 0. distuv itself would link gonum's matrices into the CLI.
func quantile(df, p float64) float64 {
	switch {
	case math.IsInf(df, 1):
		return mathext.NormalQuantile(p)
	case p == 0.5:
		return 0
	case p > 0.5:
		x := mathext.InvRegIncBeta(df/2, 0.5, 2*(1-p))
		return math.Sqrt(df * (1 - x) / x)
	}
	x := mathext.InvRegIncBeta(df/2, 0.5, 2*p)
	return -math.Sqrt(df * (1 - x) / x)
}

// The log density of Student's t (the normal's at df ∞) is
// logPDFConst(df) + logPDFKernel(df, x): split, where distuv's LogProb
// is not, so that a fit over thousands of tail values computes the
// constant's two log-gammas once per df.
func logPDFConst(df float64) float64 {
	if math.IsInf(df, 1) {
		return -0.5 * math.Log(2*math.Pi)
	}
	lg1, _ := math.Lgamma((df + 1) / 2)
	lg2, _ := math.Lgamma(df / 2)
	return lg1 - lg2 - 0.5*math.Log(df*math.Pi)
}

func logPDFKernel(df, x float64) float64 {
	if math.IsInf(df, 1) {
		return -x * x / 2
	}
	return -(df + 1) / 2 * math.Log1p(x*x/df)
}

// allLabellings lists, for nb base and nc candidate samples, every choice
// of the candidate's positions among nb+nc (as index lists).
func allLabellings(nb, nc int) [][]int {
	var out [][]int
	var pick func(start int, chosen []int)
	pick = func(start int, chosen []int) {
		if len(chosen) == nc {
			out = append(out, slices.Clone(chosen))
			return
		}
		for i := start; i <= nb+nc-(nc-len(chosen)); i++ {
			pick(i+1, append(chosen, i))
		}
	}
	pick(0, nil)
	return out
}

// relabel returns pooled reordered so that the positions in cand come
// last, the others first, each in their order.
func relabel(pooled []float64, cand []int, nb int) []float64 {
	out := make([]float64, 0, len(pooled))
	in := make([]bool, len(pooled))
	for _, i := range cand {
		in[i] = true
	}
	for i, v := range pooled {
		if !in[i] {
			out = append(out, v)
		}
	}
	for _, i := range cand {
		out = append(out, pooled[i])
	}
	return out
}
