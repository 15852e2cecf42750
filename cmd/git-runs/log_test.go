package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// On a terminal, git runs log goes through the pager ($PAGER when git
// has no other), keeps the colours the command printed and shows any
// other escape as text; into a pipe it writes the output as recorded.
func TestLogPager(t *testing.T) {
	dir := initRepo(t)
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	var sink bytes.Buffer
	script := `printf 'first line\n\033[31mred\033[0m\n\033]0;pwned\007title\nlast line\n'`
	if code := Main([]string{"-C", dir, "exec", "--name", "logged", "--", "sh", "-c", script}, &sink, &sink); code != 0 {
		t.Fatalf("exec: %d\n%s", code, sink.String())
	}
	// $PAGER is the pager when GIT_PAGER and core.pager are not set.
	if old, ok := os.LookupEnv("GIT_PAGER"); ok {
		os.Unsetenv("GIT_PAGER")
		t.Cleanup(func() { os.Setenv("GIT_PAGER", old) })
	}
	t.Setenv("PAGER", "sed s/^/PAGED:/")
	out := runOnTerminal(t, "-C", dir, "log", "logged")
	for _, want := range []string{"PAGED:first line", "\x1b[31mred", "PAGED:last line", "^[]0;pwned^G"} {
		if !strings.Contains(out, want) {
			t.Errorf("log on a terminal lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "\x1b]0;") {
		t.Errorf("log passed an escape that sets the title:\n%q", out)
	}
	var buf bytes.Buffer
	if code := Main([]string{"-C", dir, "log", "logged", "-n", "1"}, &buf, os.Stderr); code != 0 || buf.String() != "last line\n" {
		t.Errorf("log -n 1 into a pipe: exit %d, %q", code, buf.String())
	}
}

// On a terminal, exec ends with one line on standard error naming the
// run, how it ended and how to look at it; into a pipe it says nothing.
func TestExecSaysWhatItRecorded(t *testing.T) {
	dir := initRepo(t)
	var out bytes.Buffer
	said, code := mainOnTerminal(t, true, &out, "-C", dir, "exec", "--name", "told", "--", "sh", "-c", "echo hi; exit 3")
	var listed bytes.Buffer
	Main([]string{"-C", dir, "ls", "--json"}, &listed, os.Stderr)
	var runs []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(listed.Bytes(), &runs); err != nil || code != 3 || len(runs) != 1 {
		t.Fatalf("exec: exit %d; runs %s (%v)", code, listed.String(), err)
	}
	want := `git-runs: recorded run ` + short(runs[0].ID) + ` "told", failed: git runs show ` + short(runs[0].ID)
	if !strings.Contains(said, want) {
		t.Errorf("the terminal got %q, want a line %q", said, want)
	}
	var quiet bytes.Buffer
	Main([]string{"-C", dir, "exec", "--", "true"}, &out, &quiet)
	if strings.Contains(quiet.String(), "recorded run") {
		t.Errorf("into a pipe exec said %q", quiet.String())
	}
}
