package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/storeconn"
	"evalrec.dev/store"
)

type replayCmd struct {
	env  *environment
	fs   *flag.FlagSet
	dir  string
	json bool
}

func newReplayCmd(env *environment) *replayCmd {
	c := &replayCmd{env: env, fs: flag.NewFlagSet("replay", flag.ContinueOnError)}
	c.fs.StringVar(&c.dir, "spool", "", "spool directory (default: EVALREC_SPOOL_DIR)")
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	return c
}

func (c *replayCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "replay",
		ShortUsage: "evalrec replay [-spool DIR]",
		ShortHelp:  "Store results that were spooled while MongoDB was unreachable.",
		FlagSet:    c.fs,
		Exec:       c.Run,
	}
}

// Run replays the spool into the store.
func (c *replayCmd) Run(ctx context.Context, _ []string) error {
	cfg, err := config.Load("")
	if err != nil {
		return err
	}
	if c.dir != "" {
		cfg.SpoolDir = c.dir
	}
	conn, err := storeconn.Open(ctx, cfg, logline.New(c.env.stderr))
	if err != nil {
		return err
	}
	defer conn.Close()
	rep, err := replaySpool(ctx, conn.DB, cfg)
	if c.json {
		rejected := make([]string, len(rep.Rejected))
		for i, e := range rep.Rejected {
			rejected[i] = e.Error()
		}
		return errors.Join(err, printJSON(c.env.stdout, map[string]any{"files": rep.Files, "inserted": rep.Inserted,
			"already_stored": rep.Duplicates, "rejected": rejected, "skipped": rep.Skipped}))
	}
	fmt.Fprintf(c.env.stdout, "replayed %d spool files into %s: %d documents stored, %d already there\n",
		rep.Files, conn.Where, rep.Inserted, rep.Duplicates)
	for _, e := range rep.Rejected {
		fmt.Fprintf(c.env.stderr, "evalrec: rejected: %v\n", e)
	}
	for _, f := range rep.Skipped {
		fmt.Fprintf(c.env.stderr, "evalrec: skipped %s: its writer is still running\n", f)
	}
	return err
}

// replaySpool stores pending spool files; every command that opens the
// store calls it, so spooled results land at the next chance.
func replaySpool(ctx context.Context, db *store.DB, cfg *config.Config) (store.ReplayReport, error) {
	return db.Replay(ctx, cfg.SpoolDir, store.ReplayOptions{Timeout: cfg.WriteTimeout})
}
