package store

import "time"

// DB is an open store: a [Driver], with what evalrec does the same way on
// every store (run references, finalization, replay, pruning) on top.
type DB struct {
	Driver
	uri string // redacted
}

// NewDB wraps an open driver. uri is its connection string, without
// credentials.
func NewDB(d Driver, uri string) *DB {
	return &DB{Driver: d, uri: uri}
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
