// Package provenance describes where a run came from: the git state, the
// machine and build, the declared system under test, and the identity of the
// go test invocation that all of a run's test binaries share.
package provenance

import (
	"os"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
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

// dirtyCheckBudget bounds the worktree scan, which go-git does in Go and which
// can be slow in a very large checkout. When it runs out, Dirty stays nil.
const dirtyCheckBudget = 2 * time.Second

// GitInfo reads the repository containing dir. getenv supplies CI variables
// (os.Getenv when nil). It never fails: what cannot be read stays nil.
func GitInfo(dir string, getenv func(string) string) Git {
	if getenv == nil {
		getenv = os.Getenv
	}
	var g Git
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err == nil {
		if head, err := repo.Head(); err == nil {
			g.Commit = ptr(head.Hash().String())
			if head.Name().IsBranch() {
				g.Branch = ptr(head.Name().Short())
			}
		}
		g.Dirty = dirty(repo)
		g.Remote = remoteURL(repo)
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

func dirty(repo *git.Repository) *bool {
	wt, err := repo.Worktree()
	if err != nil {
		return nil // a bare repository
	}
	done := make(chan *bool, 1)
	go func() {
		st, err := wt.Status()
		if err != nil {
			done <- nil
			return
		}
		done <- ptr(!st.IsClean())
	}()
	select {
	case d := <-done:
		return d
	case <-time.After(dirtyCheckBudget):
		return nil
	}
}

func remoteURL(repo *git.Repository) *string {
	remotes, err := repo.Remotes()
	if err != nil || len(remotes) == 0 {
		return nil
	}
	pick := remotes[0]
	for _, r := range remotes {
		if r.Config().Name == "origin" {
			pick = r
		}
	}
	if urls := pick.Config().URLs; len(urls) > 0 && urls[0] != "" {
		return ptr(RepositoryURL(urls[0]))
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
