package main

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestImportServerScript runs testdata/import-server/*.txt: git runs
// import from a running MLflow server, git runs serve of another
// repository, started by the serve command of the scripts.
func TestImportServerScript(t *testing.T) {
	p := scriptParams("testdata/import-server")
	p.Cmds["serve"] = cmdServe
	p.Cmds["jsonget"] = cmdJSONGet
	p.Cmds["jsonis"] = cmdJSONIs
	testscript.Run(t, p)
}

var servingAt = regexp.MustCompile(`serving MLflow's API on (http://\S+)`)

// cmdServe starts git runs serve on a free port in the current
// directory, sets VAR to its URL once it listens, and stops it at the
// end of the script: serve VAR.
func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: serve VAR")
	}
	cmd := exec.Command("git-runs", "serve", "-p", "0")
	cmd.Dir = ts.MkAbs(".")
	var env []string
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_NOSYSTEM", "PATH", "USER", "TMPDIR"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	cmd.Stderr = os.Stderr
	ts.Check(cmd.Start())
	ts.Defer(func() {
		cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			ts.Logf("serve: %v", err)
		}
	})
	// The line is printed once the server listens.
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := servingAt.FindStringSubmatch(sc.Text()); m != nil {
			ts.Setenv(args[0], m[1])
			go func() {
				for sc.Scan() {
				}
			}()
			return
		}
	}
	ts.Fatalf("serve ended before it listened (%v)", sc.Err())
}
