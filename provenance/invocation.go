package provenance

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// Invocation identifies one go test invocation. Every test binary that go test
// starts computes the same Invocation, so the packages of one
// `go test ./...` join one evaluation run without talking to each other.
type Invocation struct {
	// Key is unique to the invocation: the go command's process ID and start
	// time on this host, the wrapper's, or a hash of the stream that the
	// converter reads.
	Key string
	// Started is when the invocation began, to the millisecond: the go
	// command's start time.
	Started time.Time
	// Explicit is the run ID given by the user (EVALREC_RUN_ID), if any. It
	// names the run, and the key still tells invocations apart: a second
	// invocation with the same explicit ID is a run of its own, never merged
	// into the first (see [Invocation.ObjectID]).
	Explicit string
}

// CurrentInvocation identifies the invocation this process belongs to: when
// the parent process is the go command, the parent's; else this process is
// an invocation of its own (a test binary run directly, or the wrapper).
// explicitID, when set, names the run.
func CurrentInvocation(explicitID string) Invocation {
	host, _ := os.Hostname()
	pid := os.Getpid()
	if ppid := os.Getppid(); isGoCommand(ppid) {
		pid = ppid
	}
	started, ok := processStart(pid)
	if !ok {
		// Without a start time the key still separates concurrent
		// invocations; the timestamp is this process's own.
		started = time.Now()
	}
	return Invocation{
		Key:      fmt.Sprintf("%s/%d/%d", host, pid, started.UnixNano()),
		Started:  started.UTC().Truncate(time.Millisecond),
		Explicit: explicitID,
	}
}

// StreamInvocation identifies a saved or piped go test -json stream by its
// first event line, which holds the package and the time to the
// nanosecond: ingesting the same bytes again finds the same run, and two
// different streams never share one. started is the first event's time.
func StreamInvocation(firstLine []byte, started time.Time, explicitID string) Invocation {
	sum := sha256.Sum256(firstLine)
	return Invocation{
		Key:      fmt.Sprintf("stream/%x", sum[:16]),
		Started:  started.UTC().Truncate(time.Millisecond),
		Explicit: explicitID,
	}
}

// Fingerprint is 8 bytes derived from the key and the explicit run ID.
func (inv Invocation) Fingerprint() [8]byte {
	sum := sha256.Sum256([]byte(inv.Explicit + "\x00" + inv.Key))
	var f [8]byte
	copy(f[:], sum[:8])
	return f
}

// ObjectID returns the 12 bytes of the evaluation run's ObjectID: the start
// time in seconds, as MongoDB's own IDs begin, then the fingerprint. Every
// binary of one invocation computes the same ObjectID and joins one run; a
// different invocation computes another, so it cannot join by accident even
// with the same explicit run ID.
func (inv Invocation) ObjectID() [12]byte {
	var id [12]byte
	binary.BigEndian.PutUint32(id[:4], uint32(inv.Started.Unix()))
	f := inv.Fingerprint()
	copy(id[4:], f[:])
	return id
}

var unsafeInID = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// RunID returns the human-readable evaluation_run_id, as in the seed:
// 2025-12-05T10-30-00Z-main-abcdef-1a2b3c. The start time, branch and short
// commit make it readable; the last part, from the invocation key, keeps two
// runs that start in the same second on the same commit apart. An explicit
// run ID is returned as it is.
func (inv Invocation) RunID(g Git) string {
	if inv.Explicit != "" {
		return inv.Explicit
	}
	parts := []string{inv.Started.UTC().Format("2006-01-02T15-04-05Z")}
	if g.Branch != nil {
		b := strings.Trim(unsafeInID.ReplaceAllString(*g.Branch, "-"), "-")
		if len(b) > 40 {
			b = b[:40]
		}
		if b != "" {
			parts = append(parts, b)
		}
	}
	if g.Commit != nil && len(*g.Commit) >= 6 {
		parts = append(parts, (*g.Commit)[:6])
	}
	f := inv.Fingerprint()
	parts = append(parts, fmt.Sprintf("%x", f[:3]))
	return strings.Join(parts, "-")
}

// A Process is a process on this host, told apart from a later one that
// reuses its ID by its start time (zero where that is unknown).
type Process struct {
	PID     int
	Started time.Time
}

// GoCommand is the go command that started this process, when it did.
func GoCommand() (Process, bool) {
	ppid := os.Getppid()
	if !isGoCommand(ppid) {
		return Process{}, false
	}
	started, _ := processStart(ppid)
	return Process{PID: ppid, Started: started}, true
}

// Alive reports whether the process still runs.
func (p Process) Alive() bool {
	if p.PID <= 0 || !ProcessAlive(p.PID) {
		return false
	}
	if p.Started.IsZero() {
		return true
	}
	started, ok := processStart(p.PID)
	return !ok || started.Equal(p.Started)
}
