//go:build unix && !linux

package launch

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr: these systems have no parent-death signal. If git-runs is
// killed outright, the command runs on until its next write to the pipe
// nobody reads any more, which kills it (SIGPIPE); the next git-runs
// command finds the run crashed either way.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// growPipe does nothing: pipe sizes are the system's.
func growPipe(*os.File) {}
