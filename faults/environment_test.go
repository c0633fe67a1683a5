package faults

import (
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/testmod"
)

// TestTheProjectsTestsIgnoreTheUsersSettings runs the project's own end-to-end
// tests with every setting of a user's shell pointing elsewhere: at a
// server this test listens as, and at values that are invalid. They must
// pass, and never connect to it.
func TestTheProjectsTestsIgnoreTheUsersSettings(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs other packages' tests")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	var connections atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	hostile := []string{
		"MONGODB_ENABLED=true",
		"MONGODB_CONNECTION_STRING=mongodb://user:pw@" + l.Addr().String() + "/",
		"MONGODB_DATABASE=users_own",
		"ENVIRONMENT=prod",
		"EXPERIMENT_TAGS=users-experiment",
		"EVALREC_RUN_ID=users-run",
		"EVALREC_FLUSH_INTERVAL=1ns",
		"EVALREC_SPOOL_DIR=" + t.TempDir(),
	}
	// The user's own evalrec command, named and on PATH: the tests'
	// TestMain-mode runs must hand their journals to this checkout's.
	users := t.TempDir()
	ran := filepath.Join(users, "ran")
	script := "#!/bin/sh\necho \"$@\" >> " + ran + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(users, "evalrec"), []byte(script), 0o755))
	hostile = append(hostile, "EVALREC_BIN="+filepath.Join(users, "evalrec"), "PATH="+users+string(os.PathListSeparator)+os.Getenv("PATH"))
	// One test per way of storing: the three ways side by side (a
	// module's go test in TestMain mode, the converter, the wrapper), the
	// example suite's TestMain, and a script, whose environment testscript
	// builds (every script's alike, so one stands for all). Without -race:
	// the environment is what is tested, and CI runs them under -race
	// apart (40 s of this test became 36 s, and 80 CPU-s 63).
	args := []string{"test", "-count=1", "-run", "TestScripts/wrapper$|TestThreeWaysStoreEquivalentTestRuns|TestExampleSuiteStoresACompleteRun"}
	out := testmod.Run(t, testmod.Repo(t), hostile, "go", append(args, "./cmd/evalrec", "./cmd/gojson2mongo", "./evalrec")...)
	assert.Zero(t, out.Code, out.Combined())
	assert.Zero(t, connections.Load(), "a test connected to the user's server")
	_, err = os.Stat(ran)
	assert.ErrorIs(t, err, os.ErrNotExist, "a test ran the user's evalrec command")
}

// TestGoTestOfTheModuleLeavesTheExampleOut: the example suite stores
// where a user's settings point, as any suite does; go test ./... of this
// module must not run it, so it is a module of its own.
func TestGoTestOfTheModuleLeavesTheExampleOut(t *testing.T) {
	t.Parallel()
	out := testmod.Run(t, testmod.Repo(t), nil, "go", "list", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.NotContains(t, out.Stdout, "examples", "go test ./... would run the example suite")
	out = testmod.Run(t, testmod.Repo(t)+"/examples", nil, "go", "list", "./...")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Stdout, "evalrec.dev/examples/scenario_test")
}
