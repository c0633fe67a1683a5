// Command gojson2mongo stores go test -json streams in evalrec's store, so
// an existing suite gains history without code changes.
//
//	go test -json ./... | gojson2mongo
//	gojson2mongo run1.json run2.json
//	gojson2mongo -- go test -json ./...
//	gotestsum --raw-command -- gojson2mongo --tee -- go test -json ./...
//
// Each stream (standard input, each file, or the command's output) becomes
// one evaluation run. Ingesting the same stream twice stores nothing new.
//
// Exit codes:
//
//	0  stored, and every test passed
//	1  a test failed or a package broke (or, with a command, the command's
//	   own non-zero exit code)
//	2  bad usage
//	3  bad input: a file could not be read, or the input held no test events
//	4  storage failed: the results are spooled; run `evalrec replay`
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"

	"evalrec.dev/ingest"
	"evalrec.dev/internal/clihint"
	"evalrec.dev/internal/config"
	"evalrec.dev/internal/junit"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/pipeline"
	"evalrec.dev/internal/storeconn"
	"evalrec.dev/provenance"
	"evalrec.dev/store"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailures = 1
	exitUsage    = 2
	exitBadInput = 3
	exitStorage  = 4
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	tee     bool
	dryRun  bool
	env     string
	tags    string
	runID   string
	quiet   bool
	logFile string
	junit   string
	files   []string
	command []string
}

// errUsage is a mistake in the command line, said in one line.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

// parse reads the command line. -h asks for the usage, which the caller
// prints on stdout; a mistyped flag is one line naming the closest flag,
// as evalrec says it.
func parse(args []string, stdout io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("gojson2mongo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.tee, "tee", false, "copy the input stream to stdout, byte for byte")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the documents as JSON lines instead of storing them")
	fs.StringVar(&o.env, "env", "", "environment to record (default: ENVIRONMENT, else dev)")
	fs.StringVar(&o.tags, "exp", "", "comma-separated experiment tags (default: EXPERIMENT_TAGS)")
	fs.StringVar(&o.tags, "tags", "", "the older name of -exp")
	fs.StringVar(&o.runID, "run-id", "", "evaluation_run_id to use (default: derived from the stream)")
	fs.BoolVar(&o.quiet, "q", false, "no summary line")
	fs.StringVar(&o.junit, "junitfile", "", "also write the results as JUnit XML to this file, with each test's score and metrics as properties")
	fs.StringVar(&o.logFile, "log", "", "append notices and the summary line to this file instead of stderr")
	fs.Usage = func() {}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: gojson2mongo [flags] [FILE...]\n       gojson2mongo [flags] -- COMMAND [ARGS...]\n\n"+
			"Stores a go test -json stream (stdin, files, or the output of COMMAND) as one evaluation run.\n\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil, err
	} else if err != nil {
		return nil, errUsage{clihint.FlagMistake(err, fs)}
	}
	rest := fs.Args()
	for i, a := range args {
		if a == "--" {
			o.command = args[i+1:]
			rest = nil
			break
		}
	}
	if o.command != nil && len(o.command) == 0 {
		return nil, errors.New("-- must be followed by a command")
	}
	if o.tee && o.dryRun {
		return nil, errors.New("--tee and --dry-run both write to stdout; pick one")
	}
	o.files = rest
	return o, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parse(args, stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "gojson2mongo: %v\n", err)
		return exitUsage
	}
	// Notices: to -log when given. With --tee another tool reads the
	// stream, and gotestsum --raw-command counts every line on stderr as
	// an error: only warnings go there then, and the summary line does not.
	log := logline.New(stderr)
	notes := stderr
	switch {
	case o.logFile != "":
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "gojson2mongo: -log: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		log, notes = logline.New(f), f
	case o.tee:
		log, notes = logline.WithAlerts(io.Discard, stderr), nil
	}
	cfg, err := config.Load("")
	if err != nil {
		fmt.Fprintf(stderr, "gojson2mongo: %v\n", err)
		return exitUsage
	}
	if o.env != "" {
		cfg.Environment = o.env
	}
	if o.tags != "" {
		cfg.ExperimentTags = config.ParseTags(o.tags)
	}
	if o.runID != "" {
		cfg.RunID = o.runID
	}
	c := &converter{o: o, cfg: cfg, stdout: stdout, stderr: stderr, notes: notes, log: log, git: provenance.GitInfo(".", nil)}
	if !o.dryRun {
		conn, err := storeconn.Open(context.Background(), cfg, log)
		if err != nil {
			c.unavailable = err // the session spools and says so, once
		} else {
			defer conn.Close()
			c.db = conn.DB
		}
	}

	if o.junit != "" {
		c.junit = junit.New()
	}
	var code int
	switch {
	case o.command != nil:
		code = c.runCommand()
	case len(o.files) > 0:
		for _, f := range o.files {
			code = max(code, c.file(f))
		}
	default:
		code = c.stream("standard input", stdin, true)
	}
	if c.junit != nil {
		if err := c.junit.WriteFile(o.junit); err != nil {
			fmt.Fprintf(stderr, "gojson2mongo: -junitfile: %v\n", err)
			code = max(code, exitUsage)
		}
	}
	return code
}

type converter struct {
	o           *options
	cfg         *config.Config
	stdout      io.Writer
	stderr      io.Writer
	notes       io.Writer // the summary line; nil: none
	junit       *junit.Writer
	log         *slog.Logger
	git         provenance.Git
	db          *store.DB
	unavailable error
}

func (c *converter) file(path string) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "gojson2mongo: %v\n", err)
		return exitBadInput
	}
	defer f.Close()
	return c.stream(path, f, false)
}

// runCommand runs the command with its stdout as the stream, and returns the
// command's exit code when it failed.
func (c *converter) runCommand() int {
	cmd := exec.Command(c.o.command[0], c.o.command[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stderr = c.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(c.stderr, "gojson2mongo: %v\n", err)
		return exitUsage
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(c.stderr, "gojson2mongo: %v\n", err)
		return exitUsage
	}
	code := c.stream(c.o.command[0], out, true)
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(c.stderr, "gojson2mongo: %v\n", err)
		return exitFailures
	}
	return code
}

// stream ingests one stream as one run. live says it comes from tests
// running now (standard input, or the command), rather than a saved file.
func (c *converter) stream(name string, r io.Reader, live bool) int {
	counter := &countingReader{r: r}
	stop := c.progress(name, counter)
	opts := pipeline.Options{
		Config:      c.cfg,
		Source:      "converter",
		Git:         c.git,
		Logger:      c.log,
		DB:          c.db,
		Unavailable: c.unavailable,
		Live:        live,
	}
	if c.junit != nil {
		opts.OnTest = c.junit.Add
		opts.OnPackage = func(p *ingest.Package, _ pipeline.PackageCounts) {
			reason := ""
			if p.Broken() {
				reason = pipeline.Why(p)
			}
			c.junit.EndPackage(p.Name, p.Started, p.Elapsed, reason, p.Output)
		}
	}
	if c.o.tee {
		opts.Tee = c.stdout
	}
	if c.o.dryRun {
		opts.DryRun = c.stdout
	}
	res, err := pipeline.Ingest(context.Background(), counter, opts)
	stop()
	if err != nil {
		fmt.Fprintf(c.stderr, "gojson2mongo: reading %s: %v\n", name, err)
		return exitBadInput
	}
	if res.Stats.BadLines > 0 {
		fmt.Fprintf(c.stderr, "gojson2mongo: %s: %d lines were not test2json events (first: %v)\n", name, res.Stats.BadLines, res.Stats.FirstBad[0])
	}
	if res.Stats.AttrErrors > 0 {
		fmt.Fprintf(c.stderr, "gojson2mongo: %s: %d evalrec attributes could not be read as such (first: %v)\n", name, res.Stats.AttrErrors, res.Stats.FirstAttrError)
	}
	pipeline.ReportStream(c.stderr, "gojson2mongo: "+name+": ", res.Stats)
	if res.NotStarted != "" {
		fmt.Fprintf(c.stderr, "gojson2mongo: %s: go test started no test (%s); nothing stored\n", name, res.NotStarted)
		return exitFailures
	}
	if res.Run == nil {
		fmt.Fprintf(c.stderr, "gojson2mongo: %s held no test events; is it go test -json output?\n", name)
		return exitBadInput
	}
	if res.StorageErr != nil {
		return exitStorage // the session already said where the results went
	}
	r2 := res.Run
	if !c.o.quiet && !c.o.dryRun && c.notes != nil {
		fmt.Fprintf(c.notes, "gojson2mongo: %s: run %s %s: %d passed, %d failed, %d skipped\n",
			name, r2.EvaluationRunID, r2.Status, r2.NumPassed, r2.NumFailed, r2.NumSkipped)
	}
	if r2.NumFailed > 0 || r2.NumIncomplete > 0 || len(res.Broken) > 0 {
		return exitFailures
	}
	return exitOK
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progressAfter is how long a stream runs before progress is shown.
const progressAfter = 2 * time.Second

// progress prints the bytes read so far on stderr, once a second, when
// stderr is a terminal and the stream takes a while.
func (c *converter) progress(name string, r *countingReader) (stop func()) {
	f, ok := c.stderr.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(f, "\r\033[K")
				}
				return
			case <-t.C:
				if time.Since(start) < progressAfter {
					continue
				}
				shown = true
				mb := float64(r.n.Load()) / 1e6
				fmt.Fprintf(f, "\rgojson2mongo: %s: %.0f MB read (%.0f MB/s)", name, mb, mb/time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(done); <-finished }
}
