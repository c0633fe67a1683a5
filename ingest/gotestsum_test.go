package ingest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/result"
)

// TestCountsAgreeWithGotestsum ingests gotestsum's own fixture streams and
// checks our counts against what gotestsum reports for them. The two differ
// by design in two places, and the comparison accounts for both:
//
//   - a test with no final event is "incomplete" for us; gotestsum adds a
//     synthetic failure;
//   - a package that fails with no failing test (TestMain or init failed) is
//     a broken package for us, which fails the run; gotestsum counts it as
//     one more failure.
//
// So gotestsum's failures = our failed + incomplete + packages that failed
// without a failing test, and tests and skips are equal.
func TestCountsAgreeWithGotestsum(t *testing.T) {
	dirOut, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gotest.tools/gotestsum").Output()
	require.NoError(t, err)
	inputs, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(dirOut)), "testjson", "testdata", "input", "*.out"))
	require.NoError(t, err)
	require.NotEmpty(t, inputs)

	bin := filepath.Join(t.TempDir(), "gotestsum")
	out, err := exec.Command("go", "build", "-o", bin, "gotest.tools/gotestsum").CombinedOutput()
	require.NoError(t, err, string(out))
	done := regexp.MustCompile(`DONE (\d+) tests?(?:, (\d+) skipped)?(?:, (\d+) failures?)?`)

	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var stdout bytes.Buffer
			cmd := exec.Command(bin, "--format", "standard-quiet", "--raw-command", "--", "cat", in)
			cmd.Stdout = &stdout
			_ = cmd.Run() // non-zero when the stream has failures
			m := done.FindStringSubmatch(stdout.String())
			require.NotNil(t, m, "gotestsum summary: %s", stdout.String())
			gTests, gSkipped, gFailures := atoi(m[1]), atoi(m[2]), atoi(m[3])

			data, err := os.ReadFile(in)
			require.NoError(t, err)
			c, _ := ingestAll(t, data)
			var failed, incomplete, skipped, brokenNoTest int
			for _, tr := range c.tests {
				switch tr.Status {
				case result.Failed:
					failed++
				case result.Incomplete:
					incomplete++
				case result.Skipped:
					skipped++
				}
			}
			for _, p := range c.pkgs {
				if p.FailedWithoutTest() {
					brokenNoTest++
				}
			}
			assert.Equal(t, gTests, len(c.tests), "tests")
			assert.Equal(t, gSkipped, skipped, "skipped")
			assert.Equal(t, gFailures, failed+incomplete+brokenNoTest,
				"failures: %d failed + %d incomplete + %d packages failed without a failing test", failed, incomplete, brokenNoTest)
		})
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
