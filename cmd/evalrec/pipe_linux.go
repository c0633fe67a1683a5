package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity asked for the pipe go test writes its events
// into: the most an unprivileged process may set (fs.pipe-max-size). The
// go command writes each event with a system call of its own; with the
// default 64 KiB it blocks whenever the wrapper falls behind, and on a
// cached suite of 50,000 tests that took 0.1 s of the wrapper's wall time.
const pipeSize = 1 << 20

// widenPipe raises the capacity of the pipe r reads from, when it is one
// and the system allows; otherwise it leaves it as it is.
func widenPipe(r io.Reader) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	if c, err := f.SyscallConn(); err == nil {
		_ = c.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
	}
}
