// Package embedded runs the embedded store: FerretDB v1 on SQLite, started in
// this process and reached over the MongoDB wire protocol like any server.
//
// One process may serve a data directory at a time. FerretDB caches its
// metadata in memory, so two processes on one directory corrupt each other's
// view; a file lock on DIR/.lock enforces the rule.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/gofrs/flock"
)

// DefaultAddr is where `evalrec serve` listens: MongoDB's default address, so
// a plain MONGODB_ENABLED=true finds it.
const DefaultAddr = "127.0.0.1:27017"

// ErrLocked means another process already serves the data directory.
var ErrLocked = errors.New("embedded: the data directory is in use by another evalrec process")

// Server is a running embedded store.
type Server struct {
	uri    string
	dir    string
	lock   *flock.Flock
	cancel context.CancelFunc
	done   chan struct{}
}

// Start serves the data directory dir on addr ("127.0.0.1:0" picks a free
// port). It creates dir if needed. The caller must Close the server, after
// disconnecting its own clients: FerretDB waits up to 3 s for connected
// clients when it shuts down.
func Start(dir, addr string) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	lock := flock.New(filepath.Join(abs, ".lock"))
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("embedded: locking %s: %w", abs, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrLocked, abs)
	}
	// FerretDB's New leaks its backend when the listener fails, and the leak
	// panics the process at the next GC. Check the address first.
	if err := checkAddr(addr); err != nil {
		lock.Unlock()
		return nil, err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("embedded: starting FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{uri: f.MongoDBURI(), dir: abs, lock: lock, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		f.Run(ctx)
	}()
	return s, nil
}

func checkAddr(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("embedded: cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}

// URI is the connection string of the server, e.g. mongodb://127.0.0.1:41234/.
func (s *Server) URI() string { return s.uri }

// Dir is the absolute data directory.
func (s *Server) Dir() string { return s.dir }

// Close stops the server and releases the directory. It waits at most a few
// seconds for FerretDB to finish.
func (s *Server) Close() error {
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		return errors.New("embedded: FerretDB did not stop within 10s")
	}
	return s.lock.Unlock()
}
