package pipeline_test

import (
	"bytes"
	"context"
	"testing"

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
