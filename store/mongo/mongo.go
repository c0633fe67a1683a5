// Package mongo keeps evalrec's documents in MongoDB (a replica set, Atlas),
// through mongo-driver v2: the store that teams share. Importing it
// registers the mongodb:// and mongodb+srv:// connection strings with
// [store.Connect].
//
// It works on real MongoDB and on FerretDB v1, the stand-in the tests use:
// idempotency comes from unique keys on insert (duplicate key 11000 means
// "stored already"), there are no upserts, transactions or $inc, and every
// operation has a deadline, so the driver never waits its 30 s default.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"evalrec.dev/internal/redact"
	"evalrec.dev/store"
)

func init() {
	store.Register(func(ctx context.Context, uri, database string, timeout time.Duration) (store.Driver, error) {
		return Open(ctx, uri, database, timeout)
	}, "mongodb", "mongodb+srv")
}

// Store is a MongoDB database holding evalrec's collections.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
}

// Open reaches the server at uri and checks it with a ping, all within
// timeout. The error never contains the password.
func Open(ctx context.Context, uri, database string, timeout time.Duration) (*Store, error) {
	redacted := redact.URI(uri)
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(timeout).
		SetConnectTimeout(timeout).
		SetAppName("evalrec").
		// Nested documents (the system under test) decode as maps, as they
		// were written, so that their canonical JSON, and the system hash,
		// does not depend on the order the server kept. The model's
		// types carry JSON tags only: their names are the stored names.
		SetBSONOptions(&options.BSONOptions{DefaultDocumentM: true, UseJSONStructTags: true}).
		SetRegistry(registry)
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, &ConnectError{URI: redacted, Cause: reason(err)}
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Ping(pctx, nil); err != nil {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
		defer dcancel()
		_ = client.Disconnect(dctx)
		return nil, &ConnectError{URI: redacted, Cause: reason(err)}
	}
	return &Store{client: client, db: client.Database(database)}, nil
}

// ConnectError says the server could not be reached, in one line.
type ConnectError struct {
	URI   string // redacted
	Cause string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot reach MongoDB at %s (%s)", e.URI, e.Cause)
}

// reason picks the useful part out of the driver's long topology errors.
func reason(err error) string {
	msg := err.Error()
	for _, r := range []string{
		"connection refused", "no such host", "i/o timeout", "connection reset by peer",
		"Authentication failed", "authentication failed", "certificate", "server selection timeout",
	} {
		if strings.Contains(msg, r) {
			return r
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	msg = redact.URIsIn(msg)
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}

// Database exposes the underlying database, for tests and tools.
func (s *Store) Database() *mongo.Database { return s.db }

// Close disconnects, waiting at most a second for operations in flight.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.client.Disconnect(ctx)
}

func (s *Store) runs() *mongo.Collection  { return s.db.Collection(store.RunsCollection) }
func (s *Store) tests() *mongo.Collection { return s.db.Collection(store.TestsCollection) }
func (s *Store) parts() *mongo.Collection { return s.db.Collection(store.PartsCollection) }

// indexes are the seed's, plus what the CLI's filters need.
var indexes = map[string][]mongo.IndexModel{
	store.RunsCollection: {
		{Keys: bson.D{{Key: "started_at", Value: 1}}},
		{Keys: bson.D{{Key: "project", Value: 1}, {Key: "started_at", Value: 1}}},
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "system_info_hash", Value: 1}}},
		{Keys: bson.D{{Key: "experiment_tags", Value: 1}}},
		{Keys: bson.D{{Key: "score", Value: 1}}},
		{Keys: bson.D{{Key: "status", Value: 1}}},
	},
	store.TestsCollection: {
		{Keys: bson.D{{Key: "test_run_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "test_id", Value: 1}, {Key: "finished_at", Value: 1}}},
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}},
		{Keys: bson.D{{Key: "status", Value: 1}}},
		{Keys: bson.D{{Key: "score", Value: 1}}},
	},
	store.PartsCollection: {
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}},
	},
}

// ensureIndexes creates the indexes that are missing. It is idempotent.
//
// It lists the existing indexes and creates the missing ones one at a time:
// FerretDB v1.24.2 panics (and drops the connection) when one createIndexes
// command names several indexes that already exist on a non-empty collection.
func (s *Store) ensureIndexes(ctx context.Context) error {
	for coll, models := range indexes {
		iv := s.db.Collection(coll).Indexes()
		existing, err := indexNames(ctx, iv)
		if err != nil {
			return fmt.Errorf("listing indexes on %s: %w", coll, err)
		}
		for _, m := range models {
			if existing[indexName(m.Keys.(bson.D))] {
				continue
			}
			if _, err := iv.CreateOne(ctx, m); err != nil {
				return fmt.Errorf("creating indexes on %s: %w", coll, err)
			}
		}
	}
	return nil
}

func indexNames(ctx context.Context, iv mongo.IndexView) (map[string]bool, error) {
	cur, err := iv.List(ctx)
	if err != nil {
		if isNamespaceNotFound(err) {
			return map[string]bool{}, nil
		}
		return nil, err
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(specs))
	for _, s := range specs {
		names[s.Name] = true
	}
	return names, nil
}

// indexName is the server's default name for keys: field_1_other_-1.
func indexName(keys bson.D) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s_%v", k.Key, k.Value))
	}
	return strings.Join(parts, "_")
}

// Indexes implements [store.Driver]. Recreating drops evalrec's indexes
// and creates them again, for the seed's "Missing Indexes" troubleshooting
// step.
func (s *Store) Indexes(ctx context.Context, recreate bool) error {
	if !recreate {
		return s.ensureIndexes(ctx)
	}
	for coll := range indexes {
		if err := s.db.Collection(coll).Indexes().DropAll(ctx); err != nil && !isNamespaceNotFound(err) {
			return fmt.Errorf("dropping indexes on %s: %w", coll, err)
		}
	}
	return s.ensureIndexes(ctx)
}

func isNamespaceNotFound(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 26
}
