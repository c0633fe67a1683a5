package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"evalrec.dev/compare"
	"evalrec.dev/internal/pipeline"
	"evalrec.dev/internal/storetest"
	"evalrec.dev/model"
	"evalrec.dev/samples"
	"evalrec.dev/store"
)

// wideStream is the go test -json stream of a suite as wide as
// golang.org/x/text: tests tests and subtests over 25 packages, a third of
// them subtests, a metric on one in ten. The test named failing fails.
func wideStream(tests int, ts, failing string) []byte {
	var b bytes.Buffer
	const pkgs = 25
	perPkg := tests / pkgs
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	for p := range pkgs {
		pkg := fmt.Sprintf("example.com/wide/pkg%02d", p)
		line(`{"Time":%q,"Action":"start","Package":%q}`, ts, pkg)
		failed := false
		for i := 0; i < perPkg; {
			parent := fmt.Sprintf("TestFunction%05d", i)
			names := []string{parent}
			for k := 1; k <= 2 && i+k < perPkg; k++ {
				names = append(names, fmt.Sprintf("%s/case_%d", parent, k))
			}
			i += len(names)
			for _, name := range names {
				line(`{"Time":%q,"Action":"run","Package":%q,"Test":%q}`, ts, pkg, name)
			}
			// Subtests end before their parent, as go test reports them,
			// and a subtest's failure fails its parent.
			childFailed := false
			for k := len(names) - 1; k >= 0; k-- {
				name := names[k]
				if i%10 == 0 && k == 0 {
					line(`{"Time":%q,"Action":"attr","Package":%q,"Test":%q,"Key":"evalrec.metric.accuracy","Value":"{\"value\":0.9,\"direction\":\"higher\"}"}`, ts, pkg, name)
				}
				action := "pass"
				if pkg+"."+name == failing || (k == 0 && childFailed) {
					action = "fail"
					childFailed = true
				}
				if action == "fail" {
					failed = true
					line(`{"Time":%q,"Action":"output","Package":%q,"Test":%q,"Output":"    wide_test.go:12: got 1, want 2\n"}`, ts, pkg, name)
				}
				line(`{"Time":%q,"Action":%q,"Package":%q,"Test":%q,"Elapsed":0.001}`, ts, action, pkg, name)
			}
		}
		action := "pass"
		if failed {
			action = "fail"
		}
		line(`{"Time":%q,"Action":%q,"Package":%q,"Elapsed":1}`, ts, action, pkg)
	}
	return b.Bytes()
}

// TestAWideRunStoresAndComparesCorrectly stores two runs of a 50,000-test
// suite through the converter's path, the second with one subtest newly
// failing (and so its parent), and checks what the store holds and what
// compare says.
//
// It checks width, not concurrency, and under -race it took two minutes:
// there it skips, and CI runs it without.
func TestAWideRunStoresAndComparesCorrectly(t *testing.T) {
	if raceDetector {
		t.Skip("a width test: .ci/run runs it without -race")
	}
	const tests = 50000
	const parent, failing = "example.com/wide/pkg12.TestFunction01233", "example.com/wide/pkg12.TestFunction01233/case_1"
	s := storetest.New(t)
	ctx := context.Background()
	var runs []model.EvaluationRun
	for i, stream := range [][]byte{
		wideStream(tests, "2026-12-01T10:00:00Z", ""),
		wideStream(tests, "2026-12-02T10:00:00Z", failing),
	} {
		res, err := pipeline.Ingest(ctx, bytes.NewReader(stream), pipeline.Options{
			Config: benchConfig(s.Database), Source: "converter", DB: s.DB})
		if err != nil || res.StorageErr != nil {
			t.Fatalf("ingest %d: %v %v", i+1, err, res.StorageErr)
		}
		runs = append(runs, *res.Run)
	}
	for i, r := range runs {
		wantFailed := 2 * i // the second run's failing subtest and its parent
		if r.NumTests != tests || r.NumPassed != tests-wantFailed || r.NumFailed != wantFailed {
			t.Errorf("run %d: %d tests, %d passed, %d failed; want %d, %d, %d", i+1, r.NumTests, r.NumPassed, r.NumFailed,
				tests, tests-wantFailed, wantFailed)
		}
		if r.MetricStats["accuracy"].N == 0 {
			t.Errorf("run %d holds no accuracy values", i+1)
		}
	}
	// The results the statistics read are the rows stored.
	rows, failed := 0, 0
	err := s.DB.Results(ctx, store.IDs(runs))(func(rs *samples.Results) error {
		for _, r := range rs.Rows {
			rows++
			if r.Status() == "failed" {
				failed++
				if got := rs.Tests[r.Test].TestID; got != failing && got != parent {
					t.Errorf("%s failed; only %s and its parent should have", got, failing)
				}
			}
		}
		return nil
	})
	if err != nil || rows != 2*tests || failed != 2 {
		t.Errorf("the results hold %d rows (want %d) and %d failures (want 2): %v", rows, 2*tests, failed, err)
	}
	rep, err := compare.Load(ctx, s.DB, runs[:1], runs[1:], compare.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{parent, failing}; !slices.Equal(rep.NewlyFailing, want) {
		t.Errorf("newly failing: %v, want %v", rep.NewlyFailing, want)
	}
	if len(rep.NewTests)+len(rep.RemovedTests)+len(rep.Fixed) > 0 {
		t.Errorf("the test sets should be equal: %d new, %d removed, %d fixed", len(rep.NewTests), len(rep.RemovedTests), len(rep.Fixed))
	}
}
