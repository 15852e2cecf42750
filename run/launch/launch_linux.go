package launch

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr makes the command get SIGTERM if git-runs dies without a
// chance to act (SIGKILL), rather than run on unrecorded.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)

// growPipe asks for a roomier pipe, so that a chatty command runs ahead
// while we copy instead of blocking on every 64 KiB. Best effort.
func growPipe(w *os.File) {
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize)
}
