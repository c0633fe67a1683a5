package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

// TestASpoolOfTheFirstFormatIsReplayed: evalrec's first version spooled
// operations as canonical MongoDB Extended JSON. A file it left behind is
// still stored, read without the MongoDB driver: IDs, dates, numbers of
// every width, a NaN, a part's $set and the run's finalization.
func TestASpoolOfTheFirstFormatIsReplayed(t *testing.T) {
	s := storetest.New(t)
	const run = "65f0a1b2c3d4e5f601234567"
	oid := `{"$oid":"` + run + `"}`
	date := func(ms string) string { return `{"$date":{"$numberLong":"` + ms + `"}}` }
	test := func(name, status, score string) string {
		return `{"op":"insert","coll":"test_runs","doc":{"_id":"r1/example.com/p.` + name + `#1","evaluation_run_id":` + oid +
			`,"test_run_id":"r1/example.com/p.` + name + `#1","test_id":"example.com/p.` + name + `","test_name":"` + name +
			`","package":"example.com/p","go_test":"` + name + `","attempt":{"$numberInt":"1"},"finished_at":` + date("1710269000500") +
			`,"duration_ms":{"$numberDouble":"12.5"},"status":"` + status + `","passed":` + map[bool]string{true: "true", false: "false"}[status == "passed"] +
			`,"metrics":{"acc":{"value":{"$numberDouble":"` + score + `"},"direction":"higher","score":{"$numberDouble":"` + score + `"}},` +
			`"big":{"value":{"$numberDouble":"1.5e308"},"direction":"higher","score":{"$numberDouble":"-Infinity"}}},` +
			`"score":{"$numberDouble":"` + score + `"},"score_method":"mean","tags":[],"participants":[],"environment":"ci","project":"example.com/p","git_commit":null,"git_branch":null}}`
	}
	lines := []string{
		`{"op":"insert","coll":"evaluation_runs","doc":{"_id":` + oid + `,"evaluation_run_id":"r1","started_at":` + date("1710269000000") +
			`,"finished_at":null,"git_commit":null,"git_branch":null,"git_dirty":null,"environment":"ci","experiment_tags":[],` +
			`"system_information":{"go_version":"go1.22","goos":"linux","goarch":"amd64","cpu_model":"x","num_cpu":{"$numberInt":"2"},` +
			`"module":"example.com/p","module_version":"","dependencies":[],"system_under_test":{"model":"m1","since":` + date("1700000000000") + `},"hostname":"h"},` +
			`"system_info_hash":"abc","metrics":{},"metric_stats":{},"num_tests":{"$numberInt":"0"},"num_passed":{"$numberInt":"0"},` +
			`"num_failed":{"$numberInt":"0"},"num_skipped":{"$numberInt":"0"},"num_incomplete":{"$numberInt":"0"},"status":"running","score":null,` +
			`"source":"testmain","project":"example.com/p","packages":["example.com/p"]}}`,
		`{"op":"insert","coll":"evaluation_run_parts","doc":{"_id":"` + run + `.example.com/p","evaluation_run_id":` + oid +
			`,"package":"example.com/p","host":"h","pid":{"$numberLong":"123"},"started_at":` + date("1710269000000") +
			`,"heartbeat_at":` + date("1710269000000") + `,"finished_at":null,"status":"running","exit_code":null,"summary":{}}}`,
		test("TestA", "passed", "0.9"),
		test("TestB", "failed", "NaN"),
		`{"op":"set","coll":"evaluation_run_parts","id":"` + run + `.example.com/p","set":{"status":"completed","finished_at":` + date("1710269001000") +
			`,"exit_code":{"$numberInt":"1"}}}`,
		`{"op":"finalize","run":` + oid + `}`,
	}
	spool := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(spool, run+".123.1710269000000000000.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644))

	rep, err := s.DB.Replay(context.Background(), spool, store.ReplayOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Files)
	assert.Empty(t, rep.Rejected)
	assert.Empty(t, rep.SetAside)

	id, _ := model.ParseID(run)
	r, err := s.DB.Run(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "r1", r.EvaluationRunID)
	assert.Equal(t, model.StatusCompleted, r.Status, "its one part completed")
	assert.Equal(t, 2, r.NumTests)
	assert.Equal(t, 1, r.NumPassed)
	assert.Equal(t, "m1", r.System.SystemUnderTest["model"])
	assert.Equal(t, 2, r.System.NumCPU)
	trs := storetest.TestRuns(t, s.DB, id)
	require.Len(t, trs, 2)
	assert.InDelta(t, 12.5, trs[0].DurationMS, 1e-9)
	assert.InDelta(t, 0.9, *trs[0].Score, 1e-9)
	assert.Nil(t, trs[1].Score, "NaN is stored as nothing")
	require.NotNil(t, trs[0].Metrics["big"].Value)
	assert.Equal(t, 1.5e308, *trs[0].Metrics["big"].Value, "a large finite double stays")
	assert.Equal(t, int64(1710269000500), trs[0].FinishedAt.UnixMilli())
}
