// Package storeconn finds the store for evalrec's commands: the configured
// MongoDB, else the embedded store in the module's .evalrec directory.
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

// DataDir is where the embedded store keeps its files.
func DataDir(cfg *config.Config) string {
	root := cfg.ModuleRoot
	if root == "" {
		root = "."
	}
	return filepath.Join(root, ".evalrec", "data")
}

// EmbeddedLabel names the embedded store of cfg's module in spool files:
// its absolute directory, which stays the same from run to run.
func EmbeddedLabel(cfg *config.Config) string {
	abs, err := filepath.Abs(DataDir(cfg))
	if err != nil {
		abs = DataDir(cfg)
	}
	return "embedded:" + abs
}

// Open connects to the store. With MONGODB_CONNECTION_STRING set, that server
// must answer. Otherwise the embedded store is started, with a one-line
// notice. Nothing else is tried: a MongoDB that happens to listen on this
// machine is used only when it is configured.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Conn, error) {
	if cfg.URISet {
		db, err := store.Connect(ctx, cfg.URI, cfg.Database, cfg.ConnectTimeout)
		if err != nil {
			return nil, err
		}
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
	db.SetLabel(EmbeddedLabel(cfg))
	if log != nil {
		log.Info(fmt.Sprintf("no MongoDB configured: using the embedded store in %s", logline.RelPath(dir)))
	}
	return &Conn{DB: db, Embedded: srv, Where: "embedded store in " + logline.RelPath(dir)}, nil
}
