//go:build unix && !linux

package run

import (
	"errors"
	"os"
	"syscall"
)

func processStart(pid int) uint64 { return 0 }

func processAlive(pid int, start uint64) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// CallerPID returns the parent process.
func CallerPID() int { return os.Getppid() }
