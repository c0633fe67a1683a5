package provenance

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// isGoCommand reports whether pid runs the go command.
func isGoCommand(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err == nil {
		return filepath.Base(exe) == "go"
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return err == nil && string(bytes.TrimSpace(comm)) == "go"
}

// processStart returns when pid started, from /proc: field 22 of
// /proc/PID/stat is the start in clock ticks after boot, and btime in
// /proc/stat is the boot time.
func processStart(pid int) (time.Time, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return time.Time{}, false
	}
	// The command name (field 2) may contain spaces; fields resume after ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64) // field 22 overall
	if err != nil {
		return time.Time{}, false
	}
	boot, ok := bootTime()
	if !ok {
		return time.Time{}, false
	}
	const clockTicks = 100 // USER_HZ, fixed at 100 on Linux for userspace
	return boot.Add(time.Duration(ticks) * time.Second / clockTicks), true
}

func bootTime() (time.Time, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(s, 0), true
		}
	}
	return time.Time{}, false
}

// ProcessAlive reports whether pid exists on this host.
func ProcessAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// GoCommandStderr opens the standard error of the go command that started
// this process, when it did. go test shows a test binary's output only when
// its package fails (or with -v), so a warning that must be seen in a plain
// `go test ./...` goes there: the go command's own stderr is the terminal
// or the CI log. The caller closes the file.
//
// Only a terminal, a pipe or a socket is opened: a regular file opened
// again through /proc is a new file description with an offset of its
// own, and the go command's writes, at its offset, would land on top of
// ours (go test ./... > log 2>&1 lost warnings and the start of lines).
func GoCommandStderr() (*os.File, bool) {
	ppid := os.Getppid()
	if !isGoCommand(ppid) {
		return nil, false
	}
	path := "/proc/" + strconv.Itoa(ppid) + "/fd/2"
	if fi, err := os.Stat(path); err != nil || fi.Mode()&(os.ModeCharDevice|os.ModeNamedPipe|os.ModeSocket) == 0 {
		return nil, false
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, false
	}
	return f, true
}
