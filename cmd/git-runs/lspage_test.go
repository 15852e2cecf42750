package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// TestLsShowsTheNewestPageOnATerminal checks that ls on a terminal shows
// the newest runs and says how many more there are, that --all and -n
// say otherwise, and that a pipe gets every run.
func TestLsShowsTheNewestPageOnATerminal(t *testing.T) {
	dir := initRepo(t)
	repo, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < lsPage+5; i++ {
		r, err := live.Recorder{Store: repo, Dir: repo.LiveDir()}.Start(context.Background(), live.Options{Params: map[string]any{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.End(run.Finished); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID())
	}
	repo.Close()
	rows := func(out string) (n int, note string) {
		for _, l := range strings.Split(strings.TrimSpace(ansi.ReplaceAllString(out, "")), "\n") {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "…"):
				note = l
			case !strings.HasPrefix(l, "ID"):
				n++
			}
		}
		return n, note
	}
	out := runOnTerminal(t, "-C", dir, "--no-pager", "ls")
	n, note := rows(out)
	if n != lsPage || !strings.Contains(note, "5 older runs") {
		t.Fatalf("ls on a terminal: %d rows, note %q\n%s", n, note, out)
	}
	// The last column is the param i, the order the runs were made in.
	lines := strings.Split(strings.TrimSpace(ansi.ReplaceAllString(out, "")), "\n")
	first, last := strings.Fields(lines[1]), strings.Fields(lines[len(lines)-2])
	if first[len(first)-1] != fmt.Sprint(lsPage+4) || last[len(last)-1] != "5" {
		t.Fatalf("ls on a terminal does not show the newest runs, newest first:\n%s", out)
	}
	_ = ids
	if n, note := rows(runOnTerminal(t, "-C", dir, "--no-pager", "ls", "--all")); n != lsPage+5 || note != "" {
		t.Fatalf("ls --all: %d rows, note %q", n, note)
	}
	if n, note := rows(runOnTerminal(t, "-C", dir, "--no-pager", "ls", "-n", "3")); n != 3 || note != "" {
		t.Fatalf("ls -n 3: %d rows, note %q", n, note)
	}
	var stdout, stderr strings.Builder
	if code := Main([]string{"-C", dir, "ls"}, &stdout, &stderr); code != 0 {
		t.Fatalf("ls into a pipe: exit %d: %s", code, stderr.String())
	}
	if n, note := rows(stdout.String()); n != lsPage+5 || note != "" {
		t.Fatalf("ls into a pipe: %d rows, note %q", n, note)
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")
