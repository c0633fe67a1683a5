package mongo_test

import (
	"os"
	"testing"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testenv"
	"evalrec.dev/store"
	"evalrec.dev/store/drivertest"
)

func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}

// TestContract runs on FerretDB, and on real MongoDB too when
// EVALREC_TEST_MONGODB_URI is set.
func TestContract(t *testing.T) {
	for _, k := range storetest.Kinds() {
		if k != storetest.SQLite {
			t.Run(string(k), func(t *testing.T) {
				drivertest.RunConformanceTests(t, func(t *testing.T) *store.DB { return storetest.Open(t, k).DB })
			})
		}
	}
}
