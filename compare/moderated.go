package compare

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// The gate's test is a two-sample t-test whose variance is moderated across
// the suite, as limma does for many genes measured a few times (Smyth 2004,
// "Linear models and empirical Bayes methods for assessing differential
// expression", section 6.2).
//
// An evaluation suite compares many tests on few runs a side. A t-test on
// each test's own few samples cannot reach significance once the Holm
// family holds hundreds of comparisons: at 1 run against a 10-run history
// its variance has 9 degrees of freedom, and a 5σ change gives a one-sided
// p ≈ 0.0005, twice the 0.00025 that 200 comparisons need. Treating the history's
// standard deviation as exact would reach it, but would also raise a false
// alarm in most unchanged runs.
//
// The metrics of one name across a suite's tests carry information about
// each other's noise. The prior fitted to their variances (d0 degrees of
// freedom around a typical variance s0²) is added to each test's own
// estimate: when the suite's tests vary alike, d0 is large and each test
// gains the precision of all of them; when they vary differently, d0 is
// small and each test stands on its own. Assumptions, named: the samples
// are normal and independent within a side, and each test's variance is
// drawn from a scaled inverse chi-square distribution common to its metric.

// prior is the fitted distribution of variances of one metric.
type prior struct {
	d0  float64 // +Inf: the variances are equal up to chance
	s02 float64
}

// fitPrior fits d0 and s0² to variances s2 with degrees of freedom d, by
// moments of their logarithms. Fewer than three usable variances fit no
// prior (d0 = 0).
func fitPrior(s2, d []float64) prior {
	var es, ds []float64
	for i := range s2 {
		if s2[i] > 0 && d[i] >= 1 {
			es = append(es, math.Log(s2[i])-mathext.Digamma(d[i]/2)+math.Log(d[i]/2))
			ds = append(ds, d[i])
		}
	}
	g := float64(len(es))
	if g < 3 {
		return prior{}
	}
	var mean float64
	for _, e := range es {
		mean += e
	}
	mean /= g
	var spread, tri float64
	for i, e := range es {
		spread += (e - mean) * (e - mean)
		tri += trigamma(ds[i] / 2)
	}
	// What the log variances vary by beyond the sampling of each: their
	// true spread. At zero or below, nothing tells them apart, and they are
	// taken as equal. (Taking them as equal up to two standard errors above
	// zero, tried, gained 1.5 points of detection at 1 run against 10, and
	// raised false alarms to 7–8% when the tests' noise differed by ±20%.)
	excess := spread/(g-1) - tri/g
	if excess <= 0 {
		return prior{d0: math.Inf(1), s02: math.Exp(mean)}
	}
	d0 := 2 * trigammaInverse(excess)
	return prior{d0: d0, s02: math.Exp(mean + mathext.Digamma(d0/2) - math.Log(d0/2))}
}

// moderate combines a test's own variance s2 (with d degrees of freedom)
// with the prior; it returns the variance and its degrees of freedom, or
// ok false when there is neither.
func (p prior) moderate(s2, d float64) (variance, df float64, ok bool) {
	switch {
	case math.IsInf(p.d0, 1):
		return p.s02, math.Inf(1), true
	case p.d0+d <= 0:
		return 0, 0, false
	}
	return (p.d0*p.s02 + d*s2) / (p.d0 + d), p.d0 + d, true
}

// trigamma is the second derivative of log Γ: the Hurwitz zeta ζ(2, x).
func trigamma(x float64) float64 { return mathext.Zeta(2, x) }

// trigammaInverse solves trigamma(x) = y for x > 0 by Newton's method, as
// limma does.
func trigammaInverse(y float64) float64 {
	switch {
	case y > 1e7:
		return 1 / math.Sqrt(y)
	case y < 1e-6:
		return 1 / y
	}
	x := 0.5 + 1/y
	for range 50 {
		tri := trigamma(x)
		tetra := -2 * mathext.Zeta(3, x)
		dif := tri * (1 - tri/y) / tetra
		x += dif
		if -dif/x < 1e-8 {
			break
		}
	}
	return x
}
