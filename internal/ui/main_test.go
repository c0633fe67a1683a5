package ui_test

import (
	"os"
	"testing"

	"evalrec.dev/internal/testenv"
)

// screenshots and benchTestRuns are read before the environment is
// cleaned: where the browser test saves its screenshots, and the size of
// BenchmarkPages's store.
var (
	screenshots   = os.Getenv("EVALREC_SCREENSHOTS")
	benchTestRuns = os.Getenv("EVALREC_BENCH_TESTRUNS")
)

func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}
