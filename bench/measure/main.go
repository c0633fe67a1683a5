//go:build unix

// Command measure runs a command with its stdout discarded and prints, on
// one line, its wall time in seconds, its peak resident set in MB and, on
// Linux, the command's own:
//
//	measure CMD ARGS...   →   wall=1.234 maxrss_mb=45.6 self_mb=40.1 exit=0
//
// maxrss_mb is the largest of the command and the processes it waited for
// (getrusage's rule): for evalrec test, the go command's or a test
// binary's when theirs is larger. self_mb is the command's own peak
// (VmHWM), read every 10 ms while it runs, so a rise in its last 10 ms can
// be missed; 0 where there is no /proc.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: measure CMD [ARGS...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin = os.Stdin
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	self := make(chan float64)
	exited := make(chan struct{})
	go func() { self <- watchHWM(cmd.Process.Pid, exited) }()
	err := cmd.Wait()
	wall := time.Since(start)
	close(exited)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var rss float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	fmt.Printf("wall=%.3f maxrss_mb=%.1f self_mb=%.1f exit=%d\n", wall.Seconds(), rss, <-self, code)
}

// watchHWM returns the last VmHWM of process pid (a high-water mark, so
// the largest) that it read before exited closed, in MB.
func watchHWM(pid int, exited <-chan struct{}) float64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var last float64
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			for line := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64); err == nil && kb > 0 {
						last = kb / 1024
					}
				}
			}
		}
		select {
		case <-exited:
			return last
		case <-t.C:
		}
	}
}
