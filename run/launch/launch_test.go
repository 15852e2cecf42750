package launch

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sink returns a pipe whose read end is drained into a buffer.
func sink(t *testing.T) (*os.File, func() string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var buf syncBuf
	done := make(chan struct{})
	go func() { io.Copy(&buf, r); close(done) }()
	t.Cleanup(func() { r.Close() })
	return w, func() string { w.Close(); <-done; return buf.String() }
}

func TestPipesPassThroughAndCapture(t *testing.T) {
	out, shown := sink(t)
	errw, shownErr := sink(t)
	var cap syncBuf
	res, err := Run(Options{
		Args:   []string{"sh", "-c", `echo out1; echo err1 >&2; test -t 1 || echo "not a tty"; exit 3`},
		Stdout: out, Stderr: errw, Capture: &cap,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.Signal != 0 || res.Received != nil {
		t.Errorf("result %+v, want exit 3", res)
	}
	if got := shown(); got != "out1\nnot a tty\n" {
		t.Errorf("stdout shown %q", got)
	}
	if got := shownErr(); got != "err1\n" {
		t.Errorf("stderr shown %q", got)
	}
	for _, want := range []string{"out1\n", "err1\n", "not a tty\n"} {
		if !strings.Contains(cap.String(), want) {
			t.Errorf("capture %q lacks %q", cap.String(), want)
		}
	}
}

// With CaptureErr, standard error read apart goes there and standard
// output to Capture; when both go to one place, all goes to Capture.
func TestCaptureErrApart(t *testing.T) {
	out, shown := sink(t)
	errw, shownErr := sink(t)
	var capOut, capErr syncBuf
	script := `echo out1; printf '\rbar 1' >&2; echo out2; printf '\rbar 2\n' >&2`
	if _, err := Run(Options{Args: []string{"sh", "-c", script}, Stdout: out, Stderr: errw, Capture: &capOut, CaptureErr: &capErr}); err != nil {
		t.Fatal(err)
	}
	if capOut.String() != "out1\nout2\n" || capErr.String() != "\rbar 1\rbar 2\n" {
		t.Errorf("captured %q and %q", capOut.String(), capErr.String())
	}
	if shown() != "out1\nout2\n" || shownErr() != "\rbar 1\rbar 2\n" {
		t.Error("shown otherwise than printed")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "both"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all, none syncBuf
	if _, err := Run(Options{Args: []string{"sh", "-c", script}, Stdout: f, Stderr: f, Capture: &all, CaptureErr: &none}); err != nil {
		t.Fatal(err)
	}
	if all.String() != "out1\n\rbar 1out2\n\rbar 2\n" || none.String() != "" {
		t.Errorf("one place: captured %q and %q", all.String(), none.String())
	}
}

func TestTerminalGetsPseudoTerminal(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pseudo-terminal: %v", err)
	}
	defer master.Close()
	var shown syncBuf
	go io.Copy(&shown, master)
	var cap syncBuf
	res, err := Run(Options{
		Args:   []string{"sh", "-c", `test -t 1 && printf 'tty\n'; printf 'progress 1\rprogress 2\n'`},
		Stdout: slave, Stderr: slave, Capture: &cap,
	})
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit %d", res.ExitCode)
	}
	// The command saw a terminal, and the capture holds its bytes as
	// printed: \r kept, \n not turned into \r\n.
	if got := cap.String(); got != "tty\nprogress 1\rprogress 2\n" {
		t.Errorf("capture %q", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(shown.String(), "progress 2") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(shown.String(), "tty") {
		t.Errorf("terminal showed %q", shown.String())
	}
}

func TestSignalIsPassedOn(t *testing.T) {
	out, shown := sink(t)
	var pid int
	started := make(chan struct{})
	go func() {
		<-started
		time.Sleep(100 * time.Millisecond)
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
	res, err := Run(Options{
		Args:    []string{"sh", "-c", `trap 'echo got term; exit 7' TERM; echo ready; while :; do sleep 0.02; done`},
		Stdout:  out,
		Started: func(p int) { pid = p; close(started) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if pid == 0 {
		t.Error("Started was not called")
	}
	if res.Received != syscall.SIGTERM || res.ExitCode != 7 {
		t.Errorf("result %+v, want SIGTERM received and exit 7", res)
	}
	if got := shown(); !strings.Contains(got, "got term") {
		t.Errorf("output %q", got)
	}
}

func TestKilledBySignal(t *testing.T) {
	res, err := Run(Options{Args: []string{"sh", "-c", `kill -KILL $$`}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Signal != syscall.SIGKILL || res.ExitCode != 128+9 {
		t.Errorf("result %+v", res)
	}
}

func TestBackgroundChildDoesNotHang(t *testing.T) {
	start := time.Now()
	out, _ := sink(t)
	res, err := Run(Options{Args: []string{"sh", "-c", `sleep 5 & echo left a child`}, Stdout: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit %d", res.ExitCode)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("waited %v for a background child holding the pipe", d)
	}
}

func TestMissingCommand(t *testing.T) {
	if _, err := Run(Options{Args: []string{"no-such-command-xyz"}}); err == nil {
		t.Fatal("no error for a missing command")
	}
}

// A command whose output goes to a regular file that only it writes to
// writes to that file itself; what it adds is read back from the file,
// exactly once, in order, including what it writes just before it exits.
// Appended to, the file gets a pipe; the result must be the same.
func TestFileGetsOutputDirectly(t *testing.T) {
	dir := t.TempDir()
	script := `i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; echo err >&2; sleep 0.05; printf last`
	var want strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	want.WriteString("err\nlast")

	for _, tc := range []struct {
		name   string
		flags  int
		old    string // already in the file
		direct bool   // the command gets the file itself
	}{
		{"truncated", os.O_WRONLY | os.O_CREATE | os.O_TRUNC, "", true},
		{"written at its end", os.O_WRONLY, "from before\n", true},
		// Others may append to it too (nohup.out): a pipe.
		{"appended", os.O_WRONLY | os.O_CREATE | os.O_APPEND, "from before\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.old), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, tc.flags, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var cap syncBuf
			if tc.old != "" && tc.flags&os.O_APPEND == 0 {
				f.Seek(0, io.SeekEnd)
			}
			s, err := newStream(f)
			if err != nil || s.isFile != tc.direct {
				t.Fatalf("a file %s: given directly %v, want %v (%v)", tc.name, s.isFile, tc.direct, err)
			}
			s.close()
			res, err := Run(Options{Args: []string{"sh", "-c", script}, Stdout: f, Stderr: f, Capture: &cap})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("%+v, %v", res, err)
			}
			data, _ := os.ReadFile(path)
			if string(data) != tc.old+want.String() {
				t.Errorf("file holds %d bytes, want %d", len(data), len(tc.old)+want.Len())
			}
			if cap.String() != want.String() {
				t.Errorf("captured %d bytes, want %d: ends %q", len(cap.String()), want.Len(), cap.String()[max(0, len(cap.String())-20):])
			}
		})
	}
}

// A file that the command would write over, not at its end, gets a pipe:
// only a pipe tells what is new.
func TestFileWrittenOverGetsPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte("old content that is long\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cap syncBuf
	res, err := Run(Options{Args: []string{"sh", "-c", "echo new"}, Stdout: f, Stderr: f, Capture: &cap})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	data, _ := os.ReadFile(path)
	if cap.String() != "new\n" || string(data) != "new\ncontent that is long\n" {
		t.Errorf("captured %q, file %q", cap.String(), data)
	}
}
