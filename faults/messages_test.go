package faults

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
)

// misspelt is an evalrec.yaml with a typo: its definitions are not used.
const misspelt = "metrics:\n  acc:\n    treshold: 0.9\n"

// goTestLine is how every line that go test or evalrec writes begins; a
// line that begins otherwise was written over.
var goTestLine = regexp.MustCompile(`^(ok  |FAIL|--- |=== |    |PASS|evalrec: |\?   |panic)`)

// TestWarningsSurviveAGoTestWrittenToAFile: go test ./... > log 2>&1. The
// go command writes the file at its own offset, so a warning a test binary
// appended through /proc was written over. The warning is kept with the
// stored run instead, and the log's lines stay whole.
func TestWarningsSurviveAGoTestWrittenToAFile(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, merge(recorders("a", 40, ""), recorders("b", 40, ""), map[string]string{"evalrec.yaml": misspelt}))
	s := storetest.New(t)
	out := testmod.Run(t, dir, append(storeEnv(s), "MONGODB_ENABLED=true"), "sh", "-c", "go test -count=1 ./... > log 2>&1")
	require.Zero(t, out.Code, out.Combined())
	storetest.AwaitIngest(t, spoolOf(dir))
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		assert.Regexp(t, goTestLine, line, "a line of the log lost its start:\n%s", b)
	}
	assert.Contains(t, string(b), "ok  \texample.com/gen/a")
	assert.Contains(t, string(b), "ok  \texample.com/gen/b")
	r := runs(t, s.DB)[0]
	assert.Contains(t, r.Error, "unknown key treshold; its definitions are not used", "the warning is kept with the run")
	assert.Len(t, assertTotalsAreStored(t, s.DB, r), 80)
}

// TestAMisspeltMetricFileIsSaidInOneLineInEveryMode: without -v, in
// TestMain mode as under the wrapper, one line says evalrec.yaml is not
// used, and the stored run says it too.
func TestAMisspeltMetricFileIsSaidInOneLineInEveryMode(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, merge(recorders("p", 3, ""), map[string]string{"evalrec.yaml": misspelt}))
	want := "evalrec.yaml: line 3: unknown key treshold; its definitions are not used"

	sm := storetest.New(t)
	out := testmod.Run(t, dir, append(storeEnv(sm), "MONGODB_ENABLED=true"), "go", "test", "-count=1", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.Equal(t, 1, strings.Count(out.Combined(), want), "TestMain mode, without -v:\n%s", out.Combined())
	storetest.AwaitIngest(t, spoolOf(dir))
	assert.Contains(t, runs(t, sm.DB)[0].Error, want)

	sw := storetest.New(t)
	out = testmod.Run(t, dir, storeEnv(sw), filepath.Join(testmod.Bin(t), "evalrec"), "test", "-count=1", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Combined(), want, "the wrapper")
	assert.Contains(t, runs(t, sw.DB)[0].Error, want)
}

// TestADamagedEmbeddedStoreIsSaidInTestMainMode: the ingester cannot store
// into a file that is not a database, and no one would see it fail. The
// test binary says so, and the results wait in the spool.
func TestADamagedEmbeddedStoreIsSaidInTestMainMode(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, recorders("p", 3, ""))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".evalrec"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".evalrec", "vt_metrics.db"), []byte(strings.Repeat("not a database\n", 500)), 0o644))
	out := testmod.Run(t, dir, []string{"MONGODB_ENABLED=true"}, "go", "test", "-count=1", "-v", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Combined(), "/.evalrec/vt_metrics.db cannot be read (the embedded store's file is damaged: file is not a database")
	assert.Contains(t, out.Combined(), "move the file aside, then `evalrec replay` stores them")
	assert.NotContains(t, out.Combined(), "when go test ends", "-v must not promise what cannot happen")
	journals, _ := filepath.Glob(filepath.Join(spoolOf(dir), "*.jsonl"))
	assert.NotEmpty(t, journals, "the results wait in the spool")
	_, err := os.Stat(filepath.Join(dir, ".evalrec", "ingester.log"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no ingester is started for a store it cannot store into")
}
