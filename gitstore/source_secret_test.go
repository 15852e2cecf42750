package gitstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Files whose names say they hold secrets stay out of a snapshot, whether
// untracked, staged or changed since HEAD; so do untracked files over
// runs.snapshotMaxFile. Each is named once in a warning and in
// source.skipped.
func TestCaptureSourceLeavesOutSecretFiles(t *testing.T) {
	for _, many := range []bool{false, true} {
		dir := newRepo(t)
		writeFile(t, filepath.Join(dir, "config", ".env"), "A=committed\n")
		writeFile(t, filepath.Join(dir, "train.py"), "print(1)\n")
		git(t, dir, "add", ".")
		git(t, dir, "commit", "-q", "-m", "one")
		git(t, dir, "config", "runs.snapshotMaxFile", "1k")

		writeFile(t, filepath.Join(dir, "config", ".env"), "A=changed-secret\n")
		writeFile(t, filepath.Join(dir, ".env.local"), "TOKEN=x\n")
		writeFile(t, filepath.Join(dir, ".ssh", "id_rsa"), "key\n")
		writeFile(t, filepath.Join(dir, "credentials.json"), "{}\n")
		writeFile(t, filepath.Join(dir, "tls", "server.key"), "key\n")
		git(t, dir, "add", "tls/server.key") // staged, never committed
		writeFile(t, filepath.Join(dir, "notes.txt"), "a normal file\n")
		writeFile(t, filepath.Join(dir, "data.bin"), strings.Repeat("x", 2048))
		writeFile(t, filepath.Join(dir, "train.py"), "print(2)\n")
		if many {
			// Beyond maxTargetedPaths the work tree is staged whole.
			old := maxTargetedPaths
			maxTargetedPaths = 2
			t.Cleanup(func() { maxTargetedPaths = old })
		}
		r := openRepo(t, dir)
		var warnings []string
		r.Warn = func(err error) { warnings = append(warnings, err.Error()) }
		src, err := r.CaptureSource(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		left := []string{".env.local", ".ssh/id_rsa", "config/.env", "credentials.json", "data.bin", "tls/server.key"}
		if got := slices.Sorted(slices.Values(src.Skipped)); !slices.Equal(got, left) {
			t.Errorf("skipped %q, want %q", got, left)
		}
		if len(warnings) != len(left) {
			t.Errorf("warnings:\n%s", strings.Join(warnings, "\n"))
		}
		for _, p := range left {
			if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, " "+p+":") }) {
				t.Errorf("no warning names %s", p)
			}
		}
		files := git(t, dir, "ls-tree", "-r", "--name-only", src.Snapshot)
		for _, p := range left {
			if p != "config/.env" && slices.Contains(strings.Fields(files), p) {
				t.Errorf("many=%v: %s in the snapshot", many, p)
			}
		}
		if got := git(t, dir, "show", src.Snapshot+":config/.env"); got != "A=committed" {
			t.Errorf("config/.env in the snapshot: %q", got)
		}
		if got := git(t, dir, "show", src.Snapshot+":notes.txt"); got != "a normal file" {
			t.Errorf("notes.txt: %q", got)
		}
		if got := git(t, dir, "show", src.Snapshot+":train.py"); got != "print(2)" {
			t.Errorf("train.py: %q", got)
		}
		// The user's index is as it was.
		if got := git(t, dir, "diff", "--cached", "--name-only"); got != "tls/server.key" {
			t.Errorf("index changed: %q", got)
		}
	}
}

// A large snapshot is announced, once, with its size.
func TestCaptureSourceTellsLargeSnapshot(t *testing.T) {
	dir := newRepoWithCommit(t)
	git(t, dir, "config", "runs.snapshotMaxFile", "-1")
	if err := os.WriteFile(filepath.Join(dir, "big.txt"), make([]byte, 3<<20), 0o666); err != nil {
		t.Fatal(err)
	}
	r := openRepo(t, dir)
	var warnings []string
	r.Warn = func(err error) { warnings = append(warnings, err.Error()) }
	if _, err := r.CaptureSource(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"snapshot of uncommitted files: 1 file, 3.0 MiB"}; !slices.Equal(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
}

func TestPrivateSetting(t *testing.T) {
	dir := newRepo(t)
	if openRepo(t, dir).Private() {
		t.Error("private without the setting")
	}
	git(t, dir, "config", "runs.private", "true")
	if !openRepo(t, dir).Private() {
		t.Error("runs.private = true is not private")
	}
}
