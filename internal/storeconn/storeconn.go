// Package storeconn finds the store for evalrec's commands: the configured
// MongoDB, else a server at the default address, else the embedded store in
// the module's .evalrec directory.
package storeconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/logline"
	"evalrec.dev/store"
)

// Conn is an open store. Close it when done: it disconnects before stopping
// the embedded server, which is the order FerretDB shuts down fast in.
type Conn struct {
	DB       *store.DB
	Embedded *embedded.Server // nil unless the embedded store was started
	// Where describes the store for people: a redacted URI or a directory.
	Where string
}

// Close disconnects and stops the embedded server, if any.
func (c *Conn) Close() error {
	err := c.DB.Close()
	if c.Embedded != nil {
		err = errors.Join(err, c.Embedded.Close())
	}
	return err
}

// probeTimeout bounds the check for a server at the default address.
const probeTimeout = 700 * time.Millisecond

// DataDir is where the embedded store keeps its files.
func DataDir(cfg *config.Config) string {
	root := cfg.ModuleRoot
	if root == "" {
		root = "."
	}
	return filepath.Join(root, ".evalrec", "data")
}

// Open connects to the store. With MONGODB_CONNECTION_STRING set, that server
// must answer. Otherwise a server at the default address is used when one
// answers, and else the embedded store is started, with a one-line notice.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Conn, error) {
	if cfg.URISet {
		db, err := store.Connect(ctx, cfg.URI, cfg.Database, cfg.ConnectTimeout)
		if err != nil {
			return nil, err
		}
		return &Conn{DB: db, Where: db.URI()}, nil
	}
	if db, err := store.Connect(ctx, cfg.URI, cfg.Database, probeTimeout); err == nil {
		return &Conn{DB: db, Where: db.URI()}, nil
	}
	dir := DataDir(cfg)
	srv, err := embedded.Start(dir, "127.0.0.1:0")
	if err != nil {
		if errors.Is(err, embedded.ErrLocked) {
			return nil, fmt.Errorf("%w; if `evalrec serve` is running, point MONGODB_CONNECTION_STRING at it", err)
		}
		return nil, err
	}
	db, err := store.Connect(ctx, srv.URI(), cfg.Database, 10*time.Second)
	if err != nil {
		srv.Close()
		return nil, err
	}
	if log != nil {
		log.Info(fmt.Sprintf("no MongoDB configured or at %s: using the embedded store in %s", cfg.URI, logline.RelPath(dir)))
	}
	return &Conn{DB: db, Embedded: srv, Where: "embedded store in " + logline.RelPath(dir)}, nil
}
