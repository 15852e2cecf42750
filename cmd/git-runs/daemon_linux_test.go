package main

import "syscall"

// daemonAttr puts a server a test starts in a process group of its own,
// killed when the test binary dies.
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
