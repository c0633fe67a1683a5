// Package storeloc says where evalrec's store is: the one
// MONGODB_CONNECTION_STRING names, else the embedded SQLite file in the
// module's .evalrec directory. It opens nothing and links no driver, so
// that the library a test binary imports can name the store its journals
// are meant for (see package storeconn for opening it).
package storeloc

import (
	"path/filepath"

	"evalrec.dev/internal/config"
	"evalrec.dev/store"
)

// Dir is the module's .evalrec directory, which holds the embedded store
// and the spool.
func Dir(cfg *config.Config) string {
	root := cfg.ModuleRoot
	if root == "" {
		root = "."
	}
	return filepath.Join(root, ".evalrec")
}

// EmbeddedFile is the embedded store's file: one per database name, so
// MONGODB_DATABASE keeps its meaning.
func EmbeddedFile(cfg *config.Config) string {
	return filepath.Join(Dir(cfg), cfg.Database+".db")
}

// URI is the connection string of the store cfg names.
func URI(cfg *config.Config) string {
	if cfg.URISet {
		return cfg.URI
	}
	return store.SQLiteURI(EmbeddedFile(cfg))
}
