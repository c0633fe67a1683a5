// Package layering states how evalrec's packages are stacked: each may
// import only packages of a lower layer (its tests may import above it,
// as a driver's tests import the shared conformance harness). Its test
// checks every import of the module against it, and that only the store's
// MongoDB driver (store/mongo) imports the MongoDB driver's packages.
package layering

// Layers lists the module's packages (paths relative to evalrec.dev),
// lowest first. A prefix ending in "/" stands for every package under it.
var Layers = [][]string{
	// Helpers that know nothing of evalrec's data.
	{"internal/redact", "internal/logline", "internal/timespec", "internal/columns", "internal/clihint",
		"internal/dotdir", "internal/jsonout", "internal/testenv", "internal/embedded", "internal/notify", "scoring"},
	// What a test result and its provenance are; configuration.
	{"result", "provenance", "internal/metricfile", "internal/config", "internal/testmod"},
	// evalrec's own types for what it records: runs, test runs, IDs.
	{"model"},
	// A writer's crash-safe record of what it was given; test runs in the
	// narrow form the statistics read.
	{"journal", "samples"},
	// The store's portable API; reading go test's stream; analyses over
	// samples, which so never see the store.
	{"store", "ingest", "internal/junit", "compare", "analytics"},
	// The store's drivers and their conformance suite (which imports
	// none); where the store is (which names no driver); generators.
	{"store/sqlite", "store/mongo", "store/drivertest", "internal/storeloc", "internal/histgen"},
	// Choosing and opening a store; moving documents between stores (in
	// MongoDB's Extended JSON); what tests of the drivers share; measuring
	// the gate.
	{"internal/storeconn", "internal/transfer", "internal/storetest", "internal/gatesim"},
	// Storing a stream or a suite's results; the UI.
	{"internal/pipeline", "internal/settle", "internal/ui"},
	// The library users import.
	{"evalrec"},
	// Programs and the tests of the whole.
	{"cmd/", "bench/", "faults", "internal/layering"},
}
