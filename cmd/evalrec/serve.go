package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/embedded"
	"evalrec.dev/internal/storeconn"
)

type serveCmd struct {
	env  *environment
	fs   *flag.FlagSet
	addr string
	dir  string
}

func newServeCmd(env *environment) *serveCmd {
	c := &serveCmd{env: env, fs: flag.NewFlagSet("serve", flag.ContinueOnError)}
	c.fs.StringVar(&c.addr, "addr", embedded.DefaultAddr, "address to listen on")
	c.fs.StringVar(&c.dir, "data", "", "data directory (default: .evalrec/data at the module root)")
	return c
}

func (c *serveCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "serve",
		ShortUsage: "evalrec serve [-addr 127.0.0.1:27017] [-data DIR]",
		ShortHelp:  "Serve the embedded store, so MONGODB_ENABLED=true go test works with no MongoDB.",
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
		c.dir = storeconn.DataDir(cfg)
	}
	tuneGC(os.Getenv)
	srv, err := embedded.Start(c.dir, c.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.env.stderr, "evalrec: embedded store serving %s at %s (Ctrl-C to stop)\n", c.dir, srv.URI())
	<-ctx.Done()
	return srv.Close()
}

// The garbage collector settings of a process that only serves the embedded
// store. FerretDB allocates a lot for every document it stores: at the
// default GOGC=100, marking and sweeping took 14% of the store's CPU while
// a 2,000-test suite recorded into it. With GOGC=400 the store spent
// 350-373 ms of CPU per run of that suite instead of 466-500 ms (GOGC=800
// saved no more), and its peak RSS was 58 MB instead of 44 MB. The soft
// memory limit brings collection back to normal before a large query's heap
// can grow fivefold.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 1 << 30
)

// tuneGC applies the store's collector settings, except where the user set
// GOGC or GOMEMLIMIT, which win.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
