package timespec

import (
	"testing"
	"time"
)

func TestAgeAndSince(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "12h": 12 * time.Hour, "30m": 30 * time.Minute, "1.5d": 36 * time.Hour} {
		if got, err := Age(in); err != nil || got != want {
			t.Errorf("Age(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1d", "xd", "yesterdayish", ""} {
		if _, err := Age(bad); err == nil {
			t.Errorf("Age(%q): no error", bad)
		}
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2d":                   now.Add(-48 * time.Hour),
		"2026-01-31":           time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
		"2026-01-31T10:00:00Z": time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC),
	} {
		if got, err := Since(in, now); err != nil || !got.Equal(want) {
			t.Errorf("Since(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := Since("yesterdayish", now); err != ErrSince {
		t.Errorf("Since(yesterdayish): %v", err)
	}
}
