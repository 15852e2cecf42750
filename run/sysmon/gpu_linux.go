package sysmon

import "syscall"

// gpuProcAttr puts nvidia-smi in a process group of its own, killed with
// git-runs should that die without a chance to stop it.
func gpuProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
