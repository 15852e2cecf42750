//go:build unix && !linux

package launch

import (
	"errors"
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

// jobControl is false: the command stays in our process group, and
// Ctrl-C reaches git-runs and the git wrapper too. Running it as a job
// of its own would need to tell whether we can stop ourselves on its
// Ctrl-Z, which is only done for Linux.
const jobControl = false

// awaitStop is not used without job control.
func awaitStop(int) bool { return false }

// takeStop is not used without job control.
func takeStop(int) bool { return false }

// setForeground is not used without job control.
func setForeground(*os.File, int) error { return errors.ErrUnsupported }

// canStopSelf is not used without job control.
func canStopSelf() bool { return false }
