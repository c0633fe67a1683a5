// Package storetest gives each test a fresh evalrec store of a real kind,
// never a mock: an SQLite file (the embedded store), FerretDB started for
// the test (MongoDB's stand-in), or the MongoDB at EVALREC_TEST_MONGODB_URI
// when that is set. [Each] runs a test on every kind; the behaviour every
// driver must keep is store/drivertest's.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/redact"
	"evalrec.dev/model"
	"evalrec.dev/store"
	"evalrec.dev/store/mongo"
	_ "evalrec.dev/store/sqlite" // sqlite:
)

// EnvURI names the variable that points the tests at a real MongoDB.
const EnvURI = "EVALREC_TEST_MONGODB_URI"

// Kind is a kind of store.
type Kind string

const (
	SQLite   Kind = "sqlite"
	FerretDB Kind = "ferretdb"
	MongoDB  Kind = "mongodb"
)

// Kinds are the kinds this machine can test: SQLite and FerretDB, and
// MongoDB when EVALREC_TEST_MONGODB_URI is set.
func Kinds() []Kind {
	ks := []Kind{SQLite, FerretDB}
	if os.Getenv(EnvURI) != "" {
		ks = append(ks, MongoDB)
	}
	return ks
}

// Store is one test's database.
type Store struct {
	Kind     Kind
	URI      string
	Database string
	// SpoolDir is the spool that Env points test binaries at.
	SpoolDir string
	DB       *store.DB
	// Server is the FerretDB server, or nil.
	Server *embedded.Server
	mongo  *mongo.Store
}

// Each runs fn as a subtest on a fresh store of every kind in [Kinds].
func Each(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) { fn(t, Open(t, k)) })
	}
}

// New returns a fresh embedded store: an SQLite file, the default.
func New(t testing.TB) *Store { return Open(t, SQLite) }

// NewMongo returns a fresh MongoDB database: on real MongoDB when
// EVALREC_TEST_MONGODB_URI is set, else on FerretDB.
func NewMongo(t testing.TB) *Store {
	if os.Getenv(EnvURI) != "" {
		return Open(t, MongoDB)
	}
	return Open(t, FerretDB)
}

// Open returns a fresh, empty store of kind k with evalrec's indexes.
// Everything is removed when the test ends.
func Open(t testing.TB, k Kind) *Store {
	t.Helper()
	s := &Store{Kind: k, Database: "evalrec_test_" + randomHex(6), SpoolDir: filepath.Join(settledDir(t), "spool")}
	switch k {
	case SQLite:
		s.URI = store.SQLiteURI(filepath.Join(settledDir(t), s.Database+".db"))
	case MongoDB:
		s.URI = os.Getenv(EnvURI)
		if s.URI == "" {
			t.Skip("set " + EnvURI + " to test on MongoDB")
		}
	case FerretDB:
		srv, err := embedded.Start(t.TempDir(), "127.0.0.1:0")
		if err != nil {
			t.Fatalf("starting FerretDB: %v", err)
		}
		s.Server, s.URI = srv, srv.URI()
		t.Cleanup(func() {
			if err := srv.Close(); err != nil {
				t.Errorf("stopping FerretDB: %v", err)
			}
		})
	default:
		t.Fatalf("no store kind %q", k)
	}
	var db *store.DB
	var err error
	if k == SQLite {
		db, err = store.Connect(context.Background(), s.URI, s.Database, 10*time.Second)
	} else {
		// Opened here, not by the registry, so that the test keeps the
		// MongoDB handle (Mongo) that the store hides.
		s.mongo, err = mongo.Open(context.Background(), s.URI, s.Database, 10*time.Second)
		if err == nil {
			db = store.NewDB(s.mongo, redact.URI(s.URI), s.Database)
		}
	}
	if err != nil {
		t.Fatalf("opening the test store: %v", err)
	}
	if err := db.EnsureIndexes(context.Background()); err != nil {
		t.Fatalf("creating indexes: %v", err)
	}
	s.DB = db
	// Cleanups run last-in first-out: disconnect before the server stops.
	t.Cleanup(func() {
		if m := s.mongo; m != nil && k == MongoDB {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = m.Database().Drop(ctx)
		}
		_ = db.Close()
	})
	return s
}

// Env returns the environment that points evalrec at this store, for
// test binaries started by a test.
func (s *Store) Env() []string {
	return []string{
		"MONGODB_ENABLED=true",
		"MONGODB_CONNECTION_STRING=" + s.URI,
		"MONGODB_DATABASE=" + s.Database,
		"EVALREC_SPOOL_DIR=" + s.SpoolDir,
	}
}

// AwaitIngest waits until the journals that test binaries left in s's
// spool have been stored: by the ingester the first of them started once
// go test ended (on the embedded store; see internal/settle), or, on
// MongoDB, at once.
func (s *Store) AwaitIngest(t testing.TB) { AwaitIngest(t, s.SpoolDir) }

// AwaitIngest waits until no journal is left in spool, and fails the test
// after 30 s.
func AwaitIngest(t testing.TB, spool string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, err := store.PendingSpool(spool)
		if err != nil {
			t.Fatalf("reading the spool: %v", err)
		}
		if len(files) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("journals not stored within 30 s: %v", files)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mongo returns the MongoDB database, or nil for SQLite.
func (s *Store) Mongo() *mongo.Store { return s.mongo }

// settledDir is t.TempDir for a store or a spool that a test binary's
// ingester (see internal/settle) may still be closing when the test ends:
// it stores the last journal, which AwaitIngest waits for, and then
// closes the store, whose files SQLite removes as it does. Removing the
// directory is tried again for a while rather than failing the test.
func settledDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "evalrec-store-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			err := os.RemoveAll(dir)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("removing %s: %v", dir, err)
				return
			}
		}
	})
	return dir
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Runs returns every run of db, oldest first.
func Runs(t testing.TB, db *store.DB) []model.EvaluationRun {
	t.Helper()
	rs, err := db.Runs(context.Background(), store.RunFilter{})
	if err != nil {
		t.Fatalf("reading runs: %v", err)
	}
	slices.Reverse(rs)
	return rs
}

// TestRuns returns the test runs of a run, with their output, sorted by
// _id.
func TestRuns(t testing.TB, db *store.DB, run model.ID) []model.TestRun {
	t.Helper()
	ctx := context.Background()
	trs, err := db.TestRunsOf(ctx, run)
	if err != nil {
		t.Fatalf("reading test runs: %v", err)
	}
	for i := range trs {
		if trs[i].Output, err = db.TestOutput(ctx, trs[i].ID); err != nil {
			t.Fatalf("reading output: %v", err)
		}
	}
	return trs
}

// Documents returns every stored document as JSON, one a line,
// for tests that look for what must never be stored.
func Documents(t testing.TB, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	for _, coll := range []string{store.RunsCollection, store.PartsCollection, store.TestsCollection} {
		err := db.Each(context.Background(), coll, func(doc any) error {
			j, err := json.Marshal(doc)
			b.Write(j)
			b.WriteByte('\n')
			return err
		})
		if err != nil {
			t.Fatalf("reading %s: %v", coll, err)
		}
	}
	return b.String()
}

// EmbeddedAt opens the embedded store of the module in dir (the default
// database's file), as evalrec's commands find it there.
func EmbeddedAt(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Connect(context.Background(), store.SQLiteURI(filepath.Join(dir, ".evalrec", "vt_metrics.db")), "vt_metrics", 10*time.Second)
	if err != nil {
		t.Fatalf("opening the embedded store in %s: %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
