package evalrec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/metricfile"
	"evalrec.dev/internal/redact"
	"evalrec.dev/internal/settle"
	"evalrec.dev/internal/storeloc"
	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

// A Recorder stores the results of one test binary. Most suites use [Main];
// custom harnesses call [Start] before running tests and [Recorder.Finish]
// after.
type Recorder struct {
	cfg *config.Config
	log *slog.Logger
	// jn keeps the results for the evalrec command to store (see
	// internal/settle).
	jn     *journal.Recorder
	pkg    string
	partID string
	// where names the store for messages.
	where string
	// checked receives what would keep the ingester from storing (see
	// settle.Check), once.
	checked chan error
	// scheduled is why Start could not start the ingester, or why the
	// last one failed.
	scheduled error

	capture          *capture
	mu               sync.Mutex
	attempts         map[string]int
	recordedFailures atomic.Int64
	// notes are warnings stored with the run's part, as its error.
	notes notes
	// crash is where the runtime writes a crash report (see
	// journal.CrashFile), until Finish.
	crash *os.File
}

// active is the recorder that stores this process's results, or nil.
var active atomic.Pointer[Recorder]

// Stderr is where the recorder's one-line messages go.
var Stderr io.Writer = os.Stderr

// Main runs the suite with recording and returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }
func Main(m *testing.M, opts ...MainOption) int {
	r := Start(opts...)
	return r.Finish(m.Run())
}

// Start applies opts and, when storage is enabled, starts the writer that
// connects and creates (or joins) the evaluation run in the background, so
// the first test need not wait for the server. It never fails the suite:
// without storage it returns a Recorder whose Finish only passes the exit
// code through.
func Start(opts ...MainOption) *Recorder {
	for _, o := range opts {
		o()
	}
	log := logger()
	cfg, err := config.Load("")
	if err != nil {
		log.Error(err.Error() + "; storage disabled")
		return nil
	}
	if cfg.Wrapped {
		// Under `evalrec test` the wrapper is the single writer; it learns
		// the system under test from this line.
		announceSystem()
		return nil
	}
	if !cfg.Enabled {
		log.Info("storage disabled (MONGODB_ENABLED=false)")
		announceSystem()
		return nil
	}
	return startRecorder(cfg, log)
}

// logger returns the recorder's logger: notes go to the binary's stderr,
// which go test shows with -v, and warnings to the go command's stderr,
// which a plain go test shows too.
func logger() *slog.Logger {
	if Stderr != io.Writer(os.Stderr) {
		return logline.New(Stderr)
	}
	return logline.WithAlerts(Stderr, goStderr{})
}

// goStderr writes to the standard error of the go command that started the
// binary, or to the binary's own when there is none to reach.
//
// When the go command's stderr is a regular file (go test ./... > log
// 2>&1), no write of another process can land safely: the go command
// writes at its own offset, over whatever was appended. The warning then
// goes to the binary's own stderr, which go test prints with -v or when
// the package fails, and into the run's stored error (see [unseen]), so
// that it is never lost.
type goStderr struct{}

func (goStderr) Write(p []byte) (int, error) {
	if f, ok := provenance.GoCommandStderr(); ok {
		defer f.Close()
		return f.Write(p)
	}
	unseen.add(string(p))
	return os.Stderr.Write(p)
}

// unseen holds the warnings that may not have reached anyone's eyes, for
// the run's stored error.
var unseen notes

// notes is a bounded, concurrency-safe list of one-line messages.
type notes struct {
	mu   sync.Mutex
	list []string
	more int
}

const maxNotes = 5

func (n *notes) add(msg string) {
	msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), "evalrec: "))
	if msg == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if slices.Contains(n.list, msg) {
		return
	}
	if len(n.list) == maxNotes {
		n.more++
		return
	}
	n.list = append(n.list, msg)
}

// String joins the notes into one line.
func (n *notes) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := strings.Join(n.list, "; ")
	if n.more > 0 {
		s += fmt.Sprintf("; and %d more warnings", n.more)
	}
	return s
}

// announceSystem prints this binary's system snapshot (module, Go version,
// dependencies, declared system under test) when its output is a go test
// -json stream, so the converter and the wrapper can store what the
// in-process recorder would have.
func announceSystem() {
	// Flags are not parsed yet (m.Run parses them), so read the argument.
	if !slices.Contains(os.Args[1:], "-test.v=test2json") {
		return
	}
	defaults.RLock()
	sut := defaults.sut
	defaults.RUnlock()
	b, err := json.Marshal(provenance.Snapshot(sut))
	if err != nil {
		return
	}
	fmt.Fprintf(os.Stdout, "%s%s\n", result.SystemLinePrefix, b)
}

func startRecorder(cfg *config.Config, log *slog.Logger) *Recorder {
	defaults.RLock()
	sut := defaults.sut
	defaults.RUnlock()

	inv := provenance.CurrentInvocation(cfg.RunID)
	git := provenance.GitInfo(".", nil)
	sys := provenance.Snapshot(sut)
	_, project := provenance.ModuleRoot(".")
	run := store.NewRun(store.RunStart{Invocation: inv, Git: git, Environment: cfg.Environment,
		ExperimentTags: cfg.ExperimentTags, System: sys, Source: "testmain", Project: project, TestsSelected: testsSelected(os.Args[1:])})
	uri := storeloc.URI(cfg)
	r := &Recorder{cfg: cfg, log: log, pkg: packagePath(), attempts: map[string]int{},
		where: redact.URI(uri), checked: make(chan error, 1)}
	// The binary journals its results, and the evalrec command stores
	// them (see internal/settle), detached, where no one sees it fail:
	// what would stop it is looked for now and said in Finish, and no
	// ingester is started for a store it could not use. An SQLite file's
	// header is read at once, and the first binary of the go test run
	// starts the ingester that stores every journal once go test ends, a
	// crashed binary's too. A server is dialled in the background, and
	// Finish starts the ingester once it answered.
	if store.Scheme(uri) == "sqlite" {
		problem := settle.Check(context.Background(), uri)
		r.checked <- problem
		if problem == nil && bool(cfg.BackgroundStore) && !bool(cfg.Strict) {
			r.scheduled = settle.Schedule(cfg) // said in Finish
		}
	} else {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeout)
			defer cancel()
			r.checked <- settle.Check(ctx, uri)
		}()
	}
	r.jn = journal.NewRecorder(cfg.SpoolDir, journal.Header{Target: journal.Target{Store: r.where, Database: cfg.Database}, Run: run}, journal.Options{})
	// A test that panics ends the process before any deferred code runs:
	// the runtime's report goes to a file beside the journal too, and the
	// replay that stores the journal gives its message to the test.
	if j := r.jn.Path(); j != "" {
		if f, err := os.OpenFile(journal.CrashFile(j), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
			if debug.SetCrashOutput(f, debug.CrashOptions{}) == nil {
				r.crash = f
			} else {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}
	host, _ := os.Hostname()
	r.partID = fmt.Sprintf("%s/%s/%s/%d", run.ID.Hex(), r.pkg, host, os.Getpid())
	r.jn.Begin(journal.Begin{Part: r.partID, Package: r.pkg, Host: host, PID: os.Getpid(),
		StartedAt: time.Now().UTC().Truncate(time.Millisecond), Dependencies: sys.Dependencies})
	// A broken evalrec.yaml is said now, in one line where warnings are
	// seen, and kept with the run: its metrics are scored without it.
	if _, err := moduleFile(); err != nil && warnOnce(metricfile.Name) {
		msg := fmt.Sprintf("%v; its definitions are not used", err)
		log.Warn(msg)
		r.notes.add(msg)
	}
	r.capture = startCapture(
		func(t *result.Test) { r.jn.Add(r.partID, t) },
		func(t *result.Test) { r.jn.Provisional(r.partID, t) })
	active.Store(r)
	return r
}

// Finish ends the recording and returns the exit code to use: code itself,
// or 1 when strict mode is on and storage failed.
//
// A run whose tests exited with a failure that no Record call saw (a failing
// test that does not call Record, a race report, a failing example) is marked
// failed with a note, so its history never shows a clean run.
func (r *Recorder) Finish(code int) int {
	if r == nil {
		return code
	}
	active.CompareAndSwap(r, nil)
	r.capture.stop()
	if r.crash != nil {
		_ = debug.SetCrashOutput(nil, debug.CrashOptions{})
		r.crash.Close()
		os.Remove(r.crash.Name())
	}
	// What would keep the evalrec command from storing the results is
	// said now, once, where warnings are seen, and kept with the run.
	spool := logline.RelPath(r.cfg.SpoolDir)
	problem := <-r.checked
	if problem != nil && !bool(r.cfg.Strict) && r.jn.Healthy() { // else nothing stays anywhere
		msg := fmt.Sprintf("%v: results stay in %s; `evalrec replay` stores them once it answers", problem, spool)
		if errors.Is(problem, store.ErrDamaged) {
			msg = fmt.Sprintf("the embedded store %s cannot be read (%v): results stay in %s; %s", r.where, problem, spool, store.ReplayAdvice(problem))
		}
		if warnOnce(msg) {
			r.log.Warn(msg)
			r.notes.add(msg)
		}
	}
	status, errMsg := model.StatusCompleted, ""
	if code != 0 && r.recordedFailures.Load() == 0 {
		status = model.StatusFailed
		errMsg = fmt.Sprintf("%s: go test exited %d with no failure recorded by evalrec (a test that does not call Record failed, or the binary reported an error)", r.pkg, code)
	}
	for _, n := range []*notes{&r.notes, &unseen} {
		if w := n.String(); w != "" {
			errMsg = strings.TrimPrefix(errMsg+"; warning: "+w, "; ")
		}
	}
	r.jn.End(r.partID, journal.PartEnd{Status: status, ExitCode: &code, Error: errMsg})
	_, lost, err := r.jn.Close()
	switch {
	case lost > 0:
		r.log.Error(err.Error())
	case err != nil:
		r.log.Warn(err.Error()) // sealing failed; every result is kept
		err = nil
	}
	if r.cfg.Strict {
		// Strict mode: the results count as stored once the evalrec
		// command has stored them.
		if err == nil {
			err = problem
		}
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ConnectTimeout+time.Minute)
			err = settle.Now(ctx, r.cfg)
			cancel()
		}
		if err != nil {
			r.log.Error(fmt.Sprintf("strict mode: storage failed: %v", err))
			if code == 0 {
				return 1
			}
			return code
		}
		r.log.Info(fmt.Sprintf("stored %s in %s", r.pkg, r.where))
		return code
	}
	switch {
	case err != nil, problem != nil:
		// Said above: what was lost, and why.
	case !bool(r.cfg.BackgroundStore):
		r.log.Info(fmt.Sprintf("recorded %s in %s; the next evalrec command (or `evalrec replay`) stores it in %s", r.pkg, spool, r.where))
	default:
		// Stored once the go command exits (by the ingester Start
		// asked for, or another binary's, if it still waits); say where
		// meanwhile.
		err := r.scheduled
		if err == nil {
			err = settle.Schedule(r.cfg)
		}
		if errors.Is(err, settle.ErrNoCommand) {
			msg := fmt.Sprintf("recorded %s in %s, and nothing stores it: %v; then `evalrec replay` stores it in %s", r.pkg, spool, err, r.where)
			if settle.FirstToSay(r.cfg, "no-command") {
				r.log.Warn(msg) // once a go test run, for the packages of ./...
			} else {
				r.log.Info(msg)
			}
			break
		}
		if err != nil {
			r.log.Warn(fmt.Sprintf("recorded %s in %s; %v: `evalrec replay` stores it in %s, and says more", r.pkg, spool, err, r.where))
			break
		}
		r.log.Info(fmt.Sprintf("recorded %s in %s; it is stored in %s when go test ends", r.pkg, spool, r.where))
	}
	return code
}

// testsSelected reports whether the binary was told to run some tests
// only (-test.run, -test.skip, as go test passes -run and -skip).
func testsSelected(args []string) bool {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "test.run" && name != "test.skip" {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		if value != "" {
			return true
		}
	}
	return false
}

// packagePath is the import path of the package under test: a test binary's
// build info names it "PATH.test".
func packagePath() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return strings.TrimSuffix(bi.Path, ".test")
}
