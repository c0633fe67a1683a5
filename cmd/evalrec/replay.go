package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/settle"
	"evalrec.dev/internal/storeconn"
	"evalrec.dev/store"
)

type replayCmd struct {
	env   *environment
	fs    *flag.FlagSet
	dir   string
	force bool
	json  bool
}

func newReplayCmd(env *environment) *replayCmd {
	c := &replayCmd{env: env, fs: flag.NewFlagSet("replay", flag.ContinueOnError)}
	c.fs.StringVar(&c.dir, "spool", "", "spool directory (default: EVALREC_SPOOL_DIR)")
	c.fs.BoolVar(&c.force, "force", false, "store files meant for another store or database here too")
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	return c
}

func (c *replayCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "replay",
		ShortUsage: "evalrec replay [-spool DIR] [-force]",
		ShortHelp:  "Store results that were spooled while the store was unreachable, and those of writers that died.",
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
	if settle.IsIngester() {
		// Started by a test binary in TestMain mode: store once its go
		// command has exited, unless another ingester will.
		if settle.Wait(cfg) != nil {
			return nil
		}
	}
	conn, err := storeconn.Open(ctx, cfg, logline.New(c.env.stderr))
	if err != nil {
		return err
	}
	defer conn.Close()
	rep, err := conn.DB.Replay(ctx, cfg.SpoolDir, store.ReplayOptions{Timeout: cfg.WriteTimeout, Force: c.force})
	if c.json {
		rejected := make([]string, len(rep.Rejected))
		for i, e := range rep.Rejected {
			rejected[i] = e.Error()
		}
		return errors.Join(err, printJSON(c.env.stdout, map[string]any{
			"files": rep.Files, "tests": rep.Tests, "recovered": nonNilStrings(rep.Recovered),
			"inserted": rep.Inserted, "already_stored": rep.Duplicates, "rejected": rejected,
			"bad_lines": rep.BadLines, "set_aside": rep.SetAside,
			"skipped": nonNilStrings(rep.Skipped), "elsewhere": nonNilStrings(rep.Elsewhere)}))
	}
	fmt.Fprintf(c.env.stdout, "replayed %d spool files into %s: %d test results\n", rep.Files, conn.Where, rep.Tests+rep.Inserted)
	for _, r := range rep.Recovered {
		fmt.Fprintf(c.env.stdout, "  recovered from a writer that died: %s\n", r)
	}
	log := logline.New(c.env.stderr)
	rep.Files, rep.Recovered = 0, nil // said above
	reportReplay(log, rep, nil)
	for _, f := range rep.Skipped {
		fmt.Fprintf(c.env.stderr, "evalrec: skipped %s: its writer is still running\n", logline.RelPath(f))
	}
	return err
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// reportReplay says in one line each what an automatic replay stored and
// what it could not.
func reportReplay(log *slog.Logger, rep store.ReplayReport, err error) {
	if rep.Files > 0 {
		msg := fmt.Sprintf("stored %d spooled result files from earlier runs", rep.Files)
		if len(rep.Recovered) > 0 {
			msg += fmt.Sprintf(", among them the journals of %d runs that died (%s)", len(rep.Recovered), strings.Join(rep.Recovered, "; "))
		}
		log.Info(msg)
	}
	if rep.BadLines > 0 {
		log.Warn(fmt.Sprintf("%d spooled lines could not be read; they are set aside in %s", rep.BadLines, logline.RelPath(rep.SetAside)))
	}
	if len(rep.Rejected) > 0 {
		log.Warn(fmt.Sprintf("the store rejected %d spooled documents: %v", len(rep.Rejected), rep.Rejected[0]))
	}
	if len(rep.Elsewhere) > 0 {
		what := fmt.Sprintf("%d spool files are meant for another store and were left alone (first: %s); `evalrec replay -force` stores them here", len(rep.Elsewhere), rep.Elsewhere[0])
		if len(rep.Elsewhere) == 1 {
			what = fmt.Sprintf("a spool file is meant for another store and was left alone: %s; `evalrec replay -force` stores it here", rep.Elsewhere[0])
		}
		log.Warn(what + ", or `evalrec replay` with that store configured")
	}
	if err != nil {
		log.Warn(fmt.Sprintf("replaying the spool: %v; run `evalrec replay` to retry", err))
	}
}

// replaySpool stores pending spool files; every command that opens the
// store calls it, so spooled results land at the next chance.
func replaySpool(ctx context.Context, db *store.DB, cfg *config.Config) (store.ReplayReport, error) {
	return db.Replay(ctx, cfg.SpoolDir, store.ReplayOptions{Timeout: cfg.WriteTimeout})
}
