package launch

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

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

// jobControl tells that the command can be run as a job of its own: this
// system lets us tell a stop of the command from its end without taking
// the end from exec.Cmd.Wait, and tell whether we can stop ourselves.
const jobControl = true

// cldStopped is CLD_STOPPED, siginfo's si_code for a child stopped.
const cldStopped = 5

// awaitStop waits for the command to stop or end, and reports whether
// it stopped. It collects neither: the end is left for exec.Cmd.Wait
// (until then the command's process id, also its process group's,
// cannot be reused, so signalling the group stays safe), the stop for
// takeStop when it is acted on.
func awaitStop(pid int) bool {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WSTOPPED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == nil && info.Code == cldStopped
		}
	}
}

// takeStop collects a stop of the command, and reports whether there was
// one: none when it was continued since, as a stop is reported only
// while it lasts.
func takeStop(pid int) bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOHANG, nil)
	return err == nil && info.Signo != 0
}

// setForeground makes pgrp the foreground process group of tty. We may be
// in the background, where the kernel would stop us with SIGTTOU for
// trying; with SIGTTOU blocked it lets us do it. It is blocked on this
// thread only, for this call only: ignoring it would be inherited by
// every command started meanwhile.
func setForeground(tty *os.File, pgrp int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var block, old unix.Sigset_t
	const bits = 8 * unsafe.Sizeof(block.Val[0])
	n := uint(syscall.SIGTTOU) - 1
	block.Val[n/uint(bits)] |= 1 << (n % uint(bits))
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &block, &old); err != nil {
		return fmt.Errorf("block SIGTTOU: %w", err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	if err := unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSPGRP, pgrp); err != nil {
		return fmt.Errorf("set foreground process group: %w", err)
	}
	return nil
}

// canStopSelf reports whether a SIGTSTP to our process group would stop
// us, for someone to continue us later: SIGTSTP is not ignored or caught
// by us, and our process group is not orphaned (the kernel drops SIGTSTP
// to an orphaned group, as no shell would ever continue it).
func canStopSelf() bool {
	return tstpDefault() && !orphaned()
}

// tstpDefault reports whether SIGTSTP has its default action, stopping.
func tstpDefault() bool {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	bit := uint64(1) << (uint(syscall.SIGTSTP) - 1)
	for _, field := range []string{"SigIgn:", "SigCgt:"} {
		i := bytes.Index(status, []byte("\n"+field))
		if i < 0 {
			return false
		}
		line, _, _ := bytes.Cut(status[i+len(field)+1:], []byte("\n"))
		mask, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || mask&bit != 0 {
			return false
		}
	}
	return true
}

// orphaned reports whether our process group may be orphaned: it is not
// when one of its members has a parent in another process group of our
// session, the shell that would continue it. Only our ancestors in the
// group are looked at (the git wrapper, a shell script running us): if
// they say nothing, the group is taken as orphaned, and Ctrl-Z does
// nothing rather than stop us for good.
func orphaned() bool {
	pgrp, sid := syscall.Getpgrp(), getsid()
	pid := os.Getpid()
	for range 64 {
		ppid, _, _, err := procStat(pid)
		if err != nil || ppid <= 1 {
			return true
		}
		_, ppgrp, psid, err := procStat(ppid)
		if err != nil {
			return true
		}
		if ppgrp != pgrp {
			return psid != sid
		}
		pid = ppid
	}
	return true
}

func getsid() int {
	sid, _ := unix.Getsid(0)
	return sid
}

// procStat reads the parent, process group and session of pid from
// /proc/pid/stat.
func procStat(pid int) (ppid, pgrp, sid int, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name, in parentheses, may hold anything: fields follow
	// its last ')': state, ppid, pgrp, session.
	i := bytes.LastIndexByte(data, ')')
	fields := bytes.Fields(data[i+1:])
	if i < 0 || len(fields) < 4 {
		return 0, 0, 0, fmt.Errorf("parse /proc/%d/stat: too short", pid)
	}
	var ids [3]int
	for k := range ids {
		if ids[k], err = strconv.Atoi(string(fields[1+k])); err != nil {
			return 0, 0, 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
	}
	ppid, pgrp, sid = ids[0], ids[1], ids[2]
	return ppid, pgrp, sid, nil
}
