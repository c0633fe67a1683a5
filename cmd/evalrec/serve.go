package main

import (
	"context"
	"flag"
	"fmt"

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
	srv, err := embedded.Start(c.dir, c.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.env.stderr, "evalrec: embedded store serving %s at %s (Ctrl-C to stop)\n", c.dir, srv.URI())
	<-ctx.Done()
	return srv.Close()
}
