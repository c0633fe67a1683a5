package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"evalrec.dev/evalrec"
)

// Scenario is one conversation: what was said (reference) and what the
// system produced (hypothesis), turn by turn.
type Scenario struct {
	ID           string   `yaml:"id"`
	Description  string   `yaml:"description"`
	Participants []string `yaml:"participants"`
	Tags         []string `yaml:"tags"`
	ScoreMethod  string   `yaml:"score_method"`
	Turns        []struct {
		Reference  string `yaml:"reference"`
		Hypothesis string `yaml:"hypothesis"`
	} `yaml:"turns"`
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata: %v", err)
	}
	for _, f := range files {
		var sc Scenario
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &sc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(sc.ID, func(t *testing.T) {
			t.Parallel()
			m := measure(sc)
			evalrec.Record(t, m,
				evalrec.TestID(sc.ID),
				evalrec.TestName(sc.Description),
				evalrec.Tags(sc.Tags...),
				evalrec.Participants(sc.Participants...),
				evalrec.ScoreMethod(sc.ScoreMethod),
			)
			if m["wer"] > 0.35 {
				t.Errorf("WER %.2f is above the 0.35 threshold", m["wer"])
			}
			if m["completeness"] < 0.6 {
				t.Errorf("completeness %.2f is below the 0.6 threshold", m["completeness"])
			}
		})
	}
}

// measure computes the scenario's metrics: corpus WER over all turns, the
// share of turns that got any translation, and the share of garbled turns.
func measure(sc Scenario) evalrec.Metrics {
	var errs, words, answered, garbled int
	for _, turn := range sc.Turns {
		ref, hyp := strings.Fields(turn.Reference), strings.Fields(turn.Hypothesis)
		d := editDistance(ref, hyp)
		errs += d
		words += len(ref)
		if len(hyp) > 0 {
			answered++
		}
		if len(ref) > 0 && float64(d)/float64(len(ref)) > 0.5 {
			garbled++
		}
	}
	n := float64(len(sc.Turns))
	return evalrec.Metrics{
		"wer":           float64(errs) / float64(max(words, 1)),
		"completeness":  float64(answered) / n,
		"garbled_turns": float64(garbled) / n,
	}
}

// editDistance is the word-level Levenshtein distance.
func editDistance(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"a b c", "a b c", 0},
		{"a b c", "a c", 1},
		{"a b c", "", 3},
		{"", "x y", 2},
		{"for three nights", "four tree nights", 2},
	}
	for _, tt := range tests {
		if got := editDistance(strings.Fields(tt.a), strings.Fields(tt.b)); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
