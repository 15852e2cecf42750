package gitstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenFromSubdirectory(t *testing.T) {
	dir := newRepo(t)
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	r := openRepo(t, sub)
	gitDir := filepath.Join(dir, ".git")
	if r.WorkTree != dir || r.GitDir != gitDir || r.CommonDir != gitDir {
		t.Errorf("got WorkTree=%q GitDir=%q CommonDir=%q, want %q %q %q", r.WorkTree, r.GitDir, r.CommonDir, dir, gitDir, gitDir)
	}
	if want := filepath.Join(gitDir, "runs"); r.privateDir() != want {
		t.Errorf("PrivateDir = %q, want %q", r.privateDir(), want)
	}
}

func TestOpenNotARepository(t *testing.T) {
	dir := tempDir(t)
	_, err := Open(dir)
	want := "not a git repository (or any parent up to /): " + dir
	if err == nil || err.Error() != want {
		t.Errorf("Open error = %v, want %q", err, want)
	}

	sub := filepath.Join(dir, "x", "y")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	// A repository above the ceiling must not be found.
	git(t, dir, "init", "-q")
	t.Setenv("GIT_CEILING_DIRECTORIES", dir)
	_, err = Open(sub)
	want = "not a git repository (or any parent up to " + filepath.Join(dir, "x") + "): " + sub
	if err == nil || err.Error() != want {
		t.Errorf("Open error = %v, want %q", err, want)
	}
	if _, err := Open(dir); err != nil {
		t.Errorf("the ceiling itself should still be searched: %v", err)
	}
}

func TestOpenBare(t *testing.T) {
	dir := filepath.Join(tempDir(t), "bare.git")
	git(t, filepath.Dir(dir), "init", "-q", "--bare", dir)
	for _, from := range []string{dir, filepath.Join(dir, "refs", "heads")} {
		r := openRepo(t, from)
		if r.WorkTree != "" || r.GitDir != dir || r.CommonDir != dir {
			t.Errorf("Open(%s): WorkTree=%q GitDir=%q CommonDir=%q", from, r.WorkTree, r.GitDir, r.CommonDir)
		}
	}
}

func TestOpenInsideGitDirHasNoWorkTree(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, filepath.Join(dir, ".git", "refs"))
	if r.WorkTree != "" || r.GitDir != filepath.Join(dir, ".git") {
		t.Errorf("WorkTree=%q GitDir=%q", r.WorkTree, r.GitDir)
	}
}

func TestOpenGitDirEnv(t *testing.T) {
	repo := newRepo(t)
	elsewhere := tempDir(t)
	t.Setenv("GIT_DIR", filepath.Join(repo, ".git"))
	r := openRepo(t, elsewhere)
	if r.GitDir != filepath.Join(repo, ".git") {
		t.Errorf("GitDir = %q", r.GitDir)
	}
	// Without GIT_WORK_TREE, git takes its current directory as the top of
	// the work tree; dir plays that part.
	if r.WorkTree != elsewhere {
		t.Errorf("WorkTree = %q, want %q", r.WorkTree, elsewhere)
	}

	t.Setenv("GIT_WORK_TREE", repo)
	r = openRepo(t, elsewhere)
	if r.WorkTree != repo {
		t.Errorf("WorkTree with GIT_WORK_TREE = %q, want %q", r.WorkTree, repo)
	}

	t.Setenv("GIT_DIR", elsewhere)
	if _, err := Open(repo); err == nil || !strings.HasPrefix(err.Error(), "not a git repository: ") {
		t.Errorf("GIT_DIR at a non-repository: %v", err)
	}
}

func TestOpenLinkedWorktree(t *testing.T) {
	repo := newRepoWithCommit(t)
	wt := filepath.Join(tempDir(t), "wt")
	git(t, repo, "worktree", "add", "-q", "-b", "feature", wt)
	sub := filepath.Join(wt, "sub")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}

	r := openRepo(t, sub)
	if r.WorkTree != wt {
		t.Errorf("WorkTree = %q, want %q", r.WorkTree, wt)
	}
	if want := filepath.Join(repo, ".git", "worktrees", "wt"); r.GitDir != want {
		t.Errorf("GitDir = %q, want %q", r.GitDir, want)
	}
	if want := filepath.Join(repo, ".git"); r.CommonDir != want {
		t.Errorf("CommonDir = %q, want %q", r.CommonDir, want)
	}

	head, branch, err := r.headCommit()
	if err != nil || branch != "feature" || head.String() != git(t, repo, "rev-parse", "main") {
		t.Errorf("Head = %s %q %v", head, branch, err)
	}

	c := writeRun(t, r, "x")
	if err := r.UpdateRef("refs/runs/wt1", c, zero); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, ".git", "refs", "runs", "wt1")); err != nil {
		t.Errorf("ref not in the common dir: %v", err)
	}
	if got := forEachRef(t, repo, "refs/runs/"); got["refs/runs/wt1"] != c.String() {
		t.Errorf("git for-each-ref in the main worktree: %v", got)
	}
}

func TestOpenSHA256Rejected(t *testing.T) {
	dir := tempDir(t)
	git(t, dir, "init", "-q", "--object-format=sha256")
	_, err := Open(dir)
	want := "repository uses extensions.objectformat = sha256, which git-runs cannot read yet"
	if err == nil || err.Error() != want {
		t.Errorf("Open error = %v, want %q", err, want)
	}
}

func TestOpenExtensions(t *testing.T) {
	tests := []struct {
		config  []string // key value pairs for git config
		wantErr string
	}{
		{[]string{"core.repositoryformatversion", "1", "extensions.worktreeConfig", "true"}, ""},
		{[]string{"core.repositoryformatversion", "1", "extensions.preciousObjects", "true", "extensions.partialClone", "origin", "extensions.noop", "x"}, ""},
		{[]string{"core.repositoryformatversion", "1", "extensions.objectFormat", "sha1"}, ""},
		{[]string{"core.repositoryformatversion", "0", "extensions.somethingNew", "x"}, ""},
		{[]string{"core.repositoryformatversion", "1", "extensions.somethingNew", "x"}, "repository uses extensions.somethingnew = x, which git-runs cannot read yet"},
		{[]string{"core.repositoryformatversion", "1", "extensions.refStorage", "reftable"}, "repository uses extensions.refstorage = reftable, which git-runs cannot read yet"},
		{[]string{"core.repositoryformatversion", "2"}, "repository format version 2 is newer than git-runs can read"},
	}
	for _, tt := range tests {
		dir := newRepo(t)
		for i := 0; i < len(tt.config); i += 2 {
			git(t, dir, "config", tt.config[i], tt.config[i+1])
		}
		r, err := Open(dir)
		if err != nil {
			if err.Error() != tt.wantErr {
				t.Errorf("%v: error %q, want %q", tt.config, err, tt.wantErr)
			}
			continue
		}
		r.Close()
		if tt.wantErr != "" {
			t.Errorf("%v: no error, want %q", tt.config, tt.wantErr)
		}
	}
}

func TestOpenWorktreeConfig(t *testing.T) {
	dir := newRepo(t)
	git(t, dir, "config", "core.repositoryformatversion", "1")
	git(t, dir, "config", "extensions.worktreeConfig", "true")
	git(t, dir, "config", "user.name", "Shared")
	git(t, dir, "config", "--worktree", "user.name", "Per Worktree")
	r := openRepo(t, dir)
	if name, _ := r.Identity(); name != "Per Worktree" {
		t.Errorf("Identity name = %q, want the per-worktree value", name)
	}
}

func TestOpenSharedClone(t *testing.T) {
	origin := newRepoWithCommit(t)
	clone := filepath.Join(tempDir(t), "clone")
	git(t, origin, "clone", "-q", "--shared", origin, clone)
	r := openRepo(t, clone)
	head, _, err := r.headCommit()
	if err != nil {
		t.Fatal(err)
	}
	// The commit lives only in origin, reached through objects/info/alternates.
	b, err := r.ReadPath(head, "README")
	if err != nil || string(b) != "hello\n" {
		t.Errorf("ReadPath through alternates = %q, %v", b, err)
	}
}
