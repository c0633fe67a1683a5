// Package evalrec gives a Go test suite a persistent, queryable memory.
//
// Wrap the suite once:
//
//	func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }
//
// and report what a test measured:
//
//	evalrec.Record(t, evalrec.Metrics{"wer": 0.12, "completeness": 0.95})
//
// With MONGODB_ENABLED=true, every go test invocation becomes one evaluation
// run in the store (MongoDB, or the embedded SQLite file) and every test
// that calls Record becomes one test run, with its metrics, score, status and
// duration. The test binary links no store driver: it journals each result,
// and the evalrec command stores the journals once go test ends (see the
// README and internal/settle). With storage disabled, Main only runs the
// tests: no goroutine, no file, and one line saying so.
//
// # What TestMain mode sees
//
// testing.M has no per-test hook, so the recorder sees exactly the tests that
// call Record. A test that never calls Record is not stored, but if it fails,
// the run is marked failed ("go test exited 1 with no recorded failure"). To
// store every test, pipe `go test -json` into gojson2mongo or run the suite
// with `evalrec test`; Record then only emits attributes (see below) and the
// single writer stores them.
//
// # Calling Record more than once
//
// Calls in one test accumulate: metrics with new names are added, a metric
// with a name already recorded is replaced, tags and participants are merged,
// and the last TestID, TestName and ScoreMethod win. The score is computed
// once, over all the metrics, when the test ends (from t.Cleanup), and the
// test is stored then with its final status: passed, failed or skipped.
//
// Record is safe for parallel tests and subtests. Each iteration of
// -count=N is stored as its own attempt of the same test; -shuffle changes
// nothing.
//
// # Attributes
//
// Record emits its data with t.Attr under the "evalrec." prefix (see
// package evalrec.dev/result for the convention), so a go test -json stream
// carries the metrics, scores and IDs even when nothing is stored in-process.
// testing prints attributes only in verbose mode (-v, and -json, which
// implies it), so Record encodes them only then.
//
// # Metric names and values
//
// Names are mapped to safe keys, one to one ("lat.p99" is stored as
// "lat%2Ep99"; see result.MetricKey) and the original name is kept beside
// the value. NaN and ±Inf values are stored as null with a note of what
// they were, score 0 and never pass.
//
// # Crashes
//
// Every result is written to a journal before the test returns, so a test
// that panics, calls os.Exit or is killed loses nothing it recorded: the
// next binary of the run, or the next evalrec command, stores it. The test
// that panicked is stored as failed.
package evalrec
