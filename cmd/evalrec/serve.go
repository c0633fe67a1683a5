//go:build ferretdb

// This file is built only with -tags ferretdb: it links FerretDB, which
// the default evalrec leaves out (it doubles the first build's time). It
// adds `evalrec serve`, a local MongoDB stand-in, and lets `evalrec
// migrate -from-legacy` read the first version's embedded store.

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/storeloc"
	"evalrec.dev/store"
)

func init() {
	extraCommands = append(extraCommands, func(env *environment) *ffcli.Command { return newServeCmd(env).command() })
	openLegacy = func(ctx context.Context, dir, database string) (*store.DB, func(), error) {
		if _, err := os.Stat(dir); err != nil {
			return nil, nil, fmt.Errorf("no store of the first version here: %w", err)
		}
		srv, err := embedded.Start(dir, "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		db, err := store.Connect(ctx, srv.URI(), database, 10*time.Second)
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		return db, func() { db.Close(); srv.Close() }, nil
	}
}

type serveCmd struct {
	env  *environment
	fs   *flag.FlagSet
	addr string
	dir  string
}

func newServeCmd(env *environment) *serveCmd {
	c := &serveCmd{env: env, fs: flag.NewFlagSet("serve", flag.ContinueOnError)}
	c.fs.StringVar(&c.addr, "addr", embedded.DefaultAddr, "address to listen on")
	c.fs.StringVar(&c.dir, "data", "", "data directory (default: .evalrec/ferretdb at the module root)")
	return c
}

func (c *serveCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "serve",
		ShortUsage: "evalrec serve [-addr 127.0.0.1:27017] [-data DIR]",
		ShortHelp:  "Serve a local MongoDB stand-in (FerretDB), for mongosh and for trying the MongoDB path.",
		FlagSet:    c.fs,
		Exec:       c.Run,
	}
}

// Run serves until interrupted.
func (c *serveCmd) Run(ctx context.Context, _ []string) error {
	cfg, err := config.Load("")
	if err != nil {
		return err
	}
	if c.dir == "" {
		c.dir = filepath.Join(storeloc.Dir(cfg), "ferretdb")
	}
	serveCollector.apply(os.Getenv)
	srv, err := embedded.Start(c.dir, c.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.env.stderr, "evalrec: FerretDB serving %s at %s (Ctrl-C to stop)\n", c.dir, srv.URI())
	<-ctx.Done()
	return srv.Close()
}

// serveCollector is the garbage collector's settings of a process that
// only serves FerretDB, which allocates a lot for every document it
// stores: at the default GOGC=100, marking and sweeping took 14% of the
// store's CPU while a 2,000-test suite recorded into it. With GOGC=400 it
// spent 350-373 ms of CPU per run of that suite instead of 466-500 ms. The
// soft memory limit brings collection back to normal before a large
// query's heap can grow fivefold. GOGC and GOMEMLIMIT win (see
// [gcSettings]).
var serveCollector = gcSettings{percent: 400, limit: 1 << 30}
