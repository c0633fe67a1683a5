// Package storeconn finds the store evalrec writes to and reads from: the
// one MONGODB_CONNECTION_STRING names (mongodb://, mongodb+srv:// or
// sqlite:), else the embedded SQLite file in the module's .evalrec
// directory. Importing it registers both drivers.
package storeconn

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/storeloc"
	"evalrec.dev/store"
	_ "evalrec.dev/store/mongo"  // mongodb:// and mongodb+srv://
	_ "evalrec.dev/store/sqlite" // sqlite:
)

// Conn is an open store. Close it when done.
type Conn struct {
	DB *store.DB
	// Where describes the store for people: a redacted URI or a file.
	Where string
}

// Close closes the store.
func (c *Conn) Close() error { return c.DB.Close() }

// Open opens the store cfg names, within cfg.ConnectTimeout. With
// MONGODB_CONNECTION_STRING set, that store must answer; nothing else is
// tried. Otherwise it opens the embedded store, creating it if needed, and
// says so on log.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Conn, error) {
	if cfg.URISet {
		db, err := store.Connect(ctx, cfg.URI, cfg.Database, cfg.ConnectTimeout)
		if err != nil {
			return nil, err
		}
		return &Conn{DB: db, Where: db.URI()}, nil
	}
	file := storeloc.EmbeddedFile(cfg)
	db, err := store.Connect(ctx, store.SQLiteURI(file), cfg.Database, max(cfg.ConnectTimeout, 10*time.Second))
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Info(fmt.Sprintf("no MongoDB configured: using the embedded store %s", logline.RelPath(file)))
		if legacy := LegacyDir(cfg); legacy != "" {
			log.Warn(LegacyNotice(legacy))
		}
	}
	return &Conn{DB: db, Where: "embedded store " + logline.RelPath(file)}, nil
}

// LegacyDir is the embedded store of evalrec's first version (FerretDB's
// files in .evalrec/data), when one is there and not yet migrated.
func LegacyDir(cfg *config.Config) string {
	dir := filepath.Join(storeloc.Dir(cfg), "data")
	matches, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if len(matches) == 0 {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, MigratedMark)); err == nil {
		return ""
	}
	return dir
}

// MigratedMark, in a legacy store's directory, says its history was copied.
const MigratedMark = "MIGRATED"

// LegacyNotice tells, in one line, how to keep the history of a legacy
// store.
func LegacyNotice(dir string) string {
	return fmt.Sprintf("%s holds the history of an earlier evalrec, which this one no longer reads; copy it into the embedded store once with `go run -tags ferretdb evalrec.dev/cmd/evalrec migrate -from-legacy`",
		logline.RelPath(dir))
}
