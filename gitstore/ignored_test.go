package gitstore

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// TestLinkIgnored links the ignored entries of a work tree into a
// worktree of its commit: the top-most ones, into the source's own
// directories where it has them, never over its files or through its
// symlinks; and a snapshot taken in the worktree leaves the links out.
func TestLinkIgnored(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t)
	outside := tempDir(t)
	writeFile(t, filepath.Join(repo, ".gitignore"), "data/\n*.bin\n.venv/\nshadow.cfg\nescape/\n__pycache__/\n")
	writeFile(t, filepath.Join(repo, "data", "README"), "tracked\n")
	writeFile(t, filepath.Join(repo, "shadow.cfg"), "tracked\n")
	writeFile(t, filepath.Join(repo, "src", "model.py"), "code\n")
	if err := os.Symlink(outside, filepath.Join(repo, "link")); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", ".gitignore", "src", "link")
	git(t, repo, "add", "-f", "data/README", "shadow.cfg")
	git(t, repo, "commit", "-q", "-m", "first")
	// What the work tree holds outside git, once the code moved on.
	git(t, repo, "rm", "-q", "--cached", "shadow.cfg")
	git(t, repo, "commit", "-q", "-m", "untrack shadow.cfg")
	writeFile(t, filepath.Join(repo, "shadow.cfg"), "ignored\n")
	writeFile(t, filepath.Join(repo, "data", "train.csv"), "x\n")
	writeFile(t, filepath.Join(repo, "data", "raw", "all.csv"), "x\n")
	writeFile(t, filepath.Join(repo, ".venv", "bin", "python"), "#!\n")
	writeFile(t, filepath.Join(repo, "src", "__pycache__", "model.pyc"), "pyc\n")
	writeFile(t, filepath.Join(repo, "src", "weights.bin"), "w\n")
	writeFile(t, filepath.Join(repo, "new", "deep", "x.bin"), "w\n")
	if err := os.Remove(filepath.Join(repo, "link")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "link", "inside.bin"), "w\n") // a directory now, where the old source has a symlink
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-q", "-m", "link is a directory")

	r := openRepo(t, repo)
	first := git(t, repo, "rev-parse", "HEAD~2")
	wt := filepath.Join(tempDir(t), "wt")
	remove, err := r.SourceWorktree(ctx, run.Source{Commit: first}, wt)
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	linked, err := r.LinkIgnored(ctx, wt)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".venv", "data/raw", "data/train.csv", "new", "src/weights.bin"}
	if !slices.Equal(linked, want) {
		t.Errorf("linked %q, want %q", linked, want)
	}
	for _, p := range want {
		target, err := os.Readlink(filepath.Join(wt, filepath.FromSlash(p)))
		if err != nil || target != filepath.Join(repo, filepath.FromSlash(p)) {
			t.Errorf("%s links to %q (%v)", p, target, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(wt, "shadow.cfg")); string(b) != "tracked\n" {
		t.Errorf("shadow.cfg holds %q: the ignored file shadowed the source's own", b)
	}
	if _, err := os.Lstat(filepath.Join(wt, "src", "__pycache__")); err == nil {
		t.Error("src/__pycache__ was linked")
	}
	if _, err := os.Lstat(filepath.Join(outside, "inside.bin")); err == nil {
		t.Error("a link was made through the source's symlink, outside the worktree")
	}

	w := openRepo(t, wt)
	tree, dirty, _, err := w.SnapshotWorkTree(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}
	if dirty {
		t.Errorf("the worktree is dirty with nothing but the links: %v", lsTree(t, repo, tree))
	}
	writeFile(t, filepath.Join(wt, "notes.txt"), "a change\n")
	tree, dirty, _, err = w.SnapshotWorkTree(ctx, -1)
	if err != nil || !dirty {
		t.Fatal(dirty, err)
	}
	files := lsTree(t, repo, tree)
	if _, ok := files["notes.txt"]; !ok {
		t.Error("the snapshot left out a real change")
	}
	for _, p := range want {
		if _, ok := files[p]; ok {
			t.Errorf("the snapshot holds the link %s", p)
		}
	}
	if out := git(t, repo, "status", "--porcelain"); out != "" {
		t.Errorf("the user's work tree is not clean:\n%s", out)
	}
	fsck(t, repo)
}
