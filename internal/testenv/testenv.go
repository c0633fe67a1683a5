// Package testenv keeps the project's tests out of the user's world: no
// setting from the user's shell or .env points a test at the user's store.
// Every test package that runs evalrec, in-process or as a command, calls
// [Clean] from its TestMain, and commands it starts inherit the result.
package testenv

import (
	"os"
	"strings"
)

// kept are variables of evalrec's namespace that tests do read: the real
// MongoDB the conformance tests run on, when one is given.
var kept = map[string]bool{"EVALREC_TEST_MONGODB_URI": true}

// Clean removes every setting that points evalrec somewhere: MONGODB_*,
// EVALREC_* (except EVALREC_TEST_MONGODB_URI), ENVIRONMENT and
// EXPERIMENT_TAGS, and the variables that point git at a repository
// (GIT_DIR, GIT_WORK_TREE, …): evalrec runs git, and a test's repository is
// its own.
//
// It also sets GORACE's atexit_sleep_ms to 0 (see [RaceNoExitWait]).
func Clean() {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if isSetting(k) {
			os.Unsetenv(k)
		}
	}
	os.Setenv("GORACE", RaceNoExitWait(os.Getenv("GORACE")))
}

// RaceNoExitWait adds atexit_sleep_ms=0 to a GORACE value: a race-built
// program that exits 0 otherwise waits a second for other goroutines to
// report, and the tests start hundreds of them (the converter, the
// wrapper, test binaries, the CLI a script runs). A race is still
// reported, and still fails the program.
//
// It is idempotent, as nested test binaries call Clean again.
func RaceNoExitWait(gorace string) string {
	if strings.Contains(gorace, "atexit_sleep_ms=0") {
		return gorace
	}
	return strings.TrimSpace(gorace + " atexit_sleep_ms=0")
}

// Environ is os.Environ without those settings.
func Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !isSetting(k) {
			out = append(out, kv)
		}
	}
	return out
}

func isSetting(k string) bool {
	if kept[k] {
		return false
	}
	return strings.HasPrefix(k, "MONGODB_") || strings.HasPrefix(k, "EVALREC_") || k == "ENVIRONMENT" || k == "EXPERIMENT_TAGS" || gitLocation[k]
}

// gitLocation are git's variables that choose the repository it reads.
var gitLocation = map[string]bool{"GIT_DIR": true, "GIT_WORK_TREE": true, "GIT_INDEX_FILE": true,
	"GIT_OBJECT_DIRECTORY": true, "GIT_COMMON_DIR": true, "GIT_NAMESPACE": true}
