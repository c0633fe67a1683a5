package store

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
)

// DB is a connection to one evalrec database.
type DB struct {
	client   *mongo.Client
	db       *mongo.Database
	redacted string
	label    string
}

// Connect reaches the server at uri and checks it with a ping, all within
// timeout. The error never contains the password.
func Connect(ctx context.Context, uri, database string, timeout time.Duration) (*DB, error) {
	redacted := redact.URI(uri)
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(timeout).
		SetConnectTimeout(timeout).
		SetAppName("evalrec").
		// Nested documents (the system under test) decode as maps, as they
		// were written, so that their canonical JSON, and the system hash,
		// does not depend on the order the server kept.
		SetBSONOptions(&options.BSONOptions{DefaultDocumentM: true})
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
	return &DB{client: client, db: client.Database(database), redacted: redacted, label: redacted}, nil
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

// URI is the connection string with credentials masked.
func (d *DB) URI() string { return d.redacted }

// Label names the store for spool files and messages: the redacted URI,
// unless [DB.SetLabel] gave another name (the embedded store's directory,
// whose URI changes with every start).
func (d *DB) Label() string { return d.label }

// SetLabel sets what [DB.Label] returns.
func (d *DB) SetLabel(l string) { d.label = l }

func labelFor(uri string) string { return redact.URI(uri) }

// Name is the database name.
func (d *DB) Name() string { return d.db.Name() }

// Database exposes the underlying database, for tests and tools.
func (d *DB) Database() *mongo.Database { return d.db }

func (d *DB) runs() *mongo.Collection  { return d.db.Collection(RunsCollection) }
func (d *DB) tests() *mongo.Collection { return d.db.Collection(TestsCollection) }
func (d *DB) parts() *mongo.Collection { return d.db.Collection(PartsCollection) }

// Close disconnects, waiting at most a second for operations in flight.
func (d *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return d.client.Disconnect(ctx)
}

// Index specifications: the seed's, plus the parts' lookup keys.
var indexes = map[string][]mongo.IndexModel{
	RunsCollection: {
		{Keys: bson.D{{Key: "started_at", Value: 1}}},
		{Keys: bson.D{{Key: "project", Value: 1}, {Key: "started_at", Value: 1}}},
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "system_info_hash", Value: 1}}},
		{Keys: bson.D{{Key: "experiment_tags", Value: 1}}},
		{Keys: bson.D{{Key: "score", Value: 1}}},
	},
	TestsCollection: {
		{Keys: bson.D{{Key: "test_run_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "test_id", Value: 1}, {Key: "finished_at", Value: 1}}},
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}},
		{Keys: bson.D{{Key: "status", Value: 1}}},
		{Keys: bson.D{{Key: "score", Value: 1}}},
	},
	PartsCollection: {
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}},
	},
	PartValuesCollection: {
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}},
	},
	PartsArchiveCollection: {
		{Keys: bson.D{{Key: "evaluation_run_id", Value: 1}}},
	},
}

// EnsureIndexes creates the indexes that are missing. It is idempotent.
//
// It lists the existing indexes and creates the missing ones one at a time:
// FerretDB v1.24.2 panics (and drops the connection) when one createIndexes
// command names several indexes that already exist on a non-empty collection.
func (d *DB) EnsureIndexes(ctx context.Context) error {
	for coll, models := range indexes {
		iv := d.db.Collection(coll).Indexes()
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

// RecreateIndexes drops evalrec's indexes and creates them again, for the
// seed's "Missing Indexes" troubleshooting step.
func (d *DB) RecreateIndexes(ctx context.Context) error {
	for coll := range indexes {
		if err := d.db.Collection(coll).Indexes().DropAll(ctx); err != nil && !isNamespaceNotFound(err) {
			return fmt.Errorf("dropping indexes on %s: %w", coll, err)
		}
	}
	return d.EnsureIndexes(ctx)
}

func isNamespaceNotFound(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 26
}
