//go:build unix && !linux

package proc

import (
	"errors"
	"net/netip"
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

// Peer finds the process at the other end of a connection only on Linux.
func Peer(local, remote netip.AddrPort) (int, bool) { return 0, false }

// Cwd is known only on Linux.
func Cwd(pid int) (string, bool) { return "", false }
