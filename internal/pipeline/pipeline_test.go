package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"evalrec.dev/internal/pipeline"
	"evalrec.dev/internal/storetest"
)

// TestIngestingAStreamAgainJoinsItsRun is what running gojson2mongo twice on
// one file does: the second session joins the run the first stored, while
// the stream is read. Under -race this found the run context rewritten by
// the session's goroutine as the reader took it.
func TestIngestingAStreamAgainJoinsItsRun(t *testing.T) {
	s := storetest.New(t)
	data := stream(400)
	for i := range 2 {
		res, err := pipeline.Ingest(context.Background(), bytes.NewReader(data), pipeline.Options{
			Config: benchConfig(s.Database), Source: "converter", DB: s.DB})
		if err != nil || res.StorageErr != nil {
			t.Fatalf("ingest %d: %v %v", i+1, err, res.StorageErr)
		}
		if res.Run.NumTests != 400 {
			t.Errorf("ingest %d: the run has %d tests, want 400", i+1, res.Run.NumTests)
		}
	}
	if rs := storetest.Runs(t, s.DB); len(rs) != 1 {
		t.Errorf("%d runs, want the one run both ingests stored", len(rs))
	}
}

// TestAStreamReadALineAtATimeStoresTheSame: the converter decodes lines
// ahead, in batches that end where the stream has nothing more buffered.
// A stream that arrives a byte at a time (a live go test) makes a batch of
// almost every line; one read whole makes full batches. Both must give the
// same documents, in the same order, and the same counts, bad lines
// included.
func TestAStreamReadALineAtATimeStoresTheSame(t *testing.T) {
	data := stream(1000) // several batches
	bad := []byte("not an event\n")
	data = append(append(append([]byte{}, data[:len(data)/2]...), bad...), data[len(data)/2:]...)
	dryRun := func(r io.Reader) (*pipeline.Result, []string) {
		t.Helper()
		var out bytes.Buffer
		res, err := pipeline.Ingest(context.Background(), r, pipeline.Options{
			Config: benchConfig("db"), Source: "converter", DryRun: &out})
		if err != nil {
			t.Fatal(err)
		}
		var tests []string
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.Contains(line, `"collection":"test_runs"`) {
				// The test run's ID names the run, which each ingest names
				// anew: keep what follows it.
				_, rest, _ := strings.Cut(line, `"test_id":`)
				tests = append(tests, rest)
			}
		}
		return res, tests
	}
	whole, wholeTests := dryRun(bytes.NewReader(data))
	trickled, trickledTests := dryRun(iotest.OneByteReader(bytes.NewReader(data)))
	if len(wholeTests) != 1000 {
		t.Fatalf("%d test runs read whole, want 1000", len(wholeTests))
	}
	if !slices.Equal(wholeTests, trickledTests) {
		t.Errorf("the test runs differ: %d read whole, %d a byte at a time", len(wholeTests), len(trickledTests))
	}
	if whole.Stats.BadLines != 1 || trickled.Stats.BadLines != 1 || whole.Stats.Events != trickled.Stats.Events {
		t.Errorf("bad lines %d and %d (want 1 each), events %d and %d", whole.Stats.BadLines, trickled.Stats.BadLines, whole.Stats.Events, trickled.Stats.Events)
	}
	if whole.Run.NumTests != 1000 || trickled.Run.NumTests != 1000 {
		t.Errorf("runs of %d and %d tests, want 1000", whole.Run.NumTests, trickled.Run.NumTests)
	}
}
