package main

import (
	"flag"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden sections of testdata/script/*.txt")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"git-runs": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs testdata/script/*.txt: each a terminal session against
// the real binary in a fresh repository, with the real git as referee.
func TestScript(t *testing.T) {
	testscript.Run(t, scriptParams(filepath.Join("..", "..", "testdata", "script")))
}

// scriptParams are the settings of the scripts in dir.
func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup:               setupScript,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"capture":   cmdCapture,
			"normalize": cmdNormalize,
			"gitdaemon": cmdGitDaemon,
			"httpgit":   cmdHTTPGit,
		},
	}
}

// setupScript gives each script a home of its own with a git identity,
// and NOGIT_PATH, a PATH that finds git-runs but not git.
func setupScript(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	gitconfig := "[user]\n\tname = Ada Runner\n\temail = ada@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
		return err
	}
	env.Setenv("HOME", home)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	env.Setenv("NO_COLOR", "1")
	env.Setenv("USER", "ada")
	env.Setenv("GITRUNS_RUN", "")
	self, err := exec.LookPath("git-runs")
	if err != nil {
		return err
	}
	nogit := filepath.Join(env.WorkDir, ".nogit")
	if err := os.MkdirAll(nogit, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(self, filepath.Join(nogit, "git-runs")); err != nil {
		return err
	}
	env.Setenv("NOGIT_PATH", nogit)
	return nil
}

// TestServersStopWhenAScriptFails runs a script that starts git daemon
// and HTTP git, then fails: both must have stopped once the script ends.
func TestServersStopWhenAScriptFails(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	script := "mkdir srv\ngitdaemon srv DAEMON\nhttpgit srv HTTP\nexec sh -c 'echo $DAEMON $HTTP > " + out + "/urls'\nexec false\n"
	if err := os.WriteFile(filepath.Join(dir, "fails.txt"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ft := &failingT{}
	ft.run(func() { testscript.RunT(ft, scriptParams(dir)) })
	if !ft.failed {
		t.Fatal("the script did not fail")
	}
	b, err := os.ReadFile(filepath.Join(out, "urls"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range strings.Fields(string(b)) {
		addr := u[strings.Index(u, "//")+2:]
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still listens after the script failed", u)
		}
	}
}

// failingT runs scripts for TestServersStopWhenAScriptFails, taking
// their failure as the outcome rather than the test's.
type failingT struct {
	mu     sync.Mutex
	failed bool
}

// run calls f on a goroutine of its own, which FailNow ends.
func (ft *failingT) run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func (ft *failingT) Skip(args ...any) { runtime.Goexit() }
func (ft *failingT) Fatal(args ...any) {
	ft.Log(args...)
	ft.FailNow()
}
func (ft *failingT) Parallel()     {}
func (ft *failingT) Log(...any)    {}
func (ft *failingT) Verbose() bool { return false }
func (ft *failingT) FailNow() {
	ft.mu.Lock()
	ft.failed = true
	ft.mu.Unlock()
	runtime.Goexit()
}
func (ft *failingT) Run(name string, f func(testscript.T)) { ft.run(func() { f(ft) }) }

// cmdCapture sets an environment variable to the last command's standard
// output, trimmed: "capture ID" after "exec git runs start".
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: capture NAME")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

// cmdNormalize writes the last command's standard output to FILE with
// what differs from one session to the next replaced by placeholders, for
// cmp against a golden file: "normalize FILE". Run ids and their
// abbreviations (those of refs/runs in the current repository) become
// <id>, other hashes <hash>, dates <date>, ages <ago>, durations <dur>,
// Unix millisecond times <ms>, the host description <host>; then runs of
// spaces become two, as column widths follow the lengths replaced, and
// rows comparing two durations are dropped.
func cmdNormalize(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: normalize FILE")
	}
	out := ts.ReadFile("stdout")
	cmd := exec.Command("git", "for-each-ref", "--format=%(refname:lstrip=2)", "refs/runs")
	cmd.Dir = ts.MkAbs(".")
	refs, err := cmd.Output()
	ts.Check(err)
	for _, id := range strings.Fields(string(refs)) {
		// Longest first, so that a full id is not left half replaced.
		for n := len(id); n >= 4; n-- {
			out = regexp.MustCompile(`\b`+id[:n]+`\b`).ReplaceAllString(out, "<id>")
		}
	}
	for _, r := range []struct{ re, with string }{
		{`(?m)^(host\s+).*$`, "${1}<host>"},
		{`\b1\d{12}\b`, "<ms>"},
		{`\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)?`, "<date>"},
		{`\b[0-9a-f]{7,40}\b`, "<hash>"},
		{`\b(just now|\d+[smhd] ago)`, "<ago>"},
		{`\b\d+(\.\d+)?(µs|ms|s|m|h)\b`, "<dur>"},
		{` {2,}`, "  "},
		{`(?m) +$`, ""},
		// Whether two runs took the same number of milliseconds, or
		// started in the same minute, is chance: rows comparing
		// durations go, start times lose their mark of difference, and
		// a section left empty goes.
		{`(?m)^[~*]? *duration\b.*\n`, ""},
		{`(?m)^\* ( *started\b)`, "  $1"},
		{`(?m)^attributes\n(\n|$)`, ""},
	} {
		out = regexp.MustCompile(r.re).ReplaceAllString(out, r.with)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(out), 0o644))
}

// cmdGitDaemon serves the bare repositories under ROOT with git daemon on
// 127.0.0.1, pushes allowed, until the script ends: "gitdaemon ROOT URLVAR"
// sets URLVAR to git://127.0.0.1:PORT.
func cmdGitDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: gitdaemon ROOT URLVAR")
	}
	port := freePort(ts)
	root := ts.MkAbs(args[0])
	cmd := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
		"--base-path="+root, "--listen=127.0.0.1", "--port="+port, root)
	// The daemon and the processes it starts per connection are a group
	// of their own, killed together when the script ends, pass or fail;
	// and the daemon dies with the test binary if that is killed (a test
	// timeout runs no deferred function).
	cmd.SysProcAttr = daemonAttr()
	if err := cmd.Start(); err != nil {
		ts.Fatalf("start git daemon: %v", err)
	}
	ts.Defer(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		waitGroupGone(cmd.Process.Pid)
	})
	waitListening(ts, "127.0.0.1:"+port)
	ts.Setenv(args[1], "git://127.0.0.1:"+port)
}

// cmdHTTPGit serves the bare repositories under ROOT over HTTP on
// 127.0.0.1 through git http-backend (as CGI), pushes allowed, until the
// script ends: "httpgit ROOT URLVAR" sets URLVAR to http://127.0.0.1:PORT.
func cmdHTTPGit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: httpgit ROOT URLVAR")
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		ts.Fatalf("%v", err)
	}
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + ts.MkAbs(args[0]), "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + ts.Getenv("HOME")},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[1], "http://"+ln.Addr().String())
}

// waitGroupGone waits until no process of group pgid is left: git daemon
// runs git-daemon as a child, which can still hold its socket for a
// moment after the git that started it has been reaped.
func waitGroupGone(pgid int) {
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func freePort(ts *testscript.TestScript) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func waitListening(ts *testscript.TestScript, addr string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
