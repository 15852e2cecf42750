// Package proc tells facts about processes on this machine that crash
// detection needs: whether a process still runs, when it started (so that
// a reused pid is not taken for the process that had it), and which
// process called this one.
package proc
