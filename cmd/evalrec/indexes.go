package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"
)

type indexesCmd struct {
	env  *environment
	fs   *flag.FlagSet
	json bool
}

func newIndexesCmd(env *environment) *indexesCmd {
	c := &indexesCmd{env: env, fs: flag.NewFlagSet("indexes", flag.ContinueOnError)}
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	return c
}

func (c *indexesCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "indexes",
		ShortUsage: "evalrec indexes",
		ShortHelp:  "Drop and re-create evalrec's indexes, when queries are slow or an index is missing.",
		FlagSet:    c.fs,
		Exec:       c.Run,
	}
}

// Run re-creates the indexes.
func (c *indexesCmd) Run(ctx context.Context, _ []string) error {
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.DB.RecreateIndexes(ctx); err != nil {
		return err
	}
	if c.json {
		return printJSON(c.env.stdout, map[string]any{"recreated": true, "database": conn.DB.Name(), "store": conn.Where})
	}
	fmt.Fprintf(c.env.stdout, "indexes re-created in %s (database %s)\n", conn.Where, conn.DB.Name())
	return nil
}
