package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"evalrec.dev/internal/histgen"
	"evalrec.dev/internal/testenv"
	"evalrec.dev/internal/testmod"
	"evalrec.dev/store"
)

func TestMain(m *testing.M) {
	// As a script's command (os.Args[0] is "evalrec"), the environment is
	// the script's own; as the test binary, the user's is cleaned.
	if filepath.Base(os.Args[0]) != "evalrec" {
		testenv.Clean()
	}
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
	build := exec.Command("go", "build", "-o", bin, "./cmd/gojson2mongo", "gotest.tools/gotestsum")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gojson2mongo and gotestsum: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"webhook": webhook, "ingested": ingested},
		Setup: func(env *testscript.Env) error {
			for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOTOOLCHAIN", "GONOSUMDB", "GOSUMDB"} {
				if v := goEnv(t, k); v != "" {
					env.Setenv(k, v)
				}
			}
			env.Setenv("GOFLAGS", testmod.GoFlags)
			env.Setenv("GORACE", testenv.RaceNoExitWait(""))
			env.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("EVALREC_FLUSH_INTERVAL", "100ms")
			if _, err := os.Stat(filepath.Join(env.WorkDir, "seed-history")); err == nil {
				if err := seedHistory(filepath.Join(env.WorkDir, ".evalrec", "vt_metrics.db")); err != nil {
					return err
				}
			}
			// Every module of the script (at the top, or in a directory of
			// its own) uses this checkout.
			mods, _ := filepath.Glob(filepath.Join(env.WorkDir, "go.mod"))
			sub, _ := filepath.Glob(filepath.Join(env.WorkDir, "*", "go.mod"))
			for _, gomod := range append(mods, sub...) {
				b, err := os.ReadFile(gomod)
				if err != nil {
					return err
				}
				if err := os.WriteFile(gomod, []byte(strings.ReplaceAll(string(b), "REPO", repo)), 0o644); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(filepath.Dir(gomod), "go.sum"), sum, 0o644); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// webhook starts a receiver for -notify on loopback, for the rest of the
// script: it sets $WEBHOOK to its address and appends each body it gets,
// one per line, to $WORK/webhook.jsonl. "webhook fail N" makes it answer
// 503 to the first N posts.
func webhook(ts *testscript.TestScript, neg bool, args []string) {
	failFirst := 0
	if len(args) == 2 && args[0] == "fail" {
		failFirst, _ = strconv.Atoi(args[1])
	}
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= failFirst {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f, err := os.OpenFile(ts.MkAbs("webhook.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			f.Write(append(body, '\n'))
			f.Close()
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv("WEBHOOK", srv.URL+"/hooks/secret-token")
}

// ingested waits until the module's spool holds no journal: the ingester
// that a go test run in TestMain mode starts has stored them.
func ingested(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: ingested")
	}
	spool := ts.MkAbs(filepath.Join(".evalrec", "spool"))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		files, err := store.PendingSpool(spool)
		ts.Check(err)
		if len(files) == 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("journals not stored within 30 s: %v", files)
		}
	}
}

// seedHistory writes histgen's standard history into the embedded store
// file, where the script's evalrec commands will find it.
func seedHistory(file string) error {
	db, err := store.Connect(context.Background(), store.SQLiteURI(file), "vt_metrics", 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = histgen.Standard(context.Background(), db, time.Now())
	return err
}

func goEnv(t *testing.T, key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}
