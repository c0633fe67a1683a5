package sqlite_test

import (
	"os"
	"testing"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}

func TestContract(t *testing.T) { storetest.Contract(t, storetest.SQLite) }
