package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"evalrec": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: real go test
// runs of small suites, stored in the embedded store, queried back with the
// CLI. Modules in the scripts name this checkout as "REPO" in go.mod.
func TestScripts(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "./cmd/gojson2mongo")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gojson2mongo: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOTOOLCHAIN", "GONOSUMDB", "GOSUMDB"} {
				if v := goEnv(t, k); v != "" {
					env.Setenv(k, v)
				}
			}
			env.Setenv("GOFLAGS", "-mod=mod")
			env.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("EVALREC_FLUSH_INTERVAL", "100ms")
			gomod := filepath.Join(env.WorkDir, "go.mod")
			if b, err := os.ReadFile(gomod); err == nil {
				if err := os.WriteFile(gomod, []byte(strings.ReplaceAll(string(b), "REPO", repo)), 0o644); err != nil {
					return err
				}
				return os.WriteFile(filepath.Join(env.WorkDir, "go.sum"), sum, 0o644)
			}
			return nil
		},
	})
}

func goEnv(t *testing.T, key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}
