package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/model"
	"evalrec.dev/store"
)

// TestQueriesUseIndexesOnMongoDB asks real MongoDB to explain the queries
// behind history, runs and flaky/compare, and checks that each uses an
// index. FerretDB's explain always reports a scan (it pushes down only _id
// lookups), so this runs only with EVALREC_TEST_MONGODB_URI.
func TestQueriesUseIndexesOnMongoDB(t *testing.T) {
	if os.Getenv(storetest.EnvURI) == "" {
		t.Skip("explain is only meaningful on real MongoDB; set " + storetest.EnvURI)
	}
	s := storetest.Open(t, storetest.MongoDB)
	ctx := context.Background()
	explain := func(coll string, filter, sort bson.D) string {
		cmd := bson.D{{Key: "explain", Value: bson.D{{Key: "find", Value: coll}, {Key: "filter", Value: filter}, {Key: "sort", Value: sort}}},
			{Key: "verbosity", Value: "queryPlanner"}}
		var out bson.M
		require.NoError(t, s.Mongo().Database().RunCommand(ctx, cmd).Decode(&out))
		return fmt.Sprint(out["queryPlanner"])
	}
	history := explain(store.TestsCollection, bson.D{{Key: "test_id", Value: "x"}}, bson.D{{Key: "finished_at", Value: -1}})
	assert.Contains(t, history, "IXSCAN")
	assert.Contains(t, history, "test_id_1_finished_at_1")

	ofRuns := explain(store.TestsCollection, bson.D{{Key: "evaluation_run_id", Value: bson.D{{Key: "$in", Value: bson.A{model.NewID()}}}}}, bson.D{})
	assert.Contains(t, ofRuns, "evaluation_run_id_1")

	recent := explain(store.RunsCollection, bson.D{}, bson.D{{Key: "started_at", Value: -1}})
	assert.Contains(t, recent, "started_at_1")

	byTag := explain(store.RunsCollection, bson.D{{Key: "experiment_tags", Value: bson.D{{Key: "$all", Value: bson.A{"baseline"}}}}}, bson.D{})
	assert.Contains(t, byTag, "experiment_tags_1")
}
