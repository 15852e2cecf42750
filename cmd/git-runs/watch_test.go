package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// screen is what a terminal shows of raw, its rows: it follows what
// watch and the programs it replays write (text, \r, \n, ESC [ K), and
// drops other escapes.
func screen(raw string) []string {
	rows := []string{""}
	col := 0
	esc := regexp.MustCompile(`^\x1b\[[0-9;?]*[A-Za-z]`)
	for i := 0; i < len(raw); i++ {
		r := &rows[len(rows)-1]
		switch c := raw[i]; c {
		case '\r':
			col = 0
		case '\n':
			rows = append(rows, "")
			col = 0
		case 0x1b:
			m := esc.FindString(raw[i:])
			if m == "\x1b[K" {
				*r = (*r)[:min(col, len(*r))]
			}
			i += max(len(m), 1) - 1
		default:
			if col < len(*r) {
				*r = (*r)[:col] + string(c) + (*r)[col+1:]
			} else {
				*r += string(c)
			}
			col++
		}
	}
	return rows
}

// newTestView is a watchView writing to buf, as on a terminal that
// standard error shares when shared.
func newTestView(buf *bytes.Buffer, terminal, shared bool) *watchView {
	v := &watchView{out: bufio.NewWriter(buf), shared: shared}
	if terminal {
		v.tty = buf
	}
	return v
}

// On a terminal shared with standard error, the live line is drawn,
// redrawn, cleared for git-runs' own lines and replaced by its final
// state: no row of the screen mixes a bar with a metric line.
func TestWatchViewTerminal(t *testing.T) {
	var buf bytes.Buffer
	v := newTestView(&buf, true, true)
	say := func(s string) func() { return func() { v.out.Flush(); buf.WriteString(s) } }
	v.show(nil, []byte("train:  10%|#         | 1/10"))
	v.show(nil, []byte("train:  20%|##        | 2/10"))
	v.aside(say("git-runs: loss=0.5\n"))
	v.show([]byte("step 2 loss=0.25\n"), []byte("train:  30%|###       | 3/10"))
	v.show(nil, []byte("train:  30%|###       | 3/10")) // unchanged: nothing
	v.show([]byte("train: 100%|##########| 10/10\n"), nil)
	v.aside(say("git-runs: loss=0.25\n"))
	v.end()
	want := []string{
		"git-runs: loss=0.5",
		"step 2 loss=0.25",
		"train: 100%|##########| 10/10",
		"git-runs: loss=0.25",
		"",
	}
	if got := screen(buf.String()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("screen %q, want %q\nraw %q", got, want, buf.String())
	}
	if !strings.Contains(buf.String(), "train:  20%|##        | 2/10\r\x1b[Kgit-runs: loss=0.5\ntrain:  20%|##        | 2/10\r") {
		t.Errorf("the bar is not cleared and drawn again around the metric line: %q", buf.String())
	}
}

// Into a file or pipe, the stored output passes exactly, without the
// live line; a metric line that would land inside an unfinished line
// (a line too long to be held back) ends it first when both streams go
// to one file.
func TestWatchViewFile(t *testing.T) {
	for _, shared := range []bool{true, false} {
		var buf bytes.Buffer
		v := newTestView(&buf, false, shared)
		say := func(s string) func() { return func() { v.out.Flush(); buf.WriteString(s) } }
		v.show([]byte("step 1 loss=0.5\n"), []byte("train:  20%"))
		v.aside(say("git-runs: loss=0.5\n"))
		v.show([]byte("a long line, in part"), nil)
		v.aside(say("git-runs: loss=0.25\n"))
		v.show([]byte(" and the rest\n"), nil)
		v.end()
		want := "step 1 loss=0.5\ngit-runs: loss=0.5\na long line, in part\ngit-runs: loss=0.25\n and the rest\n"
		if !shared {
			want = "step 1 loss=0.5\ngit-runs: loss=0.5\na long line, in partgit-runs: loss=0.25\n and the rest\n"
		}
		if buf.String() != want {
			t.Errorf("shared %v: %q, want %q", shared, buf.String(), want)
		}
	}
}

// watch on a terminal (standard output and error one pseudo-terminal)
// follows a command drawing a progress bar on its standard error with
// metric lines between redraws: the bar shows live, and each metric line
// of git-runs' has a row of its own.
func TestWatchProgressBar(t *testing.T) {
	dir := initRepo(t)
	script := `printf '\rtrain:  10%%|#         | 1/10' >&2
printf '\r                              \rstep 1 loss=0.5\n' >&2
printf '\rtrain:  20%%|##        | 2/10' >&2
printf '\rtrain:  30%%|###       | 3/10' >&2
until [ -e release ]; do sleep 0.01; done
printf '\r                              \rstep 2 loss=0.25\n' >&2
printf '\rtrain: 100%%|##########| 10/10\n' >&2
`
	self, err := exec.LookPath("git-runs")
	if err != nil {
		t.Fatal(err)
	}
	run := exec.Command(self, "-C", dir, "exec", "--name", "barred", "--", "sh", "-c", script)
	run.Dir = dir
	var runOut bytes.Buffer
	run.Stdout, run.Stderr = &runOut, &runOut
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { run.Wait(); close(exited) }()
	defer func() { <-exited }()
	release := func() { os.WriteFile(filepath.Join(dir, "release"), nil, 0o644) }
	defer release() // however the test ends, the command ends

	// The bar, the metric line before it, and the metric read from it
	// are on disk before watch starts: its first look has all three. The
	// bar as of its last \r: 2/10 (3/10 is still being drawn, as far as
	// git-runs can tell).
	for !strings.Contains(lsJSON(t, dir), `"loss"`) || !bytes.Contains(outputLine(t, dir), []byte("2/10")) {
		select {
		case <-exited:
			t.Fatalf("exec ended early: %s", runOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}

	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	raw := make(chan string, 100)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			if n > 0 {
				raw <- string(b[:n])
			}
			if err != nil {
				close(raw)
				return
			}
		}
	}()
	done := make(chan int)
	go func() {
		done <- Main([]string{"-C", dir, "watch", "barred", "--interval", "20ms"}, slave, slave)
		slave.Close()
	}()
	var got strings.Builder
	released := false
	redrawn := regexp.MustCompile(`\r\x1b\[Kgit-runs: loss=0\.5\b[^\n]*\r\ntrain:  20%\|##        \| 2/10`)
	deadline := time.After(30 * time.Second)
	for open := true; open; {
		var s string
		select {
		case s, open = <-raw:
		case <-deadline:
			t.Fatalf("released %v; the terminal shows %q", released, got.String())
		}
		got.WriteString(s)
		// Released once the bar was drawn again after the metric line.
		if !released && redrawn.MatchString(got.String()) {
			release()
			released = true
		}
		if released && strings.Contains(got.String(), "finished (exit 0)") {
			break
		}
	}
	if code := <-done; code != 0 || !released {
		t.Fatalf("watch exit %d, released %v: %q", code, released, got.String())
	}
	rows := screen(strings.ReplaceAll(got.String(), "\r\n", "\n"))
	var metrics []string
	for _, r := range rows {
		if i := strings.Index(r, "git-runs:"); i > 0 {
			t.Errorf("row %q: git-runs' line inside the output", r)
		} else if i == 0 && strings.Contains(r, "loss=") {
			metrics = append(metrics, strings.Fields(r)[1]) // after it, system metrics
		}
		if strings.Contains(r, "train:") && r != "train: 100%|##########| 10/10" {
			t.Errorf("row %q: a bar left on the screen", r)
		}
	}
	if fmt.Sprint(metrics) != "[loss=0.5 loss=0.25]" {
		t.Errorf("metric rows %q", metrics)
	}
	for _, want := range []string{"step 1 loss=0.5", "step 2 loss=0.25", "train: 100%|##########| 10/10"} {
		if !strings.Contains(strings.Join(rows, "\n"), want) {
			t.Errorf("no row %q in %q", want, rows)
		}
	}
}

// lsJSON is git runs ls --json in dir.
func lsJSON(t *testing.T, dir string) string {
	t.Helper()
	var out bytes.Buffer
	Main([]string{"-C", dir, "ls", "--json"}, &out, io.Discard)
	return out.String()
}

// outputLine is the state of the line being redrawn of the live runs in
// dir.
func outputLine(t *testing.T, dir string) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, ".git", "runs", "live", "*.output.line"))
	var all []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	return all
}
