// Package launch runs the command of a run the way a terminal user expects
// while copying everything it prints: where git-runs' own standard output
// or error is a terminal, the command gets a pseudo-terminal for it, so
// colours and progress bars behave as if nothing stood between; where it
// is a regular file just created or emptied (>), the command gets that
// file itself, and what it writes is read back from the file; elsewhere
// it gets a pipe. Standard input is the caller's, so typing reaches the
// command directly. On the terminal that controls git-runs, where
// git-runs is in the foreground, the command runs as a job of its own,
// the way a shell runs one, so that Ctrl-C, Ctrl-\ and Ctrl-Z reach it
// and neither git-runs nor the git wrapper running it; elsewhere it stays
// in the caller's process group.
package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// drainTimeout bounds how long output is still read after the command
// exited: a background process it left behind may hold the pipe open
// forever.
const drainTimeout = 500 * time.Millisecond

// followInterval is how often a file the command writes to is read for
// what it added.
const followInterval = 5 * time.Millisecond

// sizeInterval is how often the terminal's size is looked at while the
// command runs as a job, when SIGWINCH goes to the command only: often
// enough that a redraw after resizing the window seems immediate.
const sizeInterval = 200 * time.Millisecond

// pipeSize is the pipe buffer asked for: Linux's default limit for an
// unprivileged process.
const pipeSize = 1 << 20

// Options describe the command to run.
type Options struct {
	Args   []string // the command; Args[0] is looked up in PATH
	Dir    string   // working directory; "" for the current one
	Env    []string // environment; nil for the current one
	Stdin  *os.File // default os.Stdin
	Stdout *os.File // where the command's output is shown; default os.Stdout
	Stderr *os.File // default os.Stderr
	// Capture receives a copy of everything the command prints, both
	// streams, in the order it was read. Writes are serialised.
	Capture io.Writer
	// CaptureErr, when set, receives the copy of standard error instead
	// of Capture when it goes elsewhere than standard output, so that
	// each stream's lines can be kept apart; when both go to one place
	// they are one stream, to Capture. Writes to both are serialised.
	CaptureErr io.Writer
	// Started is called with the command's process id once it runs.
	Started func(pid int)
}

// Result tells how the command ended.
type Result struct {
	ExitCode int            // the exit status, or 128+signal when killed by one
	Signal   syscall.Signal // the signal that killed the command, or 0
	// Received is the signal git-runs itself got while the command ran
	// (a kill; Ctrl-C too where the command stays in our process group),
	// which it passed on; nil when none.
	Received os.Signal
	// Job tells that the command ran as a job of its own in the
	// terminal's foreground: what the terminal sent reached it alone.
	Job bool
}

// Run runs the command to its end. It returns an error only when the
// command could not be started at all.
func Run(o Options) (Result, error) {
	if len(o.Args) == 0 {
		return Result{}, errors.New("run command: empty command")
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	path, err := exec.LookPath(o.Args[0])
	if err != nil {
		return Result{}, err
	}

	cmd := exec.Command(path, o.Args[1:]...)
	cmd.Args[0] = o.Args[0]
	cmd.Dir = o.Dir
	cmd.Env = o.Env
	cmd.Stdin = o.Stdin
	cmd.SysProcAttr = sysProcAttr()
	r := &runner{o: o, cmd: cmd, job: newJob(o.Stdin, o.Stdout, o.Stderr)}
	if r.job != nil {
		r.job.prepare(cmd.SysProcAttr)
	}
	defer r.closeStreams()
	if err := r.openStreams(); err != nil {
		return Result{}, err
	}
	return r.run()
}

// runner is one run of a command.
type runner struct {
	o       Options
	cmd     *exec.Cmd
	job     *job // nil when the command stays in our process group
	streams []*stream
	mu      sync.Mutex // serialises writes to o.Capture and o.CaptureErr
}

// openStreams gives the command its standard output and error.
func (r *runner) openStreams() error {
	out, err := newStream(r.o.Stdout)
	if err != nil {
		return err
	}
	r.streams = []*stream{out}
	r.cmd.Stdout, r.cmd.Stderr = out.child, out.child
	// When both go to one place (a terminal, or a file after 2>&1), one
	// stream keeps them in the order the command wrote them; two would
	// race.
	if !sameFile(r.o.Stdout, r.o.Stderr) {
		errs, err := newStream(r.o.Stderr)
		if err != nil {
			return err
		}
		r.streams = append(r.streams, errs)
		r.cmd.Stderr = errs.child
	}
	return nil
}

// closeStreams closes our ends of the command's streams.
func (r *runner) closeStreams() {
	for _, s := range r.streams {
		s.close()
	}
}

// capture hands what the command printed to o.Capture.
func (r *runner) capture(b []byte) {
	if r.o.Capture != nil {
		r.mu.Lock()
		r.o.Capture.Write(b)
		r.mu.Unlock()
	}
}

// captureErr hands what the command printed on its standard error, read
// apart, to o.CaptureErr.
func (r *runner) captureErr(b []byte) {
	r.mu.Lock()
	r.o.CaptureErr.Write(b)
	r.mu.Unlock()
}

// run starts the command and sees it to its end.
func (r *runner) run() (Result, error) {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGWINCH)
	if r.job != nil {
		// To hand the terminal to the command again after fg.
		signal.Notify(sigs, syscall.SIGCONT)
	}
	defer signal.Stop(sigs)
	// A reader of our output that goes away (git runs exec … | head) must
	// not kill us mid-run: with SIGPIPE handled, the write fails instead,
	// and the command's output is still recorded. Handled, not ignored,
	// so the command itself keeps the default behaviour.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)

	if err := r.cmd.Start(); err != nil {
		if r.job != nil {
			// The child makes its group the foreground before its exec,
			// which may then fail.
			r.job.handed = true
			r.job.takeTerminal()
		}
		return Result{}, err
	}
	pid := r.cmd.Process.Pid
	if r.job != nil {
		r.job.started(pid)
	}
	if r.o.Started != nil {
		r.o.Started(pid)
	}
	// Our copies of the child's ends must go, or reading never ends.
	for _, s := range r.streams {
		if !s.isFile {
			s.child.Close()
		}
	}

	exited := make(chan struct{})
	drained := r.copyStreams(exited)
	events := make(chan waitEvent)
	handled := make(chan struct{})
	go watch(r.cmd, r.job != nil, events, handled)
	res, werr := r.supervise(sigs, events, handled)
	if r.job != nil {
		r.job.takeTerminal()
		res.Job = true
	}
	close(exited)
	r.drain(drained)
	return r.ended(res, werr)
}

// ended completes res with how the command ended, given what
// exec.Cmd.Wait returned.
func (r *runner) ended(res Result, werr error) (Result, error) {
	if werr != nil {
		var xe *exec.ExitError
		if !errors.As(werr, &xe) {
			return res, fmt.Errorf("wait for %s: %w", r.o.Args[0], werr)
		}
	}
	ws, _ := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		res.Signal = ws.Signal()
		res.ExitCode = 128 + int(res.Signal)
	} else {
		res.ExitCode = ws.ExitStatus()
	}
	return res, nil
}

// copyStreams shows and captures what the command prints, until its ends
// of the streams are closed (or, for a file, exited is). The channel it
// returns is closed once all is copied.
func (r *runner) copyStreams(exited <-chan struct{}) <-chan struct{} {
	var copiers sync.WaitGroup
	for i, s := range r.streams {
		capture := r.capture
		if i == 1 && r.o.CaptureErr != nil {
			capture = r.captureErr
		} else if s.isFile && r.o.Capture == nil {
			continue // the command writes to the file itself: nothing to copy
		}
		copiers.Go(func() {
			if s.isFile {
				s.follow(capture, exited)
			} else {
				s.copy(capture)
			}
		})
	}
	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	return drained
}

// drain waits for the copying to end, for a while only: a background
// process the command left behind may hold its end open forever.
func (r *runner) drain(drained <-chan struct{}) {
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		r.closeStreams()
		<-drained
	}
}

// waitEvent is a change of the command's state: a stop, or its end.
type waitEvent struct {
	stopped bool
	err     error // of exec.Cmd.Wait, at the end
}

// watch sends the command's stops (only when untraced, as a job of its
// own) and, last, its end, collected by cmd.Wait. After a stop it waits
// on handled: till then the stop, not yet collected, would be reported
// again.
func watch(cmd *exec.Cmd, untraced bool, events chan<- waitEvent, handled <-chan struct{}) {
	for untraced && awaitStop(cmd.Process.Pid) {
		events <- waitEvent{stopped: true}
		<-handled
	}
	events <- waitEvent{err: cmd.Wait()}
}

// supervise passes signals on and follows the terminal's size and the
// command's stops until the command ends; it returns what exec.Cmd.Wait
// did.
func (r *runner) supervise(sigs <-chan os.Signal, events <-chan waitEvent, handled chan<- struct{}) (Result, error) {
	var res Result
	var poll <-chan time.Time
	if r.job != nil && r.hasTerm() {
		// Out of the terminal's foreground group we no longer get
		// SIGWINCH: the size is looked at instead.
		t := time.NewTicker(sizeInterval)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGWINCH:
				r.resize()
			case syscall.SIGCONT:
				r.job.continued()
			default:
				res.Received = s
				r.pass(s.(syscall.Signal))
			}
		case <-poll:
			r.resize()
		case ev := <-events:
			if ev.stopped {
				// Collected only now: a stop reported before a
				// SIGCONT we have since passed on is over.
				if takeStop(r.cmd.Process.Pid) {
					r.job.stopped()
				}
				handled <- struct{}{}
				continue
			}
			return res, ev.err
		}
	}
}

// pass passes on a signal git-runs got: to the command's process group
// when it runs as a job, else to the command.
func (r *runner) pass(s syscall.Signal) {
	if r.job != nil {
		r.job.signal(s)
		return
	}
	if (s == syscall.SIGINT || s == syscall.SIGQUIT) && (inForeground(r.o.Stdin) || inForeground(r.o.Stdout) || inForeground(r.o.Stderr)) {
		return // the terminal sent it to the command as well
	}
	r.cmd.Process.Signal(s)
}

// hasTerm reports whether the command writes to a pseudo-terminal of ours.
func (r *runner) hasTerm() bool {
	for _, s := range r.streams {
		if s.isTerm {
			return true
		}
	}
	return false
}

// resize gives our pseudo-terminals the size of the terminals they stand
// for. Not being the command's controlling terminal, a pseudo-terminal
// of ours tells nobody of a new size: when the command runs as a job, it
// is told with a SIGWINCH to its group. (In our group, it got the
// terminal's own.)
func (r *runner) resize() {
	changed := false
	for _, s := range r.streams {
		if s.resize() {
			changed = true
		}
	}
	if changed && r.job != nil {
		r.job.signal(syscall.SIGWINCH)
	}
}

// sameFile reports whether a and b are the same open file, as after 2>&1.
func sameFile(a, b *os.File) bool {
	fa, err1 := a.Stat()
	fb, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// inForeground reports whether f is a terminal whose foreground process
// group is ours: then a Ctrl-C reached every process of the group.
func inForeground(f *os.File) bool {
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == syscall.Getpgrp()
}

// stream is one output stream of the command: a pseudo-terminal when ours
// is a terminal, the file itself when ours is a regular file that only
// the command will write to, else a pipe.
type stream struct {
	dest   *os.File // where we show it
	child  *os.File // the end the command writes to
	read   *os.File // the end we read
	isTerm bool
	isFile bool  // child is dest, and read a handle of our own on it
	pos    int64 // in a file, where the command's output starts, then how far it was read
	once   sync.Once
}

func newStream(dest *os.File) (*stream, error) {
	s := &stream{dest: dest}
	if term.IsTerminal(int(dest.Fd())) {
		master, slave, err := pty.Open()
		if err == nil {
			// Pass bytes through unchanged (no \n to \r\n): our terminal
			// does that translation when we write to it, and the captured
			// output stays what the program printed.
			if t, err := unix.IoctlGetTermios(int(slave.Fd()), ioctlGetTermios); err == nil {
				t.Oflag &^= unix.OPOST
				unix.IoctlSetTermios(int(slave.Fd()), ioctlSetTermios, t)
			}
			s.read, s.child, s.isTerm = master, slave, true
			s.resize()
			return s, nil
		}
	}
	if r, pos, ok := fileAtEnd(dest); ok {
		s.read, s.child, s.isFile, s.pos = r, dest, true, pos
		return s, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create pipe: %w", err)
	}
	growPipe(w)
	s.read, s.child = r, w
	return s, nil
}

// fileAtEnd opens a handle to read dest with when dest is a regular file
// that the command will write at its end, as after >, and returns where
// the command's output will start. The command then writes to the file as
// it would without git-runs, at full speed and with nothing in between,
// and its output is read back from the file: for a command printing a
// million lines that is a third of the time of copying through a pipe.
//
// A file opened for appending (>>, nohup.out) gets a pipe: other
// processes may append to it too, and what they write is not the
// command's output. So does a file written over from its start (1<>),
// as only a pipe tells what is new.
func fileAtEnd(dest *os.File) (*os.File, int64, bool) {
	fi, err := dest.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, 0, false
	}
	flags, err := unix.FcntlInt(dest.Fd(), unix.F_GETFL, 0)
	if err != nil {
		return nil, 0, false
	}
	pos, err := dest.Seek(0, io.SeekCurrent)
	if err != nil || flags&unix.O_APPEND != 0 || pos != fi.Size() {
		return nil, 0, false
	}
	// Opened anew, as ours may be write-only.
	r, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", dest.Fd()))
	if err != nil {
		return nil, 0, false
	}
	if rfi, err := r.Stat(); err != nil || !os.SameFile(fi, rfi) {
		r.Close()
		return nil, 0, false
	}
	return r, fi.Size(), true
}

// resize gives a pseudo-terminal the size of the terminal it stands for,
// and reports whether that changed its size.
func (s *stream) resize() bool {
	if !s.isTerm {
		return false
	}
	want, err := pty.GetsizeFull(s.dest)
	if err != nil {
		return false
	}
	if have, err := pty.GetsizeFull(s.read); err == nil && *have == *want {
		return false
	}
	return pty.Setsize(s.read, want) == nil
}

// copy shows what the command writes and hands a copy to capture, until
// the command's end of the stream is closed.
func (s *stream) copy(capture func([]byte)) {
	buf := make([]byte, 256<<10)
	show := true
	for {
		n, err := s.read.Read(buf)
		if n > 0 {
			if show {
				if _, werr := s.dest.Write(buf[:n]); werr != nil {
					show = false // nobody reads it any more; keep recording
				}
			}
			capture(buf[:n])
		}
		if err != nil {
			return // EOF for a pipe, EIO for a pseudo-terminal whose writers are gone
		}
	}
}

// follow hands capture what the command adds to the file it writes to,
// reading it as it grows, until exited is closed and the rest is read.
func (s *stream) follow(capture func([]byte), exited <-chan struct{}) {
	buf := make([]byte, 256<<10)
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		last := false
		select {
		case <-exited:
			last = true
		case <-tick.C:
		}
		for {
			n, err := s.read.ReadAt(buf, s.pos)
			if n > 0 {
				capture(buf[:n])
				s.pos += int64(n)
			}
			if err != nil || n < len(buf) {
				break // caught up (EOF), or the file went away
			}
		}
		if last {
			return
		}
	}
}

func (s *stream) close() {
	s.once.Do(func() {
		s.read.Close()
		if !s.isFile {
			s.child.Close() // a file is the caller's
		}
	})
}
