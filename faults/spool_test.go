package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
	"evalrec.dev/store"
)

// unreachable points TestMain mode at a server that is not there.
var unreachable = []string{"MONGODB_ENABLED=true", "MONGODB_CONNECTION_STRING=mongodb://127.0.0.1:1/", "EVALREC_CONNECT_TIMEOUT=200ms"}

func TestABadSpoolLineHoldsUpNothingAndIsReported(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, merge(recorders("a", 5, ""), recorders("b", 6, ""), recorders("c", 7, ""), recorders("d", 8, "")))
	out := testmod.Run(t, dir, append(unreachable, "MONGODB_DATABASE=evals"), "go", "test", "-count=1", "-p", "1", "./...")
	require.Zero(t, out.Code, out.Combined())
	spool := filepath.Join(dir, ".evalrec", "spool")
	files, err := store.PendingSpool(spool)
	require.NoError(t, err)
	require.Len(t, files, 4, "one spool file per test binary")
	for _, f := range files {
		assert.True(t, strings.HasSuffix(f, ".jsonl"), f)
		b, _ := os.ReadFile(f)
		assert.Contains(t, string(b), `"target":{"store":"mongodb://127.0.0.1:1/","database":"evals"}`, "a spool records its target")
	}
	lines := strings.Split(string(must(os.ReadFile(files[2]))), "\n")
	lines[3] = lines[3][:len(lines[3])/2] // a corrupt line in the middle
	require.NoError(t, os.WriteFile(files[2], []byte(strings.Join(lines, "\n")), 0o600))

	s := storetest.New(t)
	bin := filepath.Join(testmod.Bin(t), "evalrec")
	// Replayed under another database, the spool is left alone and says
	// where it belongs.
	out = testmod.Run(t, dir, storeEnv(s), bin, "replay")
	assert.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Combined(), "4 spool files are meant for another store")
	assert.Contains(t, out.Combined(), "database evals at mongodb://127.0.0.1:1/")
	assert.Empty(t, runs(t, s.DB))

	// Forced here, the replay sets the bad line aside, says so, and stores
	// the rest (every command's automatic replay reports the same way).
	out = testmod.Run(t, dir, storeEnv(s), bin, "replay", "-force")
	assert.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Stdout, "replayed 4 spool files")
	assert.Contains(t, out.Stderr, "1 spooled lines could not be read; they are set aside in")
	aside, err := os.ReadFile(filepath.Join(spool, "rejected-lines.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(aside), `"line":4`)
	rs := runs(t, s.DB)
	require.Len(t, rs, 1, "four binaries of one invocation")
	trs := assertTotalsAreStored(t, s.DB, rs[0])
	assert.Len(t, trs, 5+6+7+8-1, "everything but the corrupt line")
}

func TestAFullSpoolIsCountedAndNeverClaimed(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, recorders("p", 7, ""))
	// Where the spool should go there is a file: nothing can be written.
	spool := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.WriteFile(spool, nil, 0o600))
	out := testmod.Run(t, dir, append(unreachable, "EVALREC_SPOOL_DIR="+spool), "go", "test", "-count=1", "./...")
	require.Zero(t, out.Code, "storage never fails the suite: %s", out.Combined())
	assert.Regexp(t, `7 results of this run are lost: no journal could be written to \S*spool \(mkdir \S*spool: not a directory\)`, out.Combined())
	assert.NotContains(t, out.Combined(), "evalrec replay", "no spool is claimed")

	out = testmod.Run(t, dir, append(unreachable, "EVALREC_SPOOL_DIR="+spool, "EVALREC_STRICT=1"), "go", "test", "-count=1", "./...")
	assert.Equal(t, 1, out.Code, "strict mode counts the loss as a failure: %s", out.Combined())
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
