// Package scenario_test is an evaluation suite of the kind evalrec is for:
// speech-translation scenarios from testdata/*.yaml, scored on word error
// rate and completeness.
//
// From the repository's root (the example is a module of its own):
//
//	go -C examples test ./scenario_test/                        # storage off
//	MONGODB_ENABLED=true go -C examples test ./scenario_test/   # TestMain mode: the evalrec command (installed, or EVALREC_BIN) stores the run
//	go run ./cmd/evalrec -C examples test ./scenario_test/      # the wrapper
package scenario_test

import (
	"os"
	"testing"

	"evalrec.dev/evalrec"
	"evalrec.dev/scoring"
)

func TestMain(m *testing.M) {
	scoring.Default.Register("garbled_turn", scoring.CalculatorFunc(garbledTurn))
	os.Exit(evalrec.Main(m,
		evalrec.MetricDefinitions(
			scoring.Definition{Name: "wer", Unit: "ratio", Direction: scoring.LowerIsBetter, Threshold: scoring.Threshold(0.35)},
			scoring.Definition{Name: "completeness", Unit: "ratio", Threshold: scoring.Threshold(0.6)},
			scoring.Definition{Name: "garbled_turns", Unit: "ratio", Direction: scoring.LowerIsBetter},
		),
		evalrec.DefaultScoreMethod(scoring.Average),
		evalrec.SystemUnderTest(map[string]any{
			"asr_engine": "whisper-large-v3",
			"mt_engine":  "nllb-200-distilled",
			"tts_voice":  "neutral-en",
			"beam_size":  5,
			// Secrets are masked before anything is stored.
			"api_key": os.Getenv("TRANSLATOR_API_KEY"),
		}),
	))
}

// garbledTurn is the suite's own calculator: the average of the metric
// scores, scaled down by the share of turns that came out garbled (a turn
// whose own WER is above 0.5). One unintelligible turn can ruin a
// conversation even when the overall WER looks fine.
func garbledTurn(rs []scoring.Result) (float64, bool) {
	var sum float64
	var n int
	garbled := 0.0
	for _, r := range rs {
		if r.Name == "garbled_turns" {
			garbled = r.Value
			continue
		}
		sum += r.Score
		n++
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n) * (1 - garbled), true
}
