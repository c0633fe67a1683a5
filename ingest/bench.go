package ingest

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"evalrec.dev/result"
	"evalrec.dev/scoring"
)

// maxBenchText bounds the benchmark output kept per package.
const maxBenchText = 64 << 20

func looksLikeBench(s string) bool {
	if strings.HasPrefix(s, "Benchmark") {
		return true
	}
	for _, p := range []string{"goos:", "goarch:", "pkg:", "cpu:"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

var gomaxprocs = regexp.MustCompile(`-(\d+)$`)

// parseBenchmarks reads benchmark result lines with benchfmt. Each result is
// one test run: sec/op, B/op, allocs/op and custom units become metrics, and
// -count=N gives N attempts. Benchmarks are scored by status.
func parseBenchmarks(pkg, text string, at time.Time) []*result.Test {
	if text == "" {
		return nil
	}
	r := benchfmt.NewReader(strings.NewReader(text), pkg)
	var out []*result.Test
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		name := "Benchmark" + res.Name.String()
		t := &result.Test{Package: pkg, Status: result.Passed, Finished: at, Attrs: map[string]string{}}
		if m := gomaxprocs.FindStringSubmatch(name); m != nil {
			t.Attrs["gomaxprocs"] = m[1]
			name = strings.TrimSuffix(name, m[0])
		}
		t.Name = name
		t.Attrs["iterations"] = strconv.Itoa(res.Iters)
		for _, v := range res.Values {
			key, _ := result.MetricKey(v.Unit)
			def := scoring.Definition{Name: v.Unit, Unit: v.Unit, Direction: benchDirection(v.Unit)}
			_, known := scoring.DirectionOfUnit(v.Unit)
			m := result.Metric{Key: key, Result: def.Evaluate(v.Value)}
			m.Score = 0 // a raw measurement has no 0–100 reading
			m.Assumed = !known
			t.Metrics = append(t.Metrics, m)
			if v.Unit == "sec/op" {
				t.Duration = time.Duration(v.Value * float64(res.Iters) * float64(time.Second))
			}
		}
		score := 100.0
		t.Score, t.ScoreMethod = &score, result.StatusScoreMethod
		out = append(out, t)
	}
	return out
}

// benchDirection: throughput units (per second) are higher-is-better; costs
// (time, bytes, allocations per op) are lower-is-better; a custom unit that
// says neither is taken as a cost, as benchstat reads it.
func benchDirection(unit string) scoring.Direction {
	if d, ok := scoring.DirectionOfUnit(unit); ok {
		return d
	}
	return scoring.LowerIsBetter
}

// openTests lists the open attempts by name, oldest first within a name.
func openTests(m map[string][]*testState) []*testState {
	var out []*testState
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[name]...)
	}
	return out
}
