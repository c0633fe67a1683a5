package provenance

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/dotdir"
	"evalrec.dev/internal/testenv"
)

// TestMain keeps the tests off the user's settings, and off the
// repository their shell may point git at (GIT_DIR, GIT_WORK_TREE).
func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}

func noEnv(string) string { return "" }

// git runs git in dir, with no user or system configuration.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// commitFile makes a repository in dir with one commit, and returns it.
func commitFile(t *testing.T, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on PATH")
	}
	git(t, dir, "init", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644))
	git(t, dir, "add", "a.txt")
	git(t, dir, "commit", "-q", "-m", "first")
	return git(t, dir, "rev-parse", "HEAD")
}

func TestGitInfoOnABranch(t *testing.T) {
	dir := t.TempDir()
	h := commitFile(t, dir)
	sub := filepath.Join(dir, "pkg")
	require.NoError(t, os.Mkdir(sub, 0o755))

	g := GitInfo(sub, noEnv)
	require.NotNil(t, g.Commit)
	assert.Equal(t, h, *g.Commit)
	require.NotNil(t, g.Branch)
	assert.Equal(t, "main", *g.Branch)
	require.NotNil(t, g.Dirty)
	assert.False(t, *g.Dirty)
	assert.Nil(t, g.Remote, "no remote")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644))
	g = GitInfo(dir, noEnv)
	require.NotNil(t, g.Dirty)
	assert.True(t, *g.Dirty)
}

func TestGitInfoOnADetachedHeadFallsBackToCIVariables(t *testing.T) {
	dir := t.TempDir()
	h := commitFile(t, dir)
	git(t, dir, "checkout", "-q", "--detach", h)

	assert.Nil(t, GitInfo(dir, noEnv).Branch, "detached and no CI: no branch")
	env := map[string]string{"GITHUB_REF_NAME": "42/merge", "GITHUB_HEAD_REF": "feature/x"}
	g := GitInfo(dir, func(k string) string { return env[k] })
	require.NotNil(t, g.Branch)
	assert.Equal(t, "feature/x", *g.Branch, "on a pull request the head ref names the branch")
	assert.Equal(t, h, *g.Commit)
}

func TestGitInfoOnABranchWithNoCommit(t *testing.T) {
	dir := t.TempDir()
	commitFile(t, dir)
	git(t, dir, "checkout", "-q", "--orphan", "fresh")
	g := GitInfo(dir, noEnv)
	assert.Nil(t, g.Commit)
	assert.Nil(t, g.Branch)
	require.NotNil(t, g.Dirty, "the worktree is still read")
	assert.True(t, *g.Dirty, "a.txt is staged on the new branch")
}

func TestGitInfoOutsideARepositoryIsNull(t *testing.T) {
	g := GitInfo(t.TempDir(), noEnv)
	assert.Nil(t, g.Commit)
	assert.Nil(t, g.Branch)
	assert.Nil(t, g.Dirty)

	env := map[string]string{"CI_COMMIT_SHA": "abcdef0123", "GIT_BRANCH": "origin/main"}
	g = GitInfo(t.TempDir(), func(k string) string { return env[k] })
	assert.Equal(t, "abcdef0123", *g.Commit)
	assert.Equal(t, "main", *g.Branch)
}

// TestSystemHashIsWhatEarlierVersionsStored: runs are compared with
// stored runs by this hash, so it never changes for the same system (the
// value was computed by evalrec before the hostname entered the JSON).
func TestSystemHashIsWhatEarlierVersionsStored(t *testing.T) {
	s := System{GoVersion: "go1.26.0", GOOS: "linux", GOARCH: "amd64", CPUModel: "cpu", NumCPU: 2, Module: "m", Version: "v1",
		Dependencies: []Module{{Path: "a", Version: "v1"}}, SystemUnderTest: map[string]any{"model": "x", "beam": 5}, Hostname: "h"}
	assert.Equal(t, "14f9ded71f7860cc06d0dabeb4278be6440e3522bc07965739ea54820770b3d7", s.Hash())
}

func TestSystemHashIgnoresVolatileFieldsAndSeesConfiguration(t *testing.T) {
	a := Snapshot(map[string]any{"model": "whisper-large", "beam": 5})
	b := a
	b.Hostname = "elsewhere"
	assert.Equal(t, a.Hash(), b.Hash(), "hostname is volatile")
	assert.Len(t, a.Hash(), 64)

	c := Snapshot(map[string]any{"model": "whisper-small", "beam": 5})
	assert.NotEqual(t, a.Hash(), c.Hash(), "the system under test is part of the configuration")

	d := Snapshot(map[string]any{"beam": 5, "model": "whisper-large"})
	assert.Equal(t, a.Hash(), d.Hash(), "key order does not matter")

	e := a
	e.Dependencies = []Module{{"x", "v1"}}
	f := a
	f.Dependencies = []Module{{"x", "v2"}}
	assert.NotEqual(t, e.Hash(), f.Hash())
}

func TestSnapshotMasksSecrets(t *testing.T) {
	s := Snapshot(map[string]any{
		"api_key": "sk-123",
		"backend": map[string]any{"url": "mongodb://u:hunter2@h/", "password": "p"},
		"model":   "m",
	})
	assert.Equal(t, "xxxxx", s.SystemUnderTest["api_key"])
	backend := s.SystemUnderTest["backend"].(map[string]any)
	assert.Equal(t, "mongodb://u:xxxxx@h/", backend["url"])
	assert.Equal(t, "xxxxx", backend["password"])
	assert.Equal(t, "m", s.SystemUnderTest["model"])
}

func TestRunID(t *testing.T) {
	inv := Invocation{Key: "host/1/2", Started: time.Date(2025, 12, 5, 10, 30, 0, 0, time.UTC)}
	commit, branch := "abcdef0123456789", "feature/new asr"
	id := inv.RunID(Git{Commit: &commit, Branch: &branch})
	assert.Regexp(t, regexp.MustCompile(`^2025-12-05T10-30-00Z-feature-new-asr-abcdef-[0-9a-f]{6}$`), id)

	other := Invocation{Key: "host/3/4", Started: inv.Started}
	assert.NotEqual(t, id, other.RunID(Git{Commit: &commit, Branch: &branch}),
		"two invocations in the same second on the same commit get different IDs")
	assert.NotEqual(t, inv.ObjectID(), other.ObjectID())

	assert.Regexp(t, `^2025-12-05T10-30-00Z-[0-9a-f]{6}$`, inv.RunID(Git{}))
	assert.Equal(t, "ci-1234", Invocation{Explicit: "ci-1234"}.RunID(Git{}))
}

func TestCurrentInvocationIsStableWithinAProcessTree(t *testing.T) {
	a, b := CurrentInvocation(""), CurrentInvocation("")
	assert.Equal(t, a, b)
	assert.NotEmpty(t, a.Key)
	x := CurrentInvocation("x")
	assert.Equal(t, a.Key, x.Key, "an explicit run ID names the run; the key is still the invocation's")
	assert.Equal(t, "x", x.Explicit)
	assert.NotEqual(t, a.ObjectID(), x.ObjectID())
}

func TestAnExplicitRunIDUsedByTwoInvocationsNamesTwoRuns(t *testing.T) {
	at := time.Date(2026, 11, 30, 1, 2, 3, 456e6, time.UTC)
	first := Invocation{Key: "host/10/1", Started: at, Explicit: "nightly-9"}
	again := Invocation{Key: "host/10/1", Started: at, Explicit: "nightly-9"}
	other := Invocation{Key: "host/20/2", Started: at, Explicit: "nightly-9"}
	assert.Equal(t, first.ObjectID(), again.ObjectID(), "every binary of one invocation joins one run")
	assert.NotEqual(t, first.ObjectID(), other.ObjectID(), "another invocation never joins it by accident")
	assert.Equal(t, "nightly-9", other.RunID(Git{}), "both ask for the name; the store keeps the second apart")
}

func TestAStreamIsKnownByItsFirstLine(t *testing.T) {
	at := time.Date(2026, 11, 30, 1, 2, 3, 456789e3, time.UTC)
	line := []byte(`{"Time":"2026-11-30T01:02:03.456789Z","Action":"start","Package":"example.com/a"}`)
	a := StreamInvocation(line, at, "")
	assert.Equal(t, a, StreamInvocation(line, at, ""), "the same bytes find the same run")
	other := StreamInvocation([]byte(`{"Time":"2026-11-30T01:02:03.456789Z","Action":"start","Package":"example.com/b"}`), at, "")
	assert.NotEqual(t, a.ObjectID(), other.ObjectID(), "another module's stream, started at the same instant, is another run")
	assert.Equal(t, at.Truncate(time.Millisecond), a.Started, "started_at keeps milliseconds")
}

func TestRepositoryURLDropsCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"https://ghp_token123@github.com/org/repo.git":            "https://github.com/org/repo.git",
		"https://user:hunter2@gitlab.example.com/g/r.git":         "https://gitlab.example.com/g/r.git",
		"git@github.com:org/repo.git":                             "git@github.com:org/repo.git",
		"ssh://git@github.com/org/repo.git":                       "ssh://git@github.com/org/repo.git",
		"ssh://git:secret@host/org/repo.git":                      "ssh://host/org/repo.git",
		"https://github.com/org/repo":                             "https://github.com/org/repo",
		"https://gitlab.com/g/r.git?private_token=glpat-abc":      "https://gitlab.com/g/r.git",
		"https://github.com/org/repo.git?access_token=ghs_x#frag": "https://github.com/org/repo.git",
		"git@github.com:org/repo.git?access_token=x":              "git@github.com:org/repo.git",
	} {
		assert.Equal(t, want, RepositoryURL(in), in)
	}
}

func TestGitInfoReadsTheRemote(t *testing.T) {
	dir := t.TempDir()
	commitFile(t, dir)
	git(t, dir, "remote", "add", "fork", "https://bob:s3cret@example.com/bob/x.git")
	g := GitInfo(dir, noEnv)
	require.NotNil(t, g.Remote)
	assert.Equal(t, "https://example.com/bob/x.git", *g.Remote, "the only remote, without its credentials")

	git(t, dir, "remote", "add", "origin", "https://x-access-token:tok@github.com/org/repo.git")
	g = GitInfo(dir, noEnv)
	require.NotNil(t, g.Remote)
	assert.Equal(t, "https://github.com/org/repo.git", *g.Remote, "origin, though added last")
}

func TestModuleRootAndSnapshotOf(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.25\n\nrequire golang.org/x/mod v0.43.0\n"), 0o644))
	sub := filepath.Join(dir, "a", "b")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	root, path := ModuleRoot(sub)
	assert.Equal(t, dir, root)
	assert.Equal(t, "example.com/m", path)
	s := SnapshotOf(sub)
	assert.Equal(t, "example.com/m", s.Module)
	assert.Equal(t, []Module{{"golang.org/x/mod", "v0.43.0"}}, s.Dependencies)
	assert.True(t, strings.HasPrefix(s.GoVersion, "go1."), s.GoVersion)
}

// The store and spool evalrec writes into .evalrec never make the tree
// dirty: the directory ignores itself. Changes elsewhere still do.
func TestEvalrecsOwnFilesLeaveTheTreeClean(t *testing.T) {
	dir := t.TempDir()
	commitFile(t, dir)
	require.NoError(t, dotdir.MkdirAll(filepath.Join(dir, ".evalrec", "spool"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".evalrec", "vt_metrics.db"), []byte("store"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".evalrec", "spool", "x.jsonl"), []byte("{}"), 0o644))
	g := GitInfo(dir, noEnv)
	require.NotNil(t, g.Dirty)
	assert.False(t, *g.Dirty, "a new .evalrec made the tree dirty")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x"), 0o644))
	assert.True(t, *GitInfo(dir, noEnv).Dirty, "an untracked file elsewhere is a change")
}
