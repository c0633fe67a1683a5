package settle

import (
	"os"
	"testing"

	"evalrec.dev/internal/testenv"
)

// The tests run with no setting of the user's: see package testenv.
func TestMain(m *testing.M) {
	testenv.Clean()
	os.Exit(m.Run())
}
