package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// On a terminal, ls goes through the pager git would use; --no-pager and
// a pager of "cat" turn it off; colour is kept for the terminal.
func TestPager(t *testing.T) {
	dir := initRepo(t)
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	var sink bytes.Buffer
	if code := Main([]string{"-C", dir, "exec", "--name", "paged-run", "--", "true"}, &sink, &sink); code != 0 {
		t.Fatalf("exec: %d\n%s", code, sink.String())
	}
	onTerminal := func(args ...string) string {
		t.Helper()
		return runOnTerminal(t, append([]string{"-C", dir}, args...)...)
	}
	t.Setenv("GIT_PAGER", "sed s/^/PAGED:/")
	out := onTerminal("ls")
	if !strings.Contains(out, "PAGED:") || !strings.Contains(out, "paged-run") || !strings.Contains(out, "\x1b[") {
		t.Errorf("ls on a terminal did not go through the pager in colour:\n%q", out)
	}
	if out := onTerminal("show", "@"); !strings.Contains(out, "PAGED:\x1b[1mrun") {
		t.Errorf("show on a terminal did not go through the pager:\n%q", out)
	}
	if out := onTerminal("--no-pager", "ls"); strings.Contains(out, "PAGED:") || !strings.Contains(out, "paged-run") {
		t.Errorf("ls --no-pager:\n%q", out)
	}
	t.Setenv("GIT_PAGER", "cat")
	if out := onTerminal("ls"); strings.Contains(out, "PAGED:") || !strings.Contains(out, "paged-run") {
		t.Errorf("ls with the pager cat:\n%q", out)
	}
	// What a run holds cannot act on the terminal: an escape that would
	// set the window title shows as text. Colours still work.
	if code := Main([]string{"-C", dir, "tag", "--run", "@", "note=\x1b]0;pwned\x07"}, &sink, &sink); code != 0 {
		t.Fatalf("tag: %d\n%s", code, sink.String())
	}
	out = onTerminal("--no-pager", "show", "@")
	if strings.Contains(out, "\x1b]0;") || !strings.Contains(out, "^[]0;pwned^G") || !strings.Contains(out, "\x1b[1m") {
		t.Errorf("show of a tag holding an escape:\n%q", out)
	}
	// Not a terminal: no pager.
	t.Setenv("GIT_PAGER", "sed s/^/PAGED:/")
	var buf bytes.Buffer
	if Main([]string{"-C", dir, "ls"}, &buf, os.Stderr); strings.Contains(buf.String(), "PAGED:") {
		t.Errorf("ls into a buffer went through the pager")
	}
}
