package sqlite_test

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

func TestContract(t *testing.T) {
	drivertest.RunConformanceTests(t, func(t *testing.T) *store.DB { return storetest.Open(t, storetest.SQLite).DB })
}
