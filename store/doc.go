// Package store is what evalrec does the same way whatever holds its
// documents: the documents themselves, the writer session (journaled on
// disk first, so that a writer that dies, or a store that is away, loses
// nothing), replay, finalization, run references and pruning. Below it, a
// [Driver] per kind of store keeps the documents: store/mongo for MongoDB,
// store/sqlite for the embedded SQLite file.
//
// The rules that keep it correct on every store, and on FerretDB v1 as
// MongoDB's stand-in:
//
//   - Idempotency comes from unique keys on insert. A duplicate means
//     "stored already". There are no upserts, and no transactions but
//     the embedded store's own (a writer's batch, a run's finalizing).
//   - Run totals are never built with increments, which FerretDB v1 loses
//     under concurrency. They are recomputed from the run's stored test runs
//     and written at once; its status comes from its parts, one per test
//     binary (or package, for the converter), each written only by its
//     owner.
//   - NaN and ±Inf never reach the store (FerretDB drops the connection),
//     and field names from users never contain "." or a leading "$".
//   - Every operation has a short deadline, never the driver's 30 s default.
package store

// Collection names.
const (
	RunsCollection  = "evaluation_runs"
	TestsCollection = "test_runs"
	// PartsCollection holds one document per test binary (TestMain mode) or
	// per package (converter): the unit that writes results and knows when it
	// is done.
	PartsCollection = "evaluation_run_parts"
)
