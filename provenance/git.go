// Package provenance describes where a run came from: the git state, the
// machine and build, the declared system under test, and the identity of the
// go test invocation that all of a run's test binaries share.
package provenance

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Git is the repository state of a run. Every field is nil when unknown:
// outside a repository, or when the information is not available.
type Git struct {
	Commit *string
	Branch *string
	Dirty  *bool
	// Remote is the repository's URL (the origin remote's, else the
	// first), with credentials dropped; see [RepositoryURL].
	Remote *string
}

// Branch variables of CI systems, in the order tried on a detached HEAD.
// GITHUB_HEAD_REF comes first because on pull requests GITHUB_REF_NAME is the
// merge ref ("42/merge").
var ciBranchVars = []string{
	"GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME",
	"BUILDKITE_BRANCH", "CIRCLE_BRANCH", "TRAVIS_BRANCH", "BRANCH_NAME", "GIT_BRANCH",
}

// Commit variables of CI systems, used outside a repository.
var ciCommitVars = []string{"GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT", "CIRCLE_SHA1", "TRAVIS_COMMIT", "GIT_COMMIT"}

// gitBudget bounds each git command; the worktree scan of a very large
// checkout may take longer, and then Dirty stays nil.
const gitBudget = 2 * time.Second

// GitInfo reads the repository containing dir by running git, as go build
// does to stamp a binary's VCS information: a checkout has git, and a
// library that reimplements it cost every test binary 139 packages.
// getenv supplies CI variables (os.Getenv when nil). It never fails: what
// cannot be read (no git, no repository, a repository git refuses) stays
// nil.
func GitInfo(dir string, getenv func(string) string) Git {
	if getenv == nil {
		getenv = os.Getenv
	}
	var g Git
	// One call gives the commit and what HEAD points to: refs/heads/NAME
	// on a branch, HEAD when detached. It fails outside a repository, and
	// on a branch with no commit yet.
	if out, ok := gitOutput(dir, "rev-parse", "HEAD", "--symbolic-full-name", "HEAD"); ok {
		if f := strings.Fields(out); len(f) == 2 {
			g.Commit = ptr(f[0])
			if b, ok := strings.CutPrefix(f[1], "refs/heads/"); ok {
				g.Branch = ptr(b)
			}
		}
	}
	// Without optional locks, the scan does not take the index lock from
	// the user's own git.
	if out, ok := gitOutput(dir, "status", "--porcelain"); ok {
		g.Dirty = ptr(out != "")
		if out, ok := gitOutput(dir, "config", "--get-regexp", `^remote\..*\.url$`); ok {
			g.Remote = remoteURL(out)
		}
	}
	if g.Remote == nil {
		// GitHub Actions names the repository even outside a checkout.
		if server, name := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"); server != "" && name != "" {
			g.Remote = ptr(RepositoryURL(strings.TrimSuffix(server, "/") + "/" + name))
		}
	}
	if g.Commit == nil {
		g.Commit = firstEnv(getenv, ciCommitVars)
	}
	if g.Branch == nil {
		if b := firstEnv(getenv, ciBranchVars); b != nil {
			g.Branch = ptr(strings.TrimPrefix(*b, "origin/"))
		}
	}
	return g
}

// gitOutput runs git in dir and returns its output, trimmed; ok is false
// when git is missing, fails or runs out of time.
func gitOutput(dir string, args ...string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), gitBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", false
	}
	return strings.TrimSpace(out.String()), true
}

// remoteURL picks, from `git config --get-regexp` lines "remote.NAME.url
// URL", the origin remote's URL, else the first, without credentials.
func remoteURL(config string) *string {
	var first, origin string
	sc := bufio.NewScanner(strings.NewReader(config))
	for sc.Scan() {
		key, url, ok := strings.Cut(sc.Text(), " ")
		if !ok || url == "" {
			continue
		}
		if first == "" {
			first = url
		}
		if key == "remote.origin.url" && origin == "" {
			origin = url
		}
	}
	switch {
	case origin != "":
		return ptr(RepositoryURL(origin))
	case first != "":
		return ptr(RepositoryURL(first))
	}
	return nil
}

func firstEnv(getenv func(string) string, names []string) *string {
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return &v
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
