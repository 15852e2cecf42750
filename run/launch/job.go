package launch

import (
	"os"
	"syscall"
)

// job runs the command on our controlling terminal the way a shell runs
// a job: in a process group of its own that is the terminal's foreground
// group, so that what the terminal sends (Ctrl-C, Ctrl-\, Ctrl-Z) reaches
// the command alone. Were it to reach git-runs and the git wrapper that
// runs us (git runs exec) too, git would kill us and then die of the
// signal itself, whatever the command made of it, and the shell would
// stop a list of commands after a command that ended cleanly.
type job struct {
	tty  *os.File // our controlling terminal, one of the command's streams
	pgid int      // the command's process group, once started
	// handed is set while the terminal's foreground is the command's by
	// our doing: only then do we take it back, never from the shell that
	// took it after a bg.
	handed bool
}

// newJob returns a job when one of the command's streams is our
// controlling terminal and our process group is its foreground group;
// nil otherwise (pipes, files, a background job): then the command stays
// in our process group, as the command of a pipeline would.
func newJob(files ...*os.File) *job {
	if !jobControl {
		return nil
	}
	for _, f := range files {
		if inForeground(f) {
			return &job{tty: f}
		}
	}
	return nil
}

// prepare makes the command start in a process group of its own that is
// the terminal's foreground group.
func (j *job) prepare(a *syscall.SysProcAttr) {
	a.Setpgid = true
	a.Foreground = true
	// With Foreground, Ctty is a descriptor of ours (the child sets the
	// foreground before it rearranges its descriptors), unlike with
	// Setctty. The child does so with its signals blocked, so it is not
	// stopped by SIGTTOU for acting from the background.
	a.Ctty = int(j.tty.Fd())
}

// started records the command's process group: its own process id.
func (j *job) started(pid int) {
	j.pgid = pid
	j.handed = true
}

// signal passes sig on to the command's whole process group, as the
// terminal would.
func (j *job) signal(sig syscall.Signal) {
	syscall.Kill(-j.pgid, sig)
}

// stopped acts on the command stopping (Ctrl-Z, or a read of the
// terminal after bg) as the user expects of a job: the terminal is taken
// back and our own process group, the git wrapper and us, stops as well,
// so that the shell sees its job stopped, to go on with fg or bg. Where
// we cannot stop (nobody could continue us: an orphaned process group,
// as under ssh host git runs exec …), the command is continued at once:
// Ctrl-Z does nothing, as it would without us.
func (j *job) stopped() {
	switch {
	case !canStopSelf():
		j.signal(syscall.SIGCONT)
	case !j.handed && j.inForeground():
		// Stopped in the background after bg, and the shell has given
		// us the terminal since (fg), its SIGCONT not yet handled: it
		// would come too late to undo our stopping.
		j.continued()
	default:
		j.takeTerminal()
		syscall.Kill(0, syscall.SIGTSTP)
	}
}

// continued acts on our SIGCONT. After fg our process group is the
// terminal's foreground again, and the terminal is handed to the
// command; after bg it is not, and the command goes on in the
// background, as the shell meant for the whole job.
func (j *job) continued() {
	if j.inForeground() {
		j.handed = setForeground(j.tty, j.pgid) == nil
	}
	j.signal(syscall.SIGCONT)
}

// inForeground reports whether our process group is the terminal's
// foreground group.
func (j *job) inForeground() bool {
	return inForeground(j.tty)
}

// takeTerminal gives the terminal's foreground back to our own process
// group if we had handed it to the command, so that the shell finds the
// foreground where it left it.
func (j *job) takeTerminal() {
	if j.handed {
		setForeground(j.tty, syscall.Getpgrp())
		j.handed = false
	}
}
