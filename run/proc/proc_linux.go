package proc

import (
	"bytes"
	"os"
	"strconv"
)

// StartTime returns the start time of a process in clock ticks since
// boot, so that a pid reused by another process is not mistaken for the
// run's owner. Zero when unknown.
func StartTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name in field 2 may hold spaces and parentheses: fields
	// are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0
	}
	n, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Alive reports whether the process pid started at start still runs.
func Alive(pid int, start uint64) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 {
		if f := bytes.Fields(b[i+1:]); len(f) > 0 && string(f[0]) == "Z" {
			return false // a zombie has exited; only its parent has not reaped it
		}
	}
	return start == 0 || StartTime(pid) == start
}

// CallerPID returns the process that called this one, looking through the
// git wrapper: "git runs start" runs git-runs as a child of a short-lived
// git process, whose own parent is the real caller.
func CallerPID() int {
	ppid := os.Getppid()
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/comm")
	if err != nil || string(bytes.TrimSpace(comm)) != "git" {
		return ppid
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/stat")
	if err != nil {
		return ppid
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ppid
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return ppid
	}
	if gp, err := strconv.Atoi(string(f[1])); err == nil && gp > 1 {
		return gp
	}
	return ppid
}
