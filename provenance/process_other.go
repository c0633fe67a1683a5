//go:build !linux

package provenance

import (
	"os"
	"syscall"
	"time"
)

// isGoCommand cannot be answered portably without /proc. Treating every
// parent as "not go" makes each test binary its own run; set EVALREC_RUN_ID
// or use `evalrec test` to join the packages of one invocation.
func isGoCommand(pid int) bool {
	return false
}

func processStart(pid int) (time.Time, bool) { return time.Time{}, false }

// ProcessAlive reports whether pid exists on this host.
func ProcessAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// GoCommandStderr is only known on Linux, through /proc.
func GoCommandStderr() (*os.File, bool) { return nil, false }
