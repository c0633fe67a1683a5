package testenv

import "testing"

func TestRaceNoExitWaitAddsItsSettingOnce(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "atexit_sleep_ms=0",
		"halt_on_error=1":                   "halt_on_error=1 atexit_sleep_ms=0",
		"halt_on_error=1 atexit_sleep_ms=0": "halt_on_error=1 atexit_sleep_ms=0",
	} {
		if got := RaceNoExitWait(in); got != want {
			t.Errorf("RaceNoExitWait(%q) = %q, want %q", in, got, want)
		}
		if got := RaceNoExitWait(RaceNoExitWait(in)); got != want {
			t.Errorf("twice on %q: %q", in, got)
		}
	}
}
