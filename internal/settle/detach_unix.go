//go:build unix

package settle

import (
	"os/exec"
	"syscall"
)

// detach starts cmd in a session of its own, so that the go command's end
// (and a Ctrl-C to its process group) does not end it.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
