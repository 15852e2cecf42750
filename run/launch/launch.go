// Package launch runs the command of a run the way a terminal user expects
// while copying everything it prints: where git-runs' own standard output
// or error is a terminal, the command gets a pseudo-terminal for it, so
// colours and progress bars behave as if nothing stood between; where it
// is a regular file just created or emptied (>), the command gets that
// file itself, and what it writes is read back from the file; elsewhere
// it gets a pipe. Standard input and the process group are the caller's,
// so typing and Ctrl-C reach the command directly.
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
	// Started is called with the command's process id once it runs.
	Started func(pid int)
}

// Result tells how the command ended.
type Result struct {
	ExitCode int            // the exit status, or 128+signal when killed by one
	Signal   syscall.Signal // the signal that killed the command, or 0
	// Received is the signal git-runs itself got while the command ran
	// (Ctrl-C, a kill), which it passed on; nil when none.
	Received os.Signal
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

	var mu sync.Mutex
	capture := func(b []byte) {
		if o.Capture != nil {
			mu.Lock()
			o.Capture.Write(b)
			mu.Unlock()
		}
	}
	out, err := newStream(o.Stdout)
	if err != nil {
		return Result{}, err
	}
	defer out.close()
	streams := []*stream{out}
	cmd.Stdout, cmd.Stderr = out.child, out.child
	// When both go to one place (a terminal, or a file after 2>&1), one
	// stream keeps them in the order the command wrote them; two would
	// race.
	if !sameFile(o.Stdout, o.Stderr) {
		errs, err := newStream(o.Stderr)
		if err != nil {
			return Result{}, err
		}
		defer errs.close()
		streams = append(streams, errs)
		cmd.Stderr = errs.child
	}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGWINCH)
	defer signal.Stop(sigs)
	// A reader of our output that goes away (git runs exec … | head) must
	// not kill us mid-run: with SIGPIPE handled, the write fails instead,
	// and the command's output is still recorded. Handled, not ignored,
	// so the command itself keeps the default behaviour.
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)

	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	if o.Started != nil {
		o.Started(cmd.Process.Pid)
	}
	// Our copies of the child's ends must go, or reading never ends.
	for _, s := range streams {
		if !s.isFile {
			s.child.Close()
		}
	}

	exited := make(chan struct{})
	var copiers sync.WaitGroup
	for _, s := range streams {
		if s.isFile && o.Capture == nil {
			continue // the command writes to the file itself: nothing to copy
		}
		copiers.Add(1)
		go func(s *stream) {
			defer copiers.Done()
			if s.isFile {
				s.follow(capture, exited)
			} else {
				s.copy(capture)
			}
		}(s)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var res Result
	var werr error
loop:
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGWINCH {
				for _, st := range streams {
					st.resize()
				}
				continue
			}
			res.Received = s
			if (s == os.Interrupt || s == syscall.SIGQUIT) && (inForeground(o.Stdin) || inForeground(o.Stdout) || inForeground(o.Stderr)) {
				continue // the terminal sent it to the command as well
			}
			cmd.Process.Signal(s)
		case werr = <-waited:
			break loop
		}
	}

	close(exited)
	drained := make(chan struct{})
	go func() { copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		for _, st := range streams {
			st.close()
		}
		<-drained
	}

	if werr != nil {
		var xe *exec.ExitError
		if !errors.As(werr, &xe) {
			return res, fmt.Errorf("wait for %s: %w", o.Args[0], werr)
		}
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		res.Signal = ws.Signal()
		res.ExitCode = 128 + int(res.Signal)
	} else {
		res.ExitCode = ws.ExitStatus()
	}
	return res, nil
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

func (s *stream) resize() {
	if s.isTerm {
		pty.InheritSize(s.dest, s.read)
	}
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
