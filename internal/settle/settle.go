// Package settle stores the journals that test binaries leave in TestMain
// mode, once the go command that ran them has exited.
//
// A test binary links no store driver: SQLite's and MongoDB's would more
// than double the time a suite's test binary takes to build, and its size
// (see the README). It only journals its results, a write per result that
// it makes anyway so that a crash loses nothing. The first binary of a go
// test run starts an ingester: the evalrec command (`evalrec replay`,
// detached), which waits for the go command to exit and then stores every
// journal of the spool, those of binaries that crashed included. Every
// evalrec command stores them too, before it answers, and the next go test
// run's ingester stores what an earlier one left (it was killed, with the
// CI job say). In strict mode each binary runs `evalrec replay` itself,
// and waits for it.
package settle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/mod/modfile"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/dotdir"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/redact"
	"evalrec.dev/provenance"
	"evalrec.dev/store"
)

// envVar, set on an ingester, names the go command it waits for: PID and
// start time in Unix nanoseconds, or 0 when there is none.
const envVar = "EVALREC_SETTLE"

// maxWait bounds how long an ingester waits for its go command.
const maxWait = 24 * time.Hour

// Install is what a user runs to have an evalrec command.
const Install = "go install evalrec.dev/cmd/evalrec@latest, or set EVALREC_BIN"

// ErrNoCommand says no evalrec command was found to store the journals.
var ErrNoCommand = errors.New("no evalrec command found (" + Install + ")")

// Command is how this module runs the evalrec command, found in this
// order: EVALREC_BIN; the module's own tool (a go.mod that declares `tool
// evalrec.dev/cmd/evalrec` runs the version it requires, the library's);
// evalrec on PATH.
func Command(cfg *config.Config) ([]string, error) {
	if cfg.Bin != "" {
		return []string{cfg.Bin}, nil
	}
	if cfg.ModuleRoot != "" && declaresTool(filepath.Join(cfg.ModuleRoot, "go.mod")) {
		if gobin, err := exec.LookPath("go"); err == nil {
			return []string{gobin, "tool", "evalrec"}, nil
		}
	}
	if p, err := exec.LookPath("evalrec"); err == nil {
		return []string{p}, nil
	}
	return nil, ErrNoCommand
}

// tool is the evalrec command's package, as a go.mod's tool directive
// names it.
const tool = "evalrec.dev/cmd/evalrec"

// declaresTool reports whether the go.mod at path declares the evalrec
// command as a tool.
func declaresTool(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	f, err := modfile.Parse(path, b, nil)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(f.Tool, func(t *modfile.Tool) bool { return t.Path == tool })
}

// Schedule starts an ingester for cfg's spool, unless one is waiting
// already. It never fails the caller: an ingester it cannot start is
// returned as the error, and the journals wait for the next evalrec
// command. So is a failure of the last ingester (its output is in the
// log, see LogFile), though a new one starts.
func Schedule(cfg *config.Config) error {
	lock := waiting(cfg)
	if ok, err := lock.TryLock(); err != nil || !ok {
		return nil // an ingester waits; it will store these journals too
	}
	lock.Unlock()
	argv, err := Command(cfg)
	if err != nil {
		return err
	}
	failed := lastFailure(cfg)
	wait := "0"
	if g, ok := provenance.GoCommand(); ok {
		wait = fmt.Sprintf("%d:%d", g.PID, g.Started.UnixNano())
	}
	cmd := exec.Command(argv[0], append(argv[1:], "replay")...)
	cmd.Env = append(os.Environ(), envVar+"="+wait)
	// Appending: an earlier ingester may still be writing its last lines.
	if log, err := os.OpenFile(LogFile(cfg), os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600); err == nil {
		cmd.Stdout, cmd.Stderr = log, log
		defer log.Close() // the ingester has its own descriptor
	}
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", strings.Join(argv, " "), err)
	}
	_ = cmd.Process.Release()
	if failed != "" {
		return fmt.Errorf("the evalrec command that last stored this module's journals failed (%s; see %s)", failed, logline.RelPath(LogFile(cfg)))
	}
	return nil
}

// LogFile holds what the last ingester printed: beside the spool.
func LogFile(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(filepath.Clean(cfg.SpoolDir)), "ingester.log")
}

// storedLine begins the line `evalrec replay` prints when it has stored
// the spool.
const storedLine = "replayed "

// lastFailure is what the last ingester printed, in one line, when it
// did not store the spool and journals still wait there; else "".
func lastFailure(cfg *config.Config) string {
	b, err := os.ReadFile(LogFile(cfg))
	if err != nil || len(bytes.TrimSpace(b)) == 0 || bytes.Contains(b, []byte("\n"+storedLine)) || bytes.HasPrefix(b, []byte(storedLine)) {
		return ""
	}
	if pending, _ := store.PendingSpool(cfg.SpoolDir); len(pending) == 0 {
		return ""
	}
	msg := strings.Join(strings.Fields(string(b)), " ")
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return redact.Text(msg)
}

// Now runs `evalrec replay` and waits for it: strict mode's way to know
// that a binary's results are stored. Its error is the command's last
// line of output.
func Now(ctx context.Context, cfg *config.Config) error {
	argv, err := Command(cfg)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], "replay")...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if last := strings.TrimPrefix(lines[len(lines)-1], "evalrec: "); last != "" {
		return errors.New(redact.Text(last))
	}
	return fmt.Errorf("%s replay: %w", strings.Join(argv, " "), err)
}

// waiting is the lock an ingester holds while it waits for its go command:
// on the spool's parent directory (the spool's own is replay's lock).
func waiting(cfg *config.Config) *flock.Flock {
	dir := filepath.Dir(filepath.Clean(cfg.SpoolDir))
	_ = dotdir.MkdirAll(dir, 0o755)
	return flock.New(dir, flock.SetFlag(os.O_RDONLY))
}

// IsIngester reports whether this process was started by Schedule.
func IsIngester() bool { return os.Getenv(envVar) != "" }

// Wait is an ingester's wait: it returns once the go command that started
// it has exited (or after a day), or at once with an error when another
// ingester waits already, which will store the journals.
func Wait(cfg *config.Config) error {
	lock := waiting(cfg)
	if ok, err := lock.TryLock(); err != nil || !ok {
		return errors.New("another ingester waits already")
	}
	// From the end of the wait a later go test run needs an ingester of
	// its own.
	defer lock.Unlock()
	goCmd, err := parse(os.Getenv(envVar))
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(maxWait); goCmd.Alive() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func parse(v string) (provenance.Process, error) {
	if v == "0" {
		return provenance.Process{}, nil
	}
	pid, start, ok := strings.Cut(v, ":")
	p, err1 := strconv.Atoi(pid)
	ns, err2 := strconv.ParseInt(start, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return provenance.Process{}, fmt.Errorf("%s=%q: want PID:STARTNANOS", envVar, v)
	}
	var started time.Time
	if ns != 0 {
		started = time.Unix(0, ns)
	}
	return provenance.Process{PID: p, Started: started}, nil
}

// FirstToSay reports whether this binary is the first of its go command's
// to say what: a go test of many packages that finds no evalrec command
// says so once, not once a package. A binary no go command started is
// always first.
func FirstToSay(cfg *config.Config, what string) bool {
	g, ok := provenance.GoCommand()
	if !ok {
		return true
	}
	mark := filepath.Join(filepath.Dir(filepath.Clean(cfg.SpoolDir)), "said-"+what)
	me := fmt.Sprintf("%d:%d", g.PID, g.Started.UnixNano())
	if b, err := os.ReadFile(mark); err == nil && string(b) == me {
		return false
	}
	_ = os.WriteFile(mark, []byte(me), 0o600)
	return true
}
