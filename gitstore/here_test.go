package gitstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// hereRepo makes a repository whose main has moved on from a run's
// source: model.py v1 committed, the run's snapshot with model.py v2
// and a new notes.txt, and main at model.py v3.
func hereRepo(t *testing.T) (repo string, src run.Source) {
	repo = newRepo(t)
	writeFile(t, filepath.Join(repo, "model.py"), "v1\n")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "first")
	writeFile(t, filepath.Join(repo, "model.py"), "v2\n")
	writeFile(t, filepath.Join(repo, "notes.txt"), "notes\n")
	r := openRepo(t, repo)
	src, err := r.CaptureSource(context.Background())
	if err != nil || !src.Dirty {
		t.Fatal(src, err)
	}
	os.Remove(filepath.Join(repo, "notes.txt"))
	writeFile(t, filepath.Join(repo, "model.py"), "v3\n")
	git(t, repo, "commit", "-q", "-am", "third")
	return repo, src
}

// TestLeaveSourceKeepsWhatTheCommandChanged: a file of the snapshot the
// command rewrote stays as the command left it, and is said to.
func TestLeaveSourceKeepsWhatTheCommandChanged(t *testing.T) {
	ctx := context.Background()
	repo, src := hereRepo(t)
	r := openRepo(t, repo)
	var warned []string
	r.Warn = func(err error) { warned = append(warned, err.Error()) }
	leave, err := r.EnterSource(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(repo, "model.py")); string(b) != "v2\n" {
		t.Fatalf("model.py = %q in the run's source", b)
	}
	writeFile(t, filepath.Join(repo, "notes.txt"), "written by the command\n")
	if err := leave(); err != nil {
		t.Fatal(err)
	}
	if got := git(t, repo, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Errorf("HEAD is %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(repo, "notes.txt")); string(b) != "written by the command\n" {
		t.Errorf("notes.txt = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(repo, "model.py")); string(b) != "v3\n" {
		t.Errorf("model.py = %q back on main", b)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "kept notes.txt") {
		t.Errorf("warned %q", warned)
	}
	fsck(t, repo)
}

// TestLeaveSourceRefusedByGit: when the command changed a tracked file
// that main has otherwise, git refuses to move and nothing is lost: the
// work tree stays at the run's source with the change, and leaving can
// be tried again once it is out of the way.
func TestLeaveSourceRefusedByGit(t *testing.T) {
	ctx := context.Background()
	repo, src := hereRepo(t)
	r := openRepo(t, repo)
	leave, err := r.EnterSource(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "model.py"), "tuned by the command\n")
	err = leave()
	if err == nil || !strings.Contains(err.Error(), "return to main: ") || !strings.Contains(err.Error(), "git runs rerun --restore again") {
		t.Fatalf("leave: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(repo, "model.py")); string(b) != "tuned by the command\n" {
		t.Errorf("model.py = %q", b)
	}
	if _, err := os.Stat(filepath.Join(r.GitDir, hereFile)); err != nil {
		t.Errorf("the record of where to return went: %v", err)
	}
	os.Rename(filepath.Join(repo, "model.py"), filepath.Join(t.TempDir(), "saved"))
	git(t, repo, "checkout", "-q", "--", "model.py")
	if err := r.LeaveSource(ctx); err != nil {
		t.Fatal(err)
	}
	if got := git(t, repo, "status", "--porcelain"); got != "" {
		t.Errorf("status after leaving:\n%s", got)
	}
	if err := r.LeaveSource(ctx); !errors.Is(err, ErrNothingHere) {
		t.Errorf("leaving twice: %v", err)
	}
}

// TestLeaveSourceRefusesABadRecord: the record of where to return is a
// file anyone can write; what would hand git an option is refused.
func TestLeaveSourceRefusesABadRecord(t *testing.T) {
	repo, src := hereRepo(t)
	r := openRepo(t, repo)
	for _, head := range []string{"refs/heads/-f", "--orphan=x", "main", ""} {
		body := "head " + head + "\ncommit " + src.Commit + "\n"
		if err := os.WriteFile(filepath.Join(r.GitDir, hereFile), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := r.LeaveSource(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid head") {
			t.Errorf("head %q: %v", head, err)
		}
	}
	if got := git(t, repo, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Errorf("HEAD is %s", got)
	}
}

// TestLeaveSourceHalfRestored: killed while the snapshot was being
// restored, the work tree holds some files at the commit's content;
// leaving takes them as they are, with nothing to say of them.
func TestLeaveSourceHalfRestored(t *testing.T) {
	ctx := context.Background()
	repo, src := hereRepo(t)
	r := openRepo(t, repo)
	var warned []string
	r.Warn = func(err error) { warned = append(warned, err.Error()) }
	if _, err := r.EnterSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	// As if the snapshot had reached notes.txt but not model.py.
	git(t, repo, "checkout", "-q", "--", "model.py")
	if err := r.LeaveSource(ctx); err != nil {
		t.Fatal(err)
	}
	if len(warned) != 0 {
		t.Errorf("warned %q", warned)
	}
	if got := git(t, repo, "status", "--porcelain"); got != "" {
		t.Errorf("status after leaving:\n%s", got)
	}
	if got := git(t, repo, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Errorf("HEAD is %s", got)
	}
}
