// Package faults is evalrec's fault-injection suite. It runs real suites
// through the three ways of recording (TestMain, the converter and the
// wrapper) under the faults that CI produces: killed and interrupted
// processes, panics and os.Exit, stores that are missing, held or
// read-only, malformed and mixed streams, reused run IDs, long attributes
// and secrets in every shape. Each test checks that no result that
// finished is lost, that a run's totals equal its stored test runs, that no
// secret reaches any output, file or document, and that the exit code is
// go test's own.
//
// It runs with the rest of the tests: go test ./... (or go test ./faults).
package faults
