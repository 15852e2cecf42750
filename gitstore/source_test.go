package gitstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

func TestCheckGit(t *testing.T) {
	if err := CheckGit(); err != nil {
		t.Fatal(err)
	}
}

func TestHead(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	h, branch, err := r.headCommit()
	if err != nil || !h.IsZero() || branch != "main" {
		t.Errorf("unborn Head = %s %q %v", h, branch, err)
	}

	writeFile(t, filepath.Join(dir, "f"), "x")
	git(t, dir, "add", "f")
	git(t, dir, "commit", "-q", "-m", "one")
	git(t, dir, "checkout", "-q", "-b", "feature/x")
	h, branch, err = r.headCommit()
	if err != nil || h.String() != git(t, dir, "rev-parse", "HEAD") || branch != "feature/x" {
		t.Errorf("Head = %s %q %v", h, branch, err)
	}

	git(t, dir, "pack-refs", "--all", "--prune")
	if h2, _, err := r.headCommit(); err != nil || h2 != h {
		t.Errorf("Head with a packed branch = %s %v", h2, err)
	}

	git(t, dir, "checkout", "-q", "--detach")
	h, branch, err = r.headCommit()
	if err != nil || h.String() != git(t, dir, "rev-parse", "HEAD") || branch != "" {
		t.Errorf("detached Head = %s %q %v", h, branch, err)
	}
}

// lsTree returns path -> "mode hash" for every file in a tree, as git sees
// it.
func lsTree(t testing.TB, dir string, tree plumbing.Hash) map[string]string {
	t.Helper()
	m := map[string]string{}
	out := git(t, dir, "ls-tree", "-r", "-z", "--full-tree", tree.String())
	for _, rec := range strings.Split(out, "\x00") {
		if meta, path, ok := strings.Cut(rec, "\t"); ok {
			f := strings.Fields(meta)
			m[path] = f[0] + " " + f[2]
		}
	}
	return m
}

func hashOf(t testing.TB, dir, content string) string {
	return gitWithStdin(t, dir, content, "hash-object", "--stdin")
}

func TestSnapshotNoCommits(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	tree, dirty, skipped, err := r.SnapshotWorkTree(context.Background(), -1)
	if err != nil || !tree.IsZero() || dirty || skipped != nil {
		t.Errorf("empty repository: %s %v %v %v", tree, dirty, skipped, err)
	}

	writeFile(t, filepath.Join(dir, "new.txt"), "new\n")
	tree, dirty, skipped, err = r.SnapshotWorkTree(context.Background(), -1)
	if err != nil || !dirty || skipped != nil {
		t.Fatalf("with an untracked file: %s %v %v %v", tree, dirty, skipped, err)
	}
	want := map[string]string{"new.txt": "100644 " + hashOf(t, dir, "new\n")}
	if got := lsTree(t, dir, tree); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tree = %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "index")); !os.IsNotExist(err) {
		t.Error("snapshot created the user's index")
	}
}

func TestSnapshotClean(t *testing.T) {
	dir := newRepoWithCommit(t)
	writeFile(t, filepath.Join(dir, ".gitignore"), "*.log\n")
	git(t, dir, "add", ".gitignore")
	git(t, dir, "commit", "-q", "-m", "ignore")
	writeFile(t, filepath.Join(dir, "debug.log"), "ignored\n")
	r := openRepo(t, dir)
	tree, dirty, skipped, err := r.SnapshotWorkTree(context.Background(), 1<<20)
	if err != nil || dirty || skipped != nil {
		t.Fatalf("clean: %v %v %v", dirty, skipped, err)
	}
	if want := git(t, dir, "rev-parse", "HEAD^{tree}"); tree.String() != want {
		t.Errorf("tree %s, want HEAD's %s", tree, want)
	}
}

func TestSnapshotDirty(t *testing.T) {
	dir := newRepoWithCommit(t)
	writeFile(t, filepath.Join(dir, ".gitignore"), "*.log\n")
	writeFile(t, filepath.Join(dir, "src", "a.go"), "package a\n")
	writeFile(t, filepath.Join(dir, "gone.txt"), "bye\n")
	writeFile(t, filepath.Join(dir, "staged.txt"), "v1\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "more")
	if err := os.Chmod(filepath.Join(dir, "src", "a.go"), 0o755); err != nil {
		t.Fatal(err)
	}

	writeFile(t, filepath.Join(dir, "README"), "changed\n")           // modified, unstaged
	writeFile(t, filepath.Join(dir, "staged.txt"), "v2\n")            // staged...
	git(t, dir, "add", "staged.txt")                                  //
	writeFile(t, filepath.Join(dir, "staged.txt"), "v3\n")            // ...then changed again
	os.Remove(filepath.Join(dir, "gone.txt"))                         // deleted
	writeFile(t, filepath.Join(dir, "new dir", "untracked.txt"), "u") // untracked, with a space
	writeFile(t, filepath.Join(dir, "debug.log"), "ignored\n")        // ignored
	writeFile(t, filepath.Join(dir, "data", "big.bin"), strings.Repeat("x", 2000))
	if err := os.Symlink("README", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	index := filepath.Join(dir, ".git", "index")
	before, _ := os.ReadFile(index)
	beforeInfo, _ := os.Stat(index)

	r := openRepo(t, filepath.Join(dir, "src")) // from a subdirectory
	tree, dirty, skipped, err := r.SnapshotWorkTree(context.Background(), 1000)
	if err != nil || !dirty {
		t.Fatalf("dirty snapshot: %v %v", dirty, err)
	}
	if fmt.Sprint(skipped) != "[data/big.bin]" {
		t.Errorf("skipped = %v", skipped)
	}
	got := lsTree(t, dir, tree)
	want := map[string]string{
		".gitignore":            "100644 " + hashOf(t, dir, "*.log\n"),
		"README":                "100644 " + hashOf(t, dir, "changed\n"),
		"link":                  "120000 " + hashOf(t, dir, "README"),
		"new dir/untracked.txt": "100644 " + hashOf(t, dir, "u"),
		"src/a.go":              "100755 " + hashOf(t, dir, "package a\n"),
		"staged.txt":            "100644 " + hashOf(t, dir, "v3\n"),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tree =\n%v\nwant\n%v", got, want)
	}

	after, _ := os.ReadFile(index)
	afterInfo, _ := os.Stat(index)
	if !bytes.Equal(before, after) || !beforeInfo.ModTime().Equal(afterInfo.ModTime()) {
		t.Error("the user's index changed")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".git", "runs-index-*")); len(left) > 0 {
		t.Errorf("temporary index left: %v", left)
	}
	// Nothing staged by the user moved: staged.txt is still v2 in the index.
	if got := git(t, dir, "rev-parse", ":staged.txt"); got != hashOf(t, dir, "v2\n") {
		t.Errorf("user's staged content changed")
	}
	fsck(t, dir)

	// Only a skipped file differs: HEAD's tree, but dirty.
	git(t, dir, "add", "-A", ".", ":!data")
	git(t, dir, "commit", "-q", "-m", "all but data")
	tree, dirty, skipped, err = r.SnapshotWorkTree(context.Background(), 1000)
	if err != nil || !dirty || fmt.Sprint(skipped) != "[data/big.bin]" || tree.String() != git(t, dir, "rev-parse", "HEAD^{tree}") {
		t.Errorf("only a skipped file: %s %v %v %v", tree, dirty, skipped, err)
	}
}

func TestSnapshotManySkipped(t *testing.T) {
	dir := newRepoWithCommit(t)
	var wantSkipped []string
	for i := range 300 {
		p := fmt.Sprintf("big/%03d :*?[x].bin", i) // pathspec magic characters must be literal
		writeFile(t, filepath.Join(dir, p), "0123456789")
		wantSkipped = append(wantSkipped, p)
	}
	writeFile(t, filepath.Join(dir, "big", "small"), "1")
	r := openRepo(t, dir)
	tree, dirty, skipped, err := r.SnapshotWorkTree(context.Background(), 5)
	if err != nil || !dirty {
		t.Fatal(dirty, err)
	}
	slices.Sort(skipped)
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped %d files, want %d", len(skipped), len(wantSkipped))
	}
	got := lsTree(t, dir, tree)
	if len(got) != 2 || got["big/small"] == "" {
		t.Errorf("tree = %v", got)
	}
}

func TestSnapshotSubmodule(t *testing.T) {
	sub := newRepoWithCommit(t)
	dir := newRepoWithCommit(t)
	gitEnvIn(t, dir, nil, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "lib")
	git(t, dir, "commit", "-q", "-m", "add submodule")
	r := openRepo(t, dir)
	if _, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1); err != nil || dirty {
		t.Fatalf("clean with a submodule: %v %v", dirty, err)
	}
	// Uncommitted edits inside the submodule cannot be recorded by a
	// gitlink and do not make the superproject dirty.
	writeFile(t, filepath.Join(dir, "lib", "README"), "edited\n")
	if _, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1); err != nil || dirty {
		t.Errorf("edits inside a submodule: %v %v", dirty, err)
	}
	// A new commit checked out in the submodule is recorded.
	git(t, filepath.Join(dir, "lib"), "commit", "-q", "-am", "sub change")
	newSub := git(t, filepath.Join(dir, "lib"), "rev-parse", "HEAD")
	tree, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1)
	if err != nil || !dirty {
		t.Fatalf("new submodule commit: %v %v", dirty, err)
	}
	if got := lsTree(t, dir, tree)["lib"]; got != "160000 "+newSub {
		t.Errorf("gitlink = %q, want %s", got, newSub)
	}
}

func TestSnapshotBare(t *testing.T) {
	src := newRepoWithCommit(t)
	bare := filepath.Join(tempDir(t), "b.git")
	git(t, src, "clone", "-q", "--bare", src, bare)
	r := openRepo(t, bare)
	tree, dirty, skipped, err := r.SnapshotWorkTree(context.Background(), -1)
	if err != nil || dirty || skipped != nil || tree.String() != git(t, src, "rev-parse", "HEAD^{tree}") {
		t.Errorf("bare: %s %v %v %v", tree, dirty, skipped, err)
	}
}

func TestSnapshotLinkedWorktree(t *testing.T) {
	repo := newRepoWithCommit(t)
	wt := filepath.Join(tempDir(t), "wt")
	git(t, repo, "worktree", "add", "-q", "-b", "side", wt)
	writeFile(t, filepath.Join(wt, "README"), "in worktree\n")
	writeFile(t, filepath.Join(repo, "README"), "in main\n")
	r := openRepo(t, wt)
	tree, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1)
	if err != nil || !dirty {
		t.Fatal(dirty, err)
	}
	if got := lsTree(t, repo, tree)["README"]; got != "100644 "+hashOf(t, repo, "in worktree\n") {
		t.Errorf("README = %s: snapshot did not come from the linked worktree", got)
	}
}

// TestIdentity checks that commits are authored as git would author
// them, whatever resolves the identity: config files, include and
// includeIf, the environment, or git's own defaults.
func TestIdentity(t *testing.T) {
	home := os.Getenv("HOME")
	xdg := filepath.Join(home, "xdg")
	writeFile(t, filepath.Join(xdg, "git", "config"), "[user]\n\tname = Xdg Name\n\temail = xdg@example.com\n")
	t.Setenv("XDG_CONFIG_HOME", xdg)
	t.Setenv("USER", "login")
	dir := newRepo(t)

	check := func(what, want string) {
		t.Helper()
		r := openRepo(t, dir)
		n, e := r.Identity()
		got := n + " <" + e + ">"
		out, err := runGit(context.Background(), dir, os.Environ(), nil, "var", "GIT_AUTHOR_IDENT")
		if err != nil || !strings.HasPrefix(string(out), got+" ") {
			t.Errorf("%s: Identity %q, git says %q (%v)", what, got, out, err)
		}
		if got != want {
			t.Errorf("%s: Identity %q, want %q", what, got, want)
		}
	}
	check("from XDG config", "Xdg Name <xdg@example.com>")
	global := filepath.Join(home, ".gitconfig")
	writeFile(t, global, "[user]\n\tname = Global Name\n")
	defer os.Remove(global)
	check("from global config", "Global Name <xdg@example.com>")
	// Identities set in included files, as people keep them per
	// employer or per directory.
	writeFile(t, filepath.Join(home, "work.inc"), "[user]\n\temail = work@example.com\n")
	writeFile(t, global, "[user]\n\tname = Global Name\n[include]\n\tpath = work.inc\n")
	check("from an included file", "Global Name <work@example.com>")
	writeFile(t, filepath.Join(home, "oss.inc"), "[user]\n\tname = Open Source\n")
	writeFile(t, global, "[user]\n\tname = Global Name\n[includeIf \"gitdir:"+dir+"/\"]\n\tpath = oss.inc\n")
	check("from includeIf gitdir", "Open Source <xdg@example.com>")
	git(t, dir, "config", "user.email", "repo@example.com")
	check("from repository config", "Open Source <repo@example.com>")
	t.Setenv("GIT_AUTHOR_NAME", "Env Name")
	check("from the environment", "Env Name <repo@example.com>")

	os.Unsetenv("GIT_AUTHOR_NAME")
	os.Remove(global)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "none"))
	// Without any, git refuses to commit ("Author identity unknown"):
	// runs are still recorded, as the login at this host.
	r := openRepo(t, newRepo(t))
	host, _ := os.Hostname()
	if _, e := r.Identity(); e != "login@"+host {
		t.Errorf("without an identity: email %q, want login@%s", e, host)
	}
}

func TestMaybeGC(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	if r.needGC(1) {
		t.Fatal("a fresh repository needs gc")
	}
	// With gc.auto=1, two loose objects in objects/17 are over the limit.
	git(t, dir, "config", "gc.auto", "1")
	var entries []TreeEntry
	for i := 0; len(entries) < 2; i++ {
		data := fmt.Sprintf("blob %d", i)
		if plumbing.ComputeHash(plumbing.BlobObject, []byte(data)).String()[:2] != "17" {
			continue
		}
		h, err := r.WriteBlob([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, TreeEntry{Name: data, Mode: filemode.Regular, Hash: h})
	}
	tree, _ := r.WriteTree(entries)
	c, _ := r.WriteCommit(CommitSpec{Tree: tree, Author: testSig, Committer: testSig, Message: "m"})
	if err := r.UpdateRef("refs/runs/gc", c, zero); err != nil {
		t.Fatal(err)
	}

	r = openRepo(t, dir) // config is read once per Repo
	if !r.needGC(1) {
		t.Fatal("needGC false over the limit")
	}
	// A process still writing runs leaves gc for later until the loose
	// objects reach sweepSlack times the limit.
	if r.needGC(sweepSlack) {
		t.Fatal("needGC during a sweep just over git's limit")
	}
	r.maybeGC(1) // as Close does: starts git gc in the background and returns
	deadline := time.Now().Add(20 * time.Second)
	for r.needGC(1) {
		if time.Now().After(deadline) {
			t.Fatal("background gc did not pack the loose objects")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Wait for gc to let go of its lock before the directory is removed.
	for {
		if _, err := os.Stat(filepath.Join(dir, ".git", "gc.pid")); os.IsNotExist(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fsck(t, dir)

	git(t, dir, "config", "gc.auto", "0")
	if r := openRepo(t, dir); r.needGC(1) {
		t.Error("gc.auto=0 does not disable gc")
	}
}

// benchRepo10k makes a repository with 10,000 committed files in 100
// directories.
func benchRepo10k(b *testing.B) string {
	dir := newRepo(b)
	for d := range 100 {
		for f := range 100 {
			writeFile(b, filepath.Join(dir, fmt.Sprintf("d%02d", d), fmt.Sprintf("f%02d.txt", f)), fmt.Sprintf("file %d %d\n", d, f))
		}
	}
	git(b, dir, "add", ".")
	git(b, dir, "commit", "-q", "-m", "10k files")
	git(b, dir, "status", "--porcelain") // refresh the index's stat data
	return dir
}

func BenchmarkSnapshot10k(b *testing.B) {
	dir := benchRepo10k(b)
	r := openRepo(b, dir)
	b.Run("clean", func(b *testing.B) {
		for b.Loop() {
			if _, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1); err != nil || dirty {
				b.Fatal(dirty, err)
			}
		}
	})
	writeFile(b, filepath.Join(dir, "d00", "f00.txt"), "changed\n")
	writeFile(b, filepath.Join(dir, "untracked.txt"), "new\n")
	b.Run("dirty", func(b *testing.B) {
		for b.Loop() {
			if _, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1); err != nil || !dirty {
				b.Fatal(dirty, err)
			}
		}
	})
}

// A snapshot stages few changed paths one by one, and many by staging the
// whole work tree: both must give the same tree, whatever the change,
// including a file that became a directory and back, an unmerged path
// and a nested repository.
func TestSnapshotTargetedMatchesWhole(t *testing.T) {
	dir := newRepoWithCommit(t)
	writeFile(t, filepath.Join(dir, "becomes-dir"), "file\n")
	writeFile(t, filepath.Join(dir, "was-dir", "inner.txt"), "inner\n")
	writeFile(t, filepath.Join(dir, "conflict.txt"), "base\n")
	writeFile(t, filepath.Join(dir, "mode.sh"), "echo\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	// An unmerged path: two branches changed it differently.
	git(t, dir, "checkout", "-q", "-b", "other")
	writeFile(t, filepath.Join(dir, "conflict.txt"), "other\n")
	git(t, dir, "commit", "-q", "-am", "other")
	git(t, dir, "checkout", "-q", "-")
	writeFile(t, filepath.Join(dir, "conflict.txt"), "mine\n")
	git(t, dir, "commit", "-q", "-am", "mine")
	if _, err := gitOutput(dir, nil, "merge", "-q", "other"); err == nil {
		t.Fatal("the merge did not conflict")
	}
	os.Remove(filepath.Join(dir, "becomes-dir"))
	writeFile(t, filepath.Join(dir, "becomes-dir", "now.txt"), "now\n")
	os.RemoveAll(filepath.Join(dir, "was-dir"))
	writeFile(t, filepath.Join(dir, "was-dir"), "a file now\n")
	os.Chmod(filepath.Join(dir, "mode.sh"), 0o755)
	writeFile(t, filepath.Join(dir, "fresh", "a b.txt"), "spaced\n")

	r := openRepo(t, dir)
	compare := func(stage string) {
		t.Helper()
		defer func(n int) { maxTargetedPaths = n }(maxTargetedPaths)
		targeted, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1)
		if err != nil || !dirty {
			t.Fatalf("%s, targeted: %v %v", stage, dirty, err)
		}
		maxTargetedPaths = 0
		whole, dirty, _, err := r.SnapshotWorkTree(context.Background(), -1)
		if err != nil || !dirty {
			t.Fatalf("%s, whole: %v %v", stage, dirty, err)
		}
		got, want := lsTree(t, dir, targeted), lsTree(t, dir, whole)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s, staged one by one:\n%v\nstaged whole:\n%v", stage, got, want)
		}
		for _, p := range []string{"becomes-dir/now.txt", "was-dir", "conflict.txt", "fresh/a b.txt"} {
			if got[p] == "" {
				t.Errorf("%s: %s missing from the snapshot: %v", stage, p, got)
			}
		}
		if !strings.HasPrefix(got["mode.sh"], "100755 ") {
			t.Errorf("%s: mode.sh is %q", stage, got["mode.sh"])
		}
	}
	compare("paths changed")

	// A nested repository, which status shows as a directory, is staged
	// with the rest as a gitlink.
	nested := filepath.Join(dir, "nested")
	git(t, dir, "init", "-q", nested)
	writeFile(t, filepath.Join(nested, "x"), "x\n")
	git(t, nested, "add", "x")
	git(t, nested, "commit", "-q", "-m", "x")
	compare("with a nested repository")
	tree, _, _, err := r.SnapshotWorkTree(context.Background(), -1)
	if err != nil || !strings.HasPrefix(lsTree(t, dir, tree)["nested"], "160000 ") {
		t.Errorf("nested repository not a gitlink: %v", err)
	}
	fsck(t, dir)
}
