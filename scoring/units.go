package scoring

import "strings"

// DirectionOfUnit says which way a metric with this unit improves, when the
// unit tells: throughput (per second) is higher-is-better; time, bytes and
// allocations per operation, and durations, are lower-is-better. ok is false
// for a unit that says nothing (a ratio, a count, or none).
func DirectionOfUnit(unit string) (d Direction, ok bool) {
	u := strings.ToLower(strings.TrimSpace(unit))
	if u == "" {
		return HigherIsBetter, false
	}
	for _, s := range []string{"/s", "/sec", "/second", "per_second", "per_sec", "persec", "ops", "qps", "rps", "tps", "/min", "/minute"} {
		if strings.HasSuffix(u, s) {
			return HigherIsBetter, true
		}
	}
	for _, s := range []string{"/op", "ns", "µs", "us", "ms", "s", "sec", "secs", "second", "seconds", "minutes", "bytes", "b", "kb", "mb", "gb", "kib", "mib", "gib", "allocs"} {
		if u == s || strings.HasSuffix(u, "/op") || strings.HasSuffix(u, "_"+s) {
			return LowerIsBetter, true
		}
	}
	return HigherIsBetter, false
}
