//go:build !linux

package main

import "syscall"

// daemonAttr puts a server a test starts in a process group of its own.
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
