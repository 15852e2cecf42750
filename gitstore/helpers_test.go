package gitstore

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// testIdentity is the author and committer of the commits tests make with
// the git command; it is passed to git directly so that the process
// environment stays free for Identity's tests.
var testIdentity = []string{
	"GIT_AUTHOR_NAME=Tess Ter", "GIT_AUTHOR_EMAIL=tess@example.com",
	"GIT_COMMITTER_NAME=Tess Ter", "GIT_COMMITTER_EMAIL=tess@example.com",
}

// TestMain makes the tests hermetic: no repository, identity or config
// from the machine's user may leak in.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "gitstore-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
		"GIT_CEILING_DIRECTORIES", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_PARAMETERS",
		"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
		"XDG_CONFIG_HOME", "EMAIL",
	} {
		os.Unsetenv(k)
	}
	if os.Getenv(stressEnv) == "" {
		// Helper processes of the stress test keep their parent's HOME.
		os.Setenv("HOME", home)
	}
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	if os.Getenv("GITRUNS_TEST_CATFILE") != "" {
		catFileMinIdx = 0 // every read through git cat-file, as in big repositories
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// git runs the real git in dir and fails the test if it fails. It returns
// standard output with surrounding white space removed.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return gitEnvIn(t, dir, nil, args...)
}

// gitEnvIn is git with extra environment variables.
func gitEnvIn(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := gitOutput(dir, env, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func gitOutput(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), testIdentity...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// tempDir is t.TempDir with symbolic links resolved, so that paths compare
// equal to the ones Open reports.
func tempDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// newRepo creates a repository with a work tree and no commits.
func newRepo(t testing.TB) string {
	t.Helper()
	dir := tempDir(t)
	git(t, dir, "init", "-q", "-b", "main")
	return dir
}

// newRepoWithCommit creates a repository whose main branch has one commit
// holding README.
func newRepoWithCommit(t testing.TB) string {
	t.Helper()
	dir := newRepo(t)
	writeFile(t, filepath.Join(dir, "README"), "hello\n")
	git(t, dir, "add", "README")
	git(t, dir, "commit", "-q", "-m", "first")
	return dir
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
}

// openRepo opens dir and closes the Repo when the test ends.
func openRepo(t testing.TB, dir string) *Repo {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// fsck runs git fsck --full and fails the test on any complaint.
func fsck(t testing.TB, dir string) {
	t.Helper()
	out, err := gitOutput(dir, nil, "fsck", "--full", "--strict", "--no-dangling")
	if err != nil {
		t.Fatalf("git fsck: %v", err)
	}
	if out != "" {
		t.Fatalf("git fsck: %s", out)
	}
}

var testSig = object.Signature{
	Name:  "Run Ner",
	Email: "runner@example.com",
	When:  time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("", 3600)),
}

// writeRun writes the objects of one run (a blob in a tree in a commit)
// and returns the commit.
func writeRun(t testing.TB, r *Repo, content string) plumbing.Hash {
	t.Helper()
	c, err := writeRunErr(r, content)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeRunErr(r *Repo, content string) (plumbing.Hash, error) {
	b, err := r.WriteBlob([]byte(content))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tr, err := r.WriteTree([]TreeEntry{{Name: "run.toml", Mode: filemode.Regular, Hash: b}})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return r.WriteCommit(CommitSpec{Tree: tr, Author: testSig, Committer: testSig, Message: "run\n"})
}

// forEachRef returns git's view of the refs under prefix.
func forEachRef(t testing.TB, dir, prefix string) map[string]string {
	t.Helper()
	out := git(t, dir, "for-each-ref", "--format=%(refname) %(objectname)", prefix)
	m := make(map[string]string)
	for _, line := range strings.Split(out, "\n") {
		if name, hash, ok := strings.Cut(line, " "); ok {
			m[name] = hash
		}
	}
	return m
}
