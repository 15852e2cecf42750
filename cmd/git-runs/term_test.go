package main

import (
	"bytes"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/creack/pty"
)

// initRepo makes a git repository with one empty commit, for tests that
// call Main in this process.
func initRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"-c", "user.name=A", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "init"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	return dir
}

// mainOnTerminal runs git-runs with a pseudo-terminal as its standard
// output, or with asErr as its standard error (standard output then goes
// to other), and returns what the terminal received and the exit code.
func mainOnTerminal(t *testing.T, asErr bool, other io.Writer, args ...string) (string, int) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	got := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, master) // ends with EIO once the slave is closed
		got <- b.String()
	}()
	var code int
	if asErr {
		code = Main(args, other, slave)
	} else {
		code = Main(args, slave, other)
	}
	slave.Close()
	select {
	case s := <-got:
		return s, code
	case <-time.After(10 * time.Second):
		t.Fatal("no output from the terminal")
		return "", code
	}
}

// runOnTerminal runs git-runs with a pseudo-terminal as standard output,
// fails the test unless it exits 0, and returns what the terminal received.
func runOnTerminal(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	out, code := mainOnTerminal(t, false, &stderr, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
	}
	return out
}
