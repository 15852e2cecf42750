//go:build unix && !linux

package proc

import (
	"errors"
	"os"
	"syscall"
)

func StartTime(pid int) uint64 { return 0 }

func Alive(pid int, start uint64) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// CallerPID returns the parent process.
func CallerPID() int { return os.Getppid() }
