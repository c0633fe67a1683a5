// Package timespec reads the durations and points in time that evalrec's
// commands and its UI take: 90d, 2w, 12h, 30m (minutes, as in Go), or a
// date.
package timespec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Age reads a duration with d (days) and w (weeks) besides Go's units.
func Age(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			return time.Duration(v * float64(unit)), nil
		}
	}
	return time.ParseDuration(s)
}

// ErrSince says what Since reads.
var ErrSince = errors.New("want a duration such as 90d, 2w or 12h, or a date such as 2026-01-31")

// Since reads a point in time: an age before now, a date, or an RFC 3339
// time. Its error is ErrSince.
func Since(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := Age(s)
	if err != nil {
		return time.Time{}, ErrSince
	}
	return now.Add(-d), nil
}
