package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/storeconn"
	"evalrec.dev/internal/storeloc"
	"evalrec.dev/internal/transfer"
	"evalrec.dev/internal/ui"
	"evalrec.dev/store"
)

// openLegacy opens the store of evalrec's first version (FerretDB's files)
// for reading; only a build with -tags ferretdb can (see legacy.go).
var openLegacy func(ctx context.Context, dir, database string) (db *store.DB, stop func(), err error)

type migrateCmd struct {
	env                *environment
	fs                 *flag.FlagSet
	from, to           string
	fromLegacy, asJSON bool
}

func newMigrateCmd(env *environment) *migrateCmd {
	c := &migrateCmd{env: env, fs: flag.NewFlagSet("migrate", flag.ContinueOnError)}
	c.fs.StringVar(&c.to, "to", "", "the store to copy into: a connection string (mongodb://…, sqlite:PATH), or embedded")
	c.fs.StringVar(&c.from, "from", "", "the store to copy from (default: the configured one)")
	c.fs.BoolVar(&c.fromLegacy, "from-legacy", false, "copy from the first version's store in .evalrec/data into the embedded store (needs -tags ferretdb)")
	c.fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	return c
}

func (c *migrateCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "migrate",
		ShortUsage: "evalrec migrate -to URI|embedded [-from URI] | -from-legacy",
		ShortHelp:  "Copy every run, part and test run into another store; running it again copies only what is missing.",
		LongHelp: `Copies the history of the configured store (or -from) into -to, runs
first, then their parts and test runs. What the target holds already is
left as it is, so an interrupted migration is finished by running it
again. "embedded" names the module's embedded store, so

  MONGODB_CONNECTION_STRING=mongodb://host/ evalrec migrate -to embedded

copies a MongoDB history back into it.`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// Run copies the history.
func (c *migrateCmd) Run(ctx context.Context, _ []string) error {
	cfg, err := config.Load("")
	if err != nil {
		return err
	}
	var from, to *store.DB
	var fromWhere string
	switch {
	case c.fromLegacy:
		if c.from != "" {
			return errors.New("give -from or -from-legacy, not both")
		}
		dir := filepath.Join(storeloc.Dir(cfg), "data")
		if openLegacy == nil {
			return fmt.Errorf("this evalrec cannot read the first version's store: run `go run -tags ferretdb evalrec.dev/cmd/evalrec migrate -from-legacy`")
		}
		db, stop, err := openLegacy(ctx, dir, cfg.Database)
		if err != nil {
			return err
		}
		defer stop()
		from, fromWhere = db, logline.RelPath(dir)
		if c.to == "" {
			c.to = "embedded"
		}
	case c.from != "":
		if from, err = store.Connect(ctx, c.resolve(cfg, c.from), cfg.Database, cfg.ConnectTimeout); err != nil {
			return err
		}
		defer from.Close()
		fromWhere = from.URI()
	default:
		conn, err := storeconn.Open(ctx, cfg, nil)
		if err != nil {
			return err
		}
		defer conn.Close()
		from, fromWhere = conn.DB, conn.Where
	}
	if c.to == "" {
		return errors.New("-to is required: a connection string (mongodb://…, sqlite:PATH), or embedded")
	}
	target := c.resolve(cfg, c.to)
	if target == from.URI() {
		return fmt.Errorf("-to names the store it would copy from (%s)", from.URI())
	}
	if to, err = store.Connect(ctx, target, cfg.Database, cfg.ConnectTimeout); err != nil {
		return err
	}
	defer to.Close()
	if err := to.EnsureIndexes(ctx); err != nil {
		return err
	}
	start := time.Now()
	rep, err := transfer.Copy(ctx, from, to, newMeter(c.env.stderr, "copying").show)
	if err != nil {
		return err
	}
	if c.fromLegacy {
		mark := filepath.Join(storeloc.Dir(cfg), "data", storeconn.MigratedMark)
		_ = os.WriteFile(mark, []byte("copied into "+to.URI()+" on "+time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
	}
	return printTransfer(c.env, c.asJSON, rep, fmt.Sprintf("copied %s into %s in %s", fromWhere, to.URI(), time.Since(start).Round(time.Millisecond)))
}

// resolve turns "embedded" into the embedded store's connection string.
func (c *migrateCmd) resolve(cfg *config.Config, uri string) string {
	if uri == "embedded" {
		return store.SQLiteURI(storeloc.EmbeddedFile(cfg))
	}
	return uri
}

func printTransfer(env *environment, asJSON bool, rep transfer.Report, headline string) error {
	rejected := make([]string, len(rep.Rejected))
	for i, e := range rep.Rejected {
		rejected[i] = e.Error()
	}
	if asJSON {
		return printJSON(env.stdout, map[string]any{"written": rep.Written, "already_there": rep.Present,
			"conflicts": nonNilStrings(rep.Conflicts), "rejected": rejected})
	}
	fmt.Fprintln(env.stdout, headline)
	w := table(env.stdout)
	fmt.Fprintln(w, "COLLECTION\tWRITTEN\tALREADY THERE")
	for _, coll := range transfer.Collections {
		fmt.Fprintf(w, "%s\t%d\t%d\n", coll, rep.Written[coll], rep.Present[coll])
	}
	w.Flush()
	if len(rep.Conflicts) > 0 {
		fmt.Fprintf(env.stderr, "evalrec: %d runs were not copied: the target has other runs with their IDs (first: %s)\n", len(rep.Conflicts), rep.Conflicts[0])
	}
	if len(rejected) > 0 {
		fmt.Fprintf(env.stderr, "evalrec: %d documents were rejected (first: %s)\n", len(rejected), rejected[0])
		return exitError{code: 1}
	}
	return nil
}

type exportCmd struct {
	env         *environment
	fs          *flag.FlagSet
	out         string
	format      string
	testSeries  bool
	project     string
	allProjects bool
	asJSON      bool
}

func newExportCmd(env *environment) *exportCmd {
	c := &exportCmd{env: env, fs: flag.NewFlagSet("export", flag.ContinueOnError)}
	c.fs.StringVar(&c.out, "o", "", "the directory to write (jsonl; default evalrec-export), or the file (prometheus; default: stdout)")
	c.fs.StringVar(&c.format, "format", "jsonl", "jsonl (every document) or prometheus (the latest runs' metrics, for node_exporter's textfile collector)")
	c.fs.BoolVar(&c.testSeries, "metrics-tests", false, "with -format prometheus: add one series per test of each latest run")
	registerProject(c.fs, &c.project, &c.allProjects)
	c.fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	return c
}

func (c *exportCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "export",
		ShortUsage: "evalrec export [-o DIR] | export -format prometheus [-o FILE]",
		ShortHelp:  "Write every document to DIR, one JSON Lines file per collection, in MongoDB's shapes.",
		LongHelp: `Writes DIR/evaluation_runs.jsonl, DIR/evaluation_run_parts.jsonl and
DIR/test_runs.jsonl: one document a line, as relaxed MongoDB Extended
JSON. evalrec import reads them into any store, and so does mongoimport:

  mongoimport --db vt_metrics --collection test_runs --file DIR/test_runs.jsonl

-format prometheus writes the series evalrec ui serves at /metrics, in
the text format node_exporter's textfile collector reads (written to a
temporary file and renamed, as that collector needs).`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// Run exports the store.
func (c *exportCmd) Run(ctx context.Context, _ []string) error {
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	switch c.format {
	case "prometheus":
		col := &ui.Collector{DB: conn.DB, Project: projectScope(c.project, c.allProjects), TestSeries: c.testSeries}
		if c.out == "" {
			// To stdout, as promtool and the textfile tools expect:
			// evalrec export -format prometheus | sponge FILE.
			col.WritePrometheus(c.env.stdout)
			return nil
		}
		if err := writeTextfile(c.out, col.WritePrometheus); err != nil {
			return err
		}
		fmt.Fprintf(c.env.stderr, "evalrec: wrote the latest runs' metrics to %s\n", c.out)
		return nil
	case "jsonl":
	default:
		return fmt.Errorf("-format %q: want jsonl or prometheus", c.format)
	}
	c.out = cmp.Or(c.out, "evalrec-export")
	counts, err := transfer.Export(ctx, conn.DB, c.out, newMeter(c.env.stderr, "exporting").show)
	if err != nil {
		return err
	}
	if c.asJSON {
		return printJSON(c.env.stdout, map[string]any{"directory": c.out, "documents": counts})
	}
	var parts []string
	for _, coll := range transfer.Collections {
		parts = append(parts, fmt.Sprintf("%d %s", counts[coll], strings.ReplaceAll(coll, "_", " ")))
	}
	fmt.Fprintf(c.env.stdout, "exported %s from %s to %s\n", strings.Join(parts, ", "), conn.Where, c.out)
	return nil
}

type importCmd struct {
	env    *environment
	fs     *flag.FlagSet
	asJSON bool
}

func newImportCmd(env *environment) *importCmd {
	c := &importCmd{env: env, fs: flag.NewFlagSet("import", flag.ContinueOnError)}
	c.fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	return c
}

func (c *importCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name:       "import",
		ShortUsage: "evalrec import DIR",
		ShortHelp:  "Store the documents of an export; documents already stored are left as they are.",
		FlagSet:    c.fs, Exec: c.Run,
	}
}

// Run imports an export.
func (c *importCmd) Run(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: evalrec import DIR")
	}
	cfg, err := config.Load("")
	if err != nil {
		return err
	}
	conn, err := storeconn.Open(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.DB.EnsureIndexes(ctx); err != nil {
		return err
	}
	rep, err := transfer.Import(ctx, conn.DB, args[0], newMeter(c.env.stderr, "importing").show)
	if err != nil {
		return err
	}
	return printTransfer(c.env, c.asJSON, rep, fmt.Sprintf("imported %s into %s", args[0], conn.Where))
}

// meter shows a move's progress on a terminal, on one line it rewrites at
// most ten times a second; elsewhere it shows nothing.
type meter struct {
	w    io.Writer
	verb string
	last time.Time
	on   bool
}

func newMeter(w io.Writer, verb string) *meter {
	f, ok := w.(*os.File)
	return &meter{w: w, verb: verb, on: ok && isatty.IsTerminal(f.Fd())}
}

func (m *meter) show(coll string, done, total int64) {
	if !m.on || (time.Since(m.last) < 100*time.Millisecond && done < total) {
		return
	}
	m.last = time.Now()
	fmt.Fprintf(m.w, "\r\033[K%s %s: %d of %d", m.verb, coll, done, total)
	if done >= total {
		fmt.Fprintln(m.w)
	}
}

// writeTextfile writes a file for node_exporter's textfile collector: to a
// temporary file beside it, renamed into place, so that the collector never
// reads half of it.
func writeTextfile(path string, write func(io.Writer)) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	write(tmp)
	if err := errors.Join(tmp.Chmod(0o644), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
