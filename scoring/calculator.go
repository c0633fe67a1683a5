package scoring

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// A Calculator combines the scored metrics of one test into the test's score.
// It receives the results sorted by name and must not keep or modify them.
// ok is false when the calculator has nothing to score (for example pass_rate
// with no thresholds); the test then has no score.
type Calculator interface {
	Score(results []Result) (score float64, ok bool)
}

// CalculatorFunc adapts a function to a Calculator.
type CalculatorFunc func(results []Result) (float64, bool)

// Score calls f.
func (f CalculatorFunc) Score(results []Result) (float64, bool) { return f(results) }

// Names of the built-in calculators.
const (
	Average  = "average"
	Weighted = "weighted"
	Min      = "min"
	PassRate = "pass_rate"
)

// Registry maps calculator names to calculators. It is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	calcs map[string]Calculator
}

// NewRegistry returns a registry holding the built-in calculators.
func NewRegistry() *Registry {
	r := &Registry{calcs: map[string]Calculator{}}
	r.calcs[Average] = CalculatorFunc(average)
	r.calcs[Weighted] = CalculatorFunc(weighted)
	r.calcs[Min] = CalculatorFunc(minimum)
	r.calcs[PassRate] = CalculatorFunc(passRate)
	return r
}

// Default is the registry used when none is given. Suites register their own
// calculators here, typically from TestMain or an init function.
var Default = NewRegistry()

// Register adds or replaces the calculator called name.
func (r *Registry) Register(name string, c Calculator) {
	if name == "" || c == nil {
		panic("scoring: Register needs a name and a calculator")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calcs[name] = c
}

// Lookup returns the calculator called name.
func (r *Registry) Lookup(name string) (Calculator, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c, ok := r.calcs[name]; ok {
		return c, nil
	}
	names := make([]string, 0, len(r.calcs))
	for n := range r.calcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("scoring: unknown score method %q (registered: %s)", name, strings.Join(names, ", "))
}

// Score runs the calculator called method over results. It sorts a copy of
// results by name first, so the score does not depend on their order, and
// clamps the outcome to [0, 100].
func (r *Registry) Score(method string, results []Result) (float64, bool, error) {
	c, err := r.Lookup(method)
	if err != nil {
		return 0, false, err
	}
	sorted := slices.Clone(results)
	slices.SortFunc(sorted, func(a, b Result) int { return strings.Compare(a.Name, b.Name) })
	s, ok := c.Score(sorted)
	if !ok {
		return 0, false, nil
	}
	return clamp(s), true, nil
}

func average(rs []Result) (float64, bool) {
	if len(rs) == 0 {
		return 0, false
	}
	var sum float64
	for _, r := range rs {
		sum += r.Score
	}
	return sum / float64(len(rs)), true
}

func weighted(rs []Result) (float64, bool) {
	var sum, weights float64
	for _, r := range rs {
		w := r.Weight
		if w <= 0 {
			w = 1
		}
		sum += w * r.Score
		weights += w
	}
	if weights == 0 {
		return 0, false
	}
	return sum / weights, true
}

func minimum(rs []Result) (float64, bool) {
	if len(rs) == 0 {
		return 0, false
	}
	m := rs[0].Score
	for _, r := range rs[1:] {
		m = min(m, r.Score)
	}
	return m, true
}

func passRate(rs []Result) (float64, bool) {
	var judged, passed int
	for _, r := range rs {
		if r.Passed == nil {
			continue
		}
		judged++
		if *r.Passed {
			passed++
		}
	}
	if judged == 0 {
		return 0, false
	}
	return 100 * float64(passed) / float64(judged), true
}
