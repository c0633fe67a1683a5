package store

import (
	"context"
	"time"
)

// DB is an open store: the portable API over a [Driver], which callers
// never hold, so that every call has a deadline. On top of the driver it
// does what evalrec does the same way on every store (run references,
// finalization, replay, pruning).
type DB struct {
	drv  Driver
	uri  string // redacted
	name string
}

// NewDB wraps an open driver. uri is its connection string, without
// credentials, and name the database's name, which journals record.
func NewDB(d Driver, uri, name string) *DB {
	return &DB{drv: d, uri: uri, name: name}
}

// URI is the connection string with credentials masked.
func (d *DB) URI() string { return d.uri }

// Label names the store in journals: its redacted URI.
func (d *DB) Label() string { return d.uri }

// queryTimeout bounds read queries; opTimeout each read and write of
// finalization.
const (
	queryTimeout = 2 * time.Minute
	opTimeout    = 10 * time.Second
)

// Compactor is a driver that can give the space of deleted documents back
// (SQLite keeps freed pages; MongoDB's storage engine reuses them itself).
type Compactor interface {
	Compact(ctx context.Context) (before, after int64, err error)
}

// Compact gives the space of deleted documents back where the store needs
// to be told, and reports the sizes before and after; ok is false where
// there is nothing to do.
func (d *DB) Compact(ctx context.Context) (before, after int64, ok bool, err error) {
	c, ok := d.drv.(Compactor)
	if !ok {
		return 0, 0, false, nil
	}
	before, after, err = c.Compact(ctx)
	return before, after, true, err
}

// onOneMachine says the store is a file on this machine (SQLite), whose
// writers all run here: their liveness is their journal's lock.
func (d *DB) onOneMachine() bool { return Scheme(d.uri) == "sqlite" }
