package provenance

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// ModuleRoot returns the directory holding the go.mod that governs dir, and
// the module's path, or empty strings outside a module.
func ModuleRoot(dir string) (root, path string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			return d, modfile.ModulePath(data)
		}
		if filepath.Dir(d) == d {
			return "", ""
		}
	}
}

// SnapshotOf describes the module in dir as the go command on PATH builds
// and tests it: the module and its go.mod requirements, the Go version,
// and this machine. It is what a test binary of that module would announce
// about itself (see [Snapshot]), for the wrapper and the converter when the
// suite's binaries announce nothing.
func SnapshotOf(dir string) System {
	s := System{
		GoVersion:       goVersion(dir),
		GOOS:            runtime.GOOS,
		GOARCH:          runtime.GOARCH,
		CPUModel:        cpuModel(),
		NumCPU:          runtime.NumCPU(),
		SystemUnderTest: map[string]any{},
	}
	if _, path := ModuleRoot(dir); path != "" {
		// A test binary built from a module directory reports its version
		// as "(devel)"; so does this snapshot, so that the two hash alike.
		s.Module, s.Version = path, "(devel)"
	}
	s.Dependencies = MergeModules(nil, goModRequirements(dir))
	s.Hostname, _ = os.Hostname()
	return s
}

// goVersion asks the go command in dir for its version, and falls back on
// the one this program was built with.
func goVersion(dir string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION")
	cmd.Dir = dir
	if out, err := cmd.Output(); err == nil {
		if v := strings.TrimSpace(string(out)); v != "" {
			return v
		}
	}
	return runtime.Version()
}

// RepositoryURL cleans a git remote URL for storing: credentials in an
// http(s) URL (https://TOKEN@host/… or user:password@) are dropped, and so
// are a query and a fragment (?access_token=…, ?private_token=…), which
// name no repository; ssh addresses (git@host:org/repo.git) keep their
// user, which is no secret.
func RepositoryURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		if u.Scheme == "http" || u.Scheme == "https" || u.User != nil && hasPassword(u) {
			u.User = nil
		}
		u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
		return u.String()
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	return raw
}

func hasPassword(u *url.URL) bool {
	_, ok := u.User.Password()
	return ok
}
