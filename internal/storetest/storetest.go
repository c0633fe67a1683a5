// Package storetest gives each test a fresh evalrec database on a real
// MongoDB-wire server: the embedded FerretDB store, started for the test, or
// the MongoDB at EVALREC_TEST_MONGODB_URI when that is set. There is no mock.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"evalrec.dev/internal/embedded"
	"evalrec.dev/store"
)

// EnvURI names the variable that points the tests at a real MongoDB.
const EnvURI = "EVALREC_TEST_MONGODB_URI"

// Store is one test's database.
type Store struct {
	URI      string
	Database string
	DB       *store.DB
	// Server is the embedded server, or nil on real MongoDB.
	Server *embedded.Server
}

// New returns a fresh, empty database with evalrec's indexes. Everything is
// removed when the test ends.
func New(t testing.TB) *Store {
	t.Helper()
	s := &Store{Database: "evalrec_test_" + randomHex(6)}
	if uri := os.Getenv(EnvURI); uri != "" {
		s.URI = uri
	} else {
		srv, err := embedded.Start(t.TempDir(), "127.0.0.1:0")
		if err != nil {
			t.Fatalf("starting the embedded store: %v", err)
		}
		s.Server, s.URI = srv, srv.URI()
		t.Cleanup(func() {
			if err := srv.Close(); err != nil {
				t.Errorf("stopping the embedded store: %v", err)
			}
		})
	}
	db, err := store.Connect(context.Background(), s.URI, s.Database, 10*time.Second)
	if err != nil {
		t.Fatalf("connecting to the test store: %v", err)
	}
	if err := db.EnsureIndexes(context.Background()); err != nil {
		t.Fatalf("creating indexes: %v", err)
	}
	s.DB = db
	// Cleanups run last-in first-out: disconnect before the server stops.
	t.Cleanup(func() {
		if s.Server == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = db.Database().Drop(ctx)
		}
		_ = db.Close()
	})
	return s
}

// Env returns the environment that points evalrec at this database, for
// test binaries started by a test.
func (s *Store) Env() []string {
	return []string{
		"MONGODB_ENABLED=true",
		"MONGODB_CONNECTION_STRING=" + s.URI,
		"MONGODB_DATABASE=" + s.Database,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
