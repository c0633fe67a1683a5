//go:build !unix

package main

import (
	"os"
	"os/exec"
)

func ownProcessGroup(*exec.Cmd) {}

// signalGroup signals p alone: there are no process groups to signal.
func signalGroup(p *os.Process, s os.Signal) {
	if err := p.Signal(s); err != nil {
		_ = p.Kill()
	}
}
