//go:build linux

package launch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// The tests here run a real terminal session: a pseudo-terminal whose
// session leader is a helper playing an interactive shell; it runs,
// as a job in the foreground (or in the background), a helper playing
// git, which runs a helper calling Run, as git runs exec runs git-runs.
// All three are this test binary again, in the role named by helperEnv.
const (
	helperEnv = "GITRUNS_LAUNCH_TEST_ROLE"
	scriptEnv = "GITRUNS_LAUNCH_TEST_SCRIPT" // the command, for sh -c
	execEnv   = "GITRUNS_LAUNCH_TEST_EXEC"   // or the command, run as is
	resultEnv = "GITRUNS_LAUNCH_TEST_RESULT" // where the launcher writes its Result
	bgEnv     = "GITRUNS_LAUNCH_TEST_BG"     // the shell runs git in the background
	exeEnv    = "GITRUNS_LAUNCH_TEST_EXE"    // this test binary, for scripts
	fileEnv   = "GITRUNS_LAUNCH_TEST_FILE"   // a file for the script to use
)

// waitLimit bounds every wait for the session, generous for a loaded
// machine and the race detector.
const waitLimit = 60 * time.Second

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "shell":
		os.Exit(playShell())
	case "git":
		os.Exit(playGit())
	case "launch":
		os.Exit(playLauncher())
	case "sizes":
		os.Exit(showSizes())
	case "sleeper":
		// A command that does not handle SIGINT, already when it says
		// so: a shell script could get Ctrl-C between its echo and its
		// sleep, and wait for the sleep.
		fmt.Println("started")
		for {
			time.Sleep(time.Hour)
		}
	}
	os.Exit(2)
}

// withRole is our environment with the helper role set, in place of
// ours: os.StartProcess passes on duplicates, and the first counts.
func withRole(role string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, helperEnv+"="+role)
}

// playShell runs git as a job, as an interactive shell does, and plays
// fg and bg with what it reads from the terminal when the job stops.
func playShell() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Printf("shell: %v\n", err)
		return 1
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Foreground: os.Getenv(bgEnv) == "", Ctty: 0}
	p, err := os.StartProcess(exe, []string{exe}, &os.ProcAttr{
		Env: withRole("git"), Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}, Sys: attr,
	})
	if err != nil {
		fmt.Printf("shell: start git: %v\n", err)
		return 1
	}
	defer p.Release()
	// Like an interactive shell, once its job is started: take the
	// terminal back from the background without stopping.
	signal.Ignore(syscall.SIGTTOU, syscall.SIGTTIN, syscall.SIGTSTP)
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(p.Pid, &ws, syscall.WUNTRACED, nil); err == syscall.EINTR {
			continue
		} else if err != nil {
			fmt.Printf("shell: wait: %v\n", err)
			return 1
		}
		if !ws.Stopped() {
			reportEnd(p.Pid, ws)
			return 0
		}
		unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, syscall.Getpgrp())
		fmt.Printf("shell: stopped %d\n", ws.StopSignal())
		line := make([]byte, 64)
		n, _ := os.Stdin.Read(line) // one line: the terminal is in canonical mode
		if strings.TrimSpace(string(line[:n])) == "fg" {
			unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, p.Pid)
		}
		syscall.Kill(-p.Pid, syscall.SIGCONT)
	}
}

// reportEnd prints how git ended and whose the terminal's foreground was
// then, and takes the terminal back.
func reportEnd(git int, ws syscall.WaitStatus) {
	owner := "other"
	switch fg, _ := unix.IoctlGetInt(0, unix.TIOCGPGRP); fg {
	case syscall.Getpgrp():
		owner = "shell"
	case git:
		owner = "git"
	}
	unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, syscall.Getpgrp())
	sig := 0
	if ws.Signaled() {
		sig = int(ws.Signal())
	}
	fmt.Printf("shell: git exit=%d signal=%d tty=%s\n", ws.ExitStatus(), sig, owner)
}

// playGit runs the launcher as git runs a dashed command: on SIGINT,
// SIGHUP, SIGTERM or SIGQUIT it kills the child with the same signal,
// waits for it, and dies of the signal itself (run-command.c,
// cleanup_children_on_signal); else it exits with the child's status.
func playGit() int {
	exe, err := os.Executable()
	if err != nil {
		return 128
	}
	cmd := exec.Command(exe)
	cmd.Env = withRole("launch")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		return 128
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case s := <-sigs:
		cmd.Process.Signal(s)
		<-done
		signal.Reset(s)
		syscall.Kill(os.Getpid(), s.(syscall.Signal))
		time.Sleep(time.Minute) // the signal kills us meanwhile
		return 128
	case <-done:
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

// launched is what the launcher tells of the run.
type launched struct {
	ExitCode int
	Signal   int
	Received string
	Err      string
}

// playLauncher runs the command with Run, says which processes are
// whose, and writes the result for the test.
func playLauncher() int {
	args := []string{"sh", "-c", os.Getenv(scriptEnv)}
	if e := os.Getenv(execEnv); e != "" {
		args = []string{e}
	}
	res, err := Run(Options{Args: args, Started: func(pid int) {
		pgid, _ := syscall.Getpgid(pid)
		fmt.Fprintf(os.Stderr, "launch: pid=%d pgrp=%d cmd=%d cmdpgrp=%d\n", os.Getpid(), syscall.Getpgrp(), pid, pgid)
	}})
	out := launched{ExitCode: res.ExitCode, Signal: int(res.Signal)}
	if res.Received != nil {
		out.Received = res.Received.String()
	}
	if err != nil {
		out.Err = err.Error()
	}
	data, _ := json.Marshal(out)
	os.WriteFile(os.Getenv(resultEnv), data, 0o644)
	if err != nil {
		return 127
	}
	return res.ExitCode
}

// showSizes is a command that prints the size of the terminal it writes
// to, at its start and on every SIGWINCH, until it reads a line.
func showSizes() int {
	winch := make(chan os.Signal, 8)
	signal.Notify(winch, syscall.SIGWINCH)
	show := func() {
		rows, cols, _ := pty.Getsize(os.Stdout)
		fmt.Printf("size %d %d\n", rows, cols)
	}
	show()
	fmt.Println("started")
	line := make(chan struct{})
	go func() { os.Stdin.Read(make([]byte, 64)); close(line) }()
	for {
		select {
		case <-winch:
			show()
		case <-line:
			return 0
		}
	}
}

// session is a terminal session run by the test: the pseudo-terminal's
// master end, what it showed, and the shell.
type session struct {
	t      *testing.T
	master *os.File
	result string // the launcher's result file
	shell  int

	mu   sync.Mutex
	out  []byte
	pos  int           // how far waitFor has consumed out
	grew chan struct{} // a receive after out grew
	eof  chan struct{} // closed when the terminal is gone
}

// startSession starts the shell, which starts git, which starts the
// launcher running script.
func startSession(t *testing.T, script string, env ...string) *session {
	t.Helper()
	return startSessionAs(t, "shell", script, env...)
}

// startSessionAs starts the session with role, not the shell, as its
// leader.
func startSessionAs(t *testing.T, role, script string, env ...string) *session {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{
		t: t, master: master, result: filepath.Join(t.TempDir(), "result.json"),
		grew: make(chan struct{}, 1), eof: make(chan struct{}),
	}
	cmd := exec.Command(exe)
	cmd.Env = append(withRole(role), scriptEnv+"="+script, resultEnv+"="+s.result, exeEnv+"="+exe)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start shell: %v", err)
	}
	slave.Close()
	s.shell = cmd.Process.Pid
	go s.read()
	go cmd.Wait()
	t.Cleanup(s.kill)
	return s
}

func (s *session) read() {
	buf := make([]byte, 4096)
	for {
		n, err := s.master.Read(buf)
		s.mu.Lock()
		s.out = append(s.out, buf[:n]...)
		s.mu.Unlock()
		select {
		case s.grew <- struct{}{}:
		default:
		}
		if err != nil {
			close(s.eof)
			return
		}
	}
}

// kill ends whatever is left of the session: its processes keep its id.
func (s *session) kill() {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if _, _, sid, err := procStat(pid); err == nil && sid == s.shell {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	s.master.Close()
}

// write types into the terminal.
func (s *session) write(text string) {
	s.t.Helper()
	if _, err := s.master.WriteString(text); err != nil {
		s.t.Fatalf("type %q: %v", text, err)
	}
}

// waitFor waits for the terminal to show what matches re, after what
// earlier calls matched, and returns its submatches.
func (s *session) waitFor(re string) []string {
	s.t.Helper()
	return s.match(re, true)
}

// find is waitFor from the start of the session, consuming nothing.
func (s *session) find(re string) []string {
	s.t.Helper()
	return s.match(re, false)
}

func (s *session) match(re string, consume bool) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(waitLimit)
	for {
		s.mu.Lock()
		from := 0
		if consume {
			from = s.pos
		}
		loc := rx.FindSubmatchIndex(s.out[from:])
		if loc != nil {
			var subs []string
			for i := 0; i < len(loc); i += 2 {
				subs = append(subs, string(s.out[from+loc[i]:from+loc[i+1]]))
			}
			if consume {
				s.pos = from + loc[1]
			}
			s.mu.Unlock()
			return subs
		}
		s.mu.Unlock()
		select {
		case <-s.grew:
		case <-s.eof:
			select {
			case <-s.grew: // one last look
			default:
				s.t.Fatalf("terminal closed before %q; it showed:\n%s", re, s.shown())
			}
		case <-deadline:
			s.t.Fatalf("no %q after %v; the terminal showed:\n%s", re, waitLimit, s.shown())
		}
	}
}

func (s *session) shown() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.out)
}

// pids are the processes of a session, as the launcher told them.
type pids struct{ launcher, pgrp, cmd, cmdpgrp int }

func (s *session) pids() pids {
	s.t.Helper()
	m := s.find(`launch: pid=(\d+) pgrp=(\d+) cmd=(\d+) cmdpgrp=(\d+)\r?\n`)
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[1+i])
	}
	return pids{n[0], n[1], n[2], n[3]}
}

// gitEnded waits for the shell to tell how git ended.
func (s *session) gitEnded() string {
	s.t.Helper()
	return s.waitFor(`shell: git exit=-?\d+ signal=\d+ tty=\w+`)[0]
}

// launched reads the launcher's result.
func (s *session) launched() launched {
	s.t.Helper()
	var l launched
	data, err := os.ReadFile(s.result)
	if err == nil {
		err = json.Unmarshal(data, &l)
	}
	if err != nil {
		s.t.Fatalf("read the launcher's result: %v; the terminal showed:\n%s", err, s.shown())
	}
	return l
}

// foreground is the terminal's foreground process group.
func (s *session) foreground() int {
	pgrp, _ := unix.IoctlGetInt(int(s.master.Fd()), unix.TIOCGPGRP)
	return pgrp
}

// waitUntil waits for cond to hold; what names it in the failure.
func (s *session) waitUntil(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not after %v; the terminal showed:\n%s", what, waitLimit, s.shown())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stopped reports whether pid is stopped.
func stopped(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(data, ')')
	return err == nil && i >= 0 && bytes.HasPrefix(data[i+1:], []byte(" T"))
}

// A Ctrl-C that the command catches, ending cleanly, reaches neither
// git-runs nor git: git ends as the command did, not killed by SIGINT,
// and the terminal is back with git's process group.
func TestCtrlCReachesOnlyTheCommand(t *testing.T) {
	s := startSession(t, `trap 'echo caught; exit 0' INT; echo started; while :; do sleep 1; done`)
	s.waitFor(`started`)
	if p := s.pids(); p.cmdpgrp != p.cmd || p.pgrp == p.cmdpgrp {
		t.Errorf("the command is not in a process group of its own: %+v", p)
	}
	s.write("\x03")
	s.waitFor(`caught`)
	if got := s.gitEnded(); got != "shell: git exit=0 signal=0 tty=git" {
		t.Errorf("%s, want exit 0, not killed, terminal given back", got)
	}
	if l := s.launched(); l != (launched{}) {
		t.Errorf("launcher got %+v, want exit 0 and nothing received", l)
	}
}

// A command that does not catch Ctrl-C dies of it; git just reports so.
func TestCtrlCKillsTheCommand(t *testing.T) {
	s := startSession(t, fmt.Sprintf(`%s=sleeper exec "$%s"`, helperEnv, exeEnv))
	s.waitFor(`started`)
	s.write("\x03")
	if got := s.gitEnded(); got != "shell: git exit=130 signal=0 tty=git" {
		t.Errorf("%s, want git to exit 130 itself", got)
	}
	if l := s.launched(); l != (launched{ExitCode: 130, Signal: int(syscall.SIGINT)}) {
		t.Errorf("launcher got %+v, want killed by SIGINT", l)
	}
}

// Ctrl-Z stops the whole job, command, launcher and git, for the shell
// to see; fg hands the terminal to the command again, which reads it.
func TestCtrlZStopsTheJobUntilFg(t *testing.T) {
	s := startSession(t, `echo started; read line; echo "got $line"; exit 3`)
	s.waitFor(`started`)
	p := s.pids()
	s.write("\x1a")
	s.waitFor(`shell: stopped 20\r?\n`)
	s.waitUntil("the command and the launcher stopped", func() bool { return stopped(p.cmd) && stopped(p.launcher) })
	if fg := s.foreground(); fg != s.shell {
		t.Errorf("stopped, the terminal's foreground is %d, want the shell's %d", fg, s.shell)
	}
	s.write("fg\n")
	s.waitUntil("the terminal handed to the command", func() bool { return s.foreground() == p.cmdpgrp })
	s.write("hello\n")
	s.waitFor(`got hello`)
	if got := s.gitEnded(); got != "shell: git exit=3 signal=0 tty=git" {
		t.Errorf("%s, want exit 3", got)
	}
	if l := s.launched(); l != (launched{ExitCode: 3}) {
		t.Errorf("launcher got %+v, want exit 3", l)
	}
}

// With no shell to continue a stopped job (git leads the session, as
// under ssh -t host git runs exec …, and its process group is
// orphaned), Ctrl-Z does nothing, as it would to the whole group
// without job control: the command is not left stopped for good.
func TestCtrlZWithoutShellDoesNothing(t *testing.T) {
	s := startSessionAs(t, "git", `echo started; read line; echo "got $line"`)
	s.waitFor(`started`)
	p := s.pids()
	s.write("\x1a")
	s.waitUntil("the command continued", func() bool { return !stopped(p.cmd) })
	s.write("hello\n")
	s.waitFor(`got hello`)
	select {
	case <-s.eof:
	case <-time.After(waitLimit):
		t.Fatalf("the session did not end; the terminal showed:\n%s", s.shown())
	}
	if l := s.launched(); l != (launched{}) {
		t.Errorf("launcher got %+v, want exit 0", l)
	}
}

// After Ctrl-Z and bg the command goes on in the background and ends;
// the terminal stays with the shell. (The command waits on a FIFO, not
// in a loop of sleeps: dash starts a sleep with vfork, and a Ctrl-Z
// that stops the child before its exec leaves dash waiting for it,
// never stopped, under any shell.)
func TestBgRunsTheJobOn(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSession(t, `echo started; read word < "$`+fileEnv+`"; echo "finished $word"`, fileEnv+"="+fifo)
	s.waitFor(`started`)
	p := s.pids()
	s.write("\x1a")
	s.waitFor(`shell: stopped 20\r?\n`)
	s.write("bg\n")
	s.waitUntil("the job continued", func() bool { return !stopped(p.cmd) && !stopped(p.launcher) })
	// Read and write, so as not to wait for the reader to open it.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.WriteString("go\n")
	s.waitFor(`finished go`)
	if got := s.gitEnded(); got != "shell: git exit=0 signal=0 tty=shell" {
		t.Errorf("%s, want exit 0 with the terminal left to the shell", got)
	}
}

// A command continued with bg that reads the terminal stops (SIGTTIN),
// and the job with it, until fg.
func TestBgThenReadStopsUntilFg(t *testing.T) {
	s := startSession(t, `echo started; read line; echo "got $line"`)
	s.waitFor(`started`)
	p := s.pids()
	s.write("\x1a")
	s.waitFor(`shell: stopped 20\r?\n`)
	s.write("bg\n")
	s.waitFor(`shell: stopped 20\r?\n`)
	s.write("fg\n")
	s.waitUntil("the terminal handed to the command", func() bool { return s.foreground() == p.cmdpgrp })
	s.write("hello\n")
	s.waitFor(`got hello`)
	if got := s.gitEnded(); got != "shell: git exit=0 signal=0 tty=git" {
		t.Errorf("%s, want exit 0", got)
	}
}

// Out of the foreground, git-runs gets no SIGWINCH; the command's
// pseudo-terminal follows the terminal's size all the same, and the
// command is told.
func TestWindowSizeFollowsTheTerminal(t *testing.T) {
	s := startSession(t, fmt.Sprintf(`%s=sizes exec "$%s"`, helperEnv, exeEnv))
	s.waitFor(`size 24 80\r?\n`)
	s.waitFor(`started`)
	if err := pty.Setsize(s.master, &pty.Winsize{Rows: 30, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	s.waitFor(`size 30 100\r?\n`)
	s.write("\n")
	if got := s.gitEnded(); got != "shell: git exit=0 signal=0 tty=git" {
		t.Errorf("%s, want exit 0", got)
	}
}

// A signal sent to git-runs itself reaches the command's whole process
// group, and is reported as received.
func TestSignalToLauncherReachesTheJob(t *testing.T) {
	s := startSession(t, `sleep 60 & p=$!; trap 'wait $p; echo "sleep ended $?"; exit 7' TERM; echo started; wait`)
	s.waitFor(`started`)
	syscall.Kill(s.pids().launcher, syscall.SIGTERM)
	s.waitFor(`sleep ended 143`)
	if got := s.gitEnded(); got != "shell: git exit=7 signal=0 tty=git" {
		t.Errorf("%s, want exit 7", got)
	}
	if l := s.launched(); l != (launched{ExitCode: 7, Received: syscall.SIGTERM.String()}) {
		t.Errorf("launcher got %+v, want exit 7 and SIGTERM received", l)
	}
}

// Killed outright, git-runs still has the command get SIGTERM.
func TestKilledLauncherTerminatesTheJob(t *testing.T) {
	file := filepath.Join(t.TempDir(), "term")
	s := startSession(t, `trap 'echo term > "$`+fileEnv+`"; exit 0' TERM; echo started; while :; do sleep 0.05; done`, fileEnv+"="+file)
	s.waitFor(`started`)
	syscall.Kill(s.pids().launcher, syscall.SIGKILL)
	s.waitUntil("the command got SIGTERM", func() bool {
		data, _ := os.ReadFile(file)
		return string(data) == "term\n"
	})
	s.waitFor(`shell: git exit=137 `)
}

// Run as a background job (&), git-runs leaves the command in its own
// process group and the terminal alone.
func TestBackgroundJobKeepsTheCommandInItsGroup(t *testing.T) {
	s := startSession(t, `echo started`, bgEnv+"=1")
	s.waitFor(`started`)
	if p := s.pids(); p.cmdpgrp != p.pgrp {
		t.Errorf("the command left the launcher's process group: %+v", p)
	}
	if got := s.gitEnded(); got != "shell: git exit=0 signal=0 tty=shell" {
		t.Errorf("%s, want exit 0 with the terminal left to the shell", got)
	}
}

// A command that cannot be executed leaves the terminal's foreground with
// git-runs, though its process made its group the foreground before its
// exec failed.
func TestFailedExecGivesTheTerminalBack(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("\x00\x01 not a program"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startSession(t, "", execEnv+"="+bad)
	if got := s.gitEnded(); got != "shell: git exit=127 signal=0 tty=git" {
		t.Errorf("%s, want exit 127 with the terminal given back", got)
	}
	if l := s.launched(); !strings.Contains(l.Err, "exec format error") {
		t.Errorf("launcher got %+v, want an exec format error", l)
	}
}
