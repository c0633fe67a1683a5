package metricfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"evalrec.dev/scoring"
)

const sample = `
score_method: weighted
metrics:
  wer: {direction: lower, threshold: 0.1, weight: 2}
  "latency_*": {unit: ms, min: 0, max: 5000}
  "latency_p99*": {unit: ms, min: 0, max: 9000}
  "*": {max: 100}
`

func TestLookupPrefersNamesThenTheLongestPattern(t *testing.T) {
	f, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if f.ScoreMethod != "weighted" {
		t.Errorf("score method %q", f.ScoreMethod)
	}
	wer, ok := f.Lookup("wer")
	if !ok || wer.Direction != scoring.LowerIsBetter || wer.Threshold == nil || *wer.Threshold != 0.1 || wer.Weight != 2 {
		t.Errorf("wer: %+v %v", wer, ok)
	}
	p50, _ := f.Lookup("latency_p50")
	p99, _ := f.Lookup("latency_p99_ms")
	if p50.Max != 5000 || p99.Max != 9000 || p50.Name != "latency_p50" {
		t.Errorf("p50 %+v, p99 %+v", p50, p99)
	}
	if p50.Direction != scoring.LowerIsBetter {
		t.Errorf("a unit of ms with no direction should be lower-is-better: %+v", p50)
	}
	other, ok := f.Lookup("accuracy")
	if !ok || other.Max != 100 || other.Direction != scoring.HigherIsBetter {
		t.Errorf("catch-all: %+v %v", other, ok)
	}
	if got := len(f.Entries()); got != 4 {
		t.Errorf("%d entries", got)
	}
}

func TestMistakesAreErrors(t *testing.T) {
	for _, bad := range []string{
		"metrics:\n  wer: {treshold: 0.1}\n",
		"metrics:\n  wer: {direction: down}\n",
		"metrics:\n  wer: {min: 5, max: 1}\n",
		"metrics:\n  wer: {weight: -1}\n",
		"metrics:\n  \"a[\": {max: 1}\n",
		"metric:\n  wer: {}\n",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	f, err := Load(dir)
	if err != nil || f.Path != "" {
		t.Fatalf("missing file: %+v %v", f, err)
	}
	if _, ok := f.Lookup("wer"); ok {
		t.Error("an empty file defines wer")
	}
	os.WriteFile(filepath.Join(dir, Name), []byte("metrics:\n  wer: {treshold: 1}\n"), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), Name) {
		t.Errorf("error does not name the file: %v", err)
	}
}

func manyDefinitions(n int) []byte {
	var b strings.Builder
	b.WriteString("score_method: average\nmetrics:\n")
	for i := range n {
		fmt.Fprintf(&b, "  metric_%06d:\n    unit: ms\n    threshold: %d\n", i, i)
	}
	return []byte(b.String())
}

// A large file reads whole, each definition found, and a repeated or
// misspelt key is still an error with its line.
func TestALargeFileIsReadWhole(t *testing.T) {
	f, err := Parse(manyDefinitions(20000))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := f.Lookup("metric_019999"); !ok || *d.Threshold != 19999 || len(f.Entries()) != 20000 {
		t.Errorf("metric_019999: %+v %v; %d entries", d, ok, len(f.Entries()))
	}
	for in, want := range map[string]string{
		"metrics:\n  a:\n    unit: ms\n  a:\n    unit: s\n": "line 4: metric \"a\" is defined twice",
		"metrics:\n  a:\n    treshold: 1\n":                 "line 3: unknown key treshold",
		"metric:\n  a: {}\n":                                "line 1: unknown key metric",
		"metrics:\n  a:\n    min: x\n":                      "line 3",
	} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// BenchmarkParse reads files of 7,000 and 14,000 definitions: the time per
// definition stays flat (yaml's map decoding was quadratic: 0.34 s and
// 1.56 s).
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{7000, 14000} {
		in := manyDefinitions(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
