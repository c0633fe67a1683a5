package ui_test

import (
	"flag"
	"os"
	"testing"

	"evalrec.dev/internal/testenv"
)

// Test flags, not environment variables: the tests ignore the user's
// EVALREC_* settings.
var (
	screenshots   = flag.String("screenshots", "", "where TestPagesRenderInABrowser saves its screenshots (default: a temporary directory)")
	benchTestRuns = flag.Int("testruns", 100_000, "how many test runs BenchmarkPages stores first")
)

func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}
