package gitstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunsVersion: the version stays while nothing changes, and moves
// when a run ref is written by git itself, when refs are packed, and when
// a journal grows; a write within the racy window gives no version.
func TestRunsVersion(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	head := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	git(t, dir, "update-ref", "refs/runs/01hf7yat00fxhwdsh1nj6ec59a", head)
	if v := r.RunsVersion(); v != "" {
		t.Errorf("version right after a write: %q, want none", v)
	}
	// Without the racy window, every write is trusted at once: each
	// change below must show in the times it leaves.
	saved := racyWindow
	racyWindow = 0
	t.Cleanup(func() { racyWindow = saved })
	v1 := r.RunsVersion()
	if v1 == "" || r.RunsVersion() != v1 {
		t.Fatalf("version of an unchanged repository: %q then %q", v1, r.RunsVersion())
	}
	for _, c := range []struct {
		name   string
		change func()
	}{
		{"a run ref written by git", func() { git(t, dir, "update-ref", "refs/runs/01hf7yat00fxhwdsh1nj6ec59b", head) }},
		{"refs packed", func() { git(t, dir, "pack-refs", "--all") }},
		{"a run ref deleted by git", func() { git(t, dir, "update-ref", "-d", "refs/runs/01hf7yat00fxhwdsh1nj6ec59b") }},
		{"a journal written", func() {
			os.MkdirAll(r.LiveDir(), 0o755)
			os.WriteFile(filepath.Join(r.LiveDir(), "01hf7yat00fxhwdsh1nj6ec59c.journal"), []byte("S\t{}\n"), 0o644)
		}},
		{"a journal grown", func() {
			f, _ := os.OpenFile(filepath.Join(r.LiveDir(), "01hf7yat00fxhwdsh1nj6ec59c.journal"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("M\tloss\t0\t1\t0.5\n")
			f.Close()
		}},
	} {
		before := r.RunsVersion()
		c.change()
		if after := r.RunsVersion(); after == before {
			t.Errorf("%s: version unchanged (%q)", c.name, after)
		}
	}
}
