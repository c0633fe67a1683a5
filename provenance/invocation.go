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
	// time on this host, or an explicit run ID.
	Key string
	// Started is when the invocation began: the go command's start time.
	Started time.Time
	// Explicit is the run ID given by the user (EVALREC_RUN_ID), if any.
	Explicit string
}

// CurrentInvocation identifies the invocation this process belongs to. When
// explicitID is set, it alone decides. Otherwise, when the parent process is
// the go command, the invocation is the parent's; else this process is an
// invocation of its own (a test binary run directly).
func CurrentInvocation(explicitID string) Invocation {
	host, _ := os.Hostname()
	if explicitID != "" {
		return Invocation{Key: "explicit:" + explicitID, Started: time.Now().UTC(), Explicit: explicitID}
	}
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
		Key:     fmt.Sprintf("%s/%d/%d", host, pid, started.UnixNano()),
		Started: started.UTC().Truncate(time.Second),
	}
}

// Fingerprint is 8 bytes derived from the key.
func (inv Invocation) Fingerprint() [8]byte {
	sum := sha256.Sum256([]byte(inv.Key))
	var f [8]byte
	copy(f[:], sum[:8])
	return f
}

// ObjectID returns the 12 bytes of the evaluation run's ObjectID: the start
// time in seconds, as MongoDB's own IDs begin, then the fingerprint.
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
