//go:build unix && !linux

package sysmon

import "syscall"

// gpuProcAttr puts nvidia-smi in a process group of its own.
func gpuProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
