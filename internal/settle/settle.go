// Package settle stores the journals that test binaries leave when they
// record into the embedded store, once the go command that ran them has
// exited.
//
// A test binary that wrote each result into the SQLite file itself would
// pay for it in its tests' time: about 70 µs of CPU a test here, on cores
// its tests need (see the README). So in TestMain mode a test binary only
// journals its results (a write per result, which it does anyway so that a
// crash loses nothing), and the first binary of a go test run starts an
// ingester: a copy of itself, detached, that waits for the go command to
// exit and then stores every journal of the spool, those of binaries that
// crashed included, as `evalrec replay` would. Every evalrec command
// stores them too, before it answers, and the next go test run's ingester
// stores what an earlier one left (it was killed, with the CI job say).
package settle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/dotdir"
	"evalrec.dev/internal/storeconn"
	"evalrec.dev/provenance"
	"evalrec.dev/store"
)

// envVar, set on an ingester, names the go command it waits for: PID and
// start time in Unix nanoseconds, or 0 when there is none.
const envVar = "EVALREC_SETTLE"

// maxWait bounds how long an ingester waits for its go command.
const maxWait = 24 * time.Hour

// Schedule starts an ingester for cfg's spool, unless one is waiting
// already. It never fails the caller: a failure to start one is said on
// log, and the journals wait for the next evalrec command.
func Schedule(cfg *config.Config, log *slog.Logger) {
	lock := waiting(cfg)
	if ok, err := lock.TryLock(); err != nil || !ok {
		return // an ingester waits; it will store these journals too
	}
	lock.Unlock()
	exe, err := os.Executable()
	if err != nil {
		log.Warn(fmt.Sprintf("cannot start storing the journals (%v): the next evalrec command stores them", err))
		return
	}
	wait := "0"
	if g, ok := provenance.GoCommand(); ok {
		wait = fmt.Sprintf("%d:%d", g.PID, g.Started.UnixNano())
	}
	// Should the hook in evalrec.Start not run, the copy runs no test.
	cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^$", "-test.fuzz=^$")
	cmd.Env = append(os.Environ(), envVar+"="+wait)
	detach(cmd)
	if err := cmd.Start(); err != nil {
		log.Warn(fmt.Sprintf("cannot start storing the journals (%v): the next evalrec command stores them", err))
		return
	}
	_ = cmd.Process.Release()
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

// Run is an ingester's whole life: it waits for its go command to exit,
// then stores every journal of the spool. It returns what it stored, or
// why it did not.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.ReplayReport, error) {
	var rep store.ReplayReport
	lock := waiting(cfg)
	if ok, err := lock.TryLock(); err != nil || !ok {
		return rep, errors.New("another ingester waits already")
	}
	goCmd, err := parse(os.Getenv(envVar))
	if err != nil {
		lock.Unlock()
		return rep, err
	}
	for deadline := time.Now().Add(maxWait); goCmd.Alive() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	// From here a later go test run needs an ingester of its own.
	lock.Unlock()
	conn, err := storeconn.Open(ctx, cfg, nil)
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	return conn.DB.Replay(ctx, cfg.SpoolDir, store.ReplayOptions{Timeout: cfg.WriteTimeout})
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
