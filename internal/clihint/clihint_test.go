package clihint

import (
	"strings"
	"testing"
)

func TestDidYouMean(t *testing.T) {
	names := []string{"runs", "show", "history", "trend", "tests", "compare", "changes"}
	for in, want := range map[string]string{"rnus": "runs", "histroy": "history", "comapre": "compare", "tset": "tests", "hist": "history", "zzzzzz": ""} {
		got := DidYouMean(in, names, "")
		if want == "" && got != "" || want != "" && !strings.Contains(got, "did you mean "+want+"?") {
			t.Errorf("DidYouMean(%q) = %q, want %q", in, got, want)
		}
	}
}
