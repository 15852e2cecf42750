package diff

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// testIdentity is passed to git directly, so that no user configuration
// is needed.
var testIdentity = []string{
	"GIT_AUTHOR_NAME=Tess Ter", "GIT_AUTHOR_EMAIL=tess@example.com",
	"GIT_COMMITTER_NAME=Tess Ter", "GIT_COMMITTER_EMAIL=tess@example.com",
}

// TestMain keeps the machine's repository, identity and git config out of
// the tests.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "diff-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
		"GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_PARAMETERS", "XDG_CONFIG_HOME",
	} {
		os.Unsetenv(k)
	}
	os.Setenv("HOME", home)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// git runs the real git in dir, failing the test if it fails, and returns
// its standard output.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return gitStdin(t, dir, "", args...)
}

// gitStdin is git with stdin as its standard input.
func gitStdin(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), testIdentity...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// gitstore.Repo is the Code the tests read; this fails to compile if it
// stops being one.
var _ Code = (*gitstore.Repo)(nil)

// newRepo makes an empty repository and opens it.
func newRepo(t testing.TB) (string, *gitstore.Repo) {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "config", "user.name", "Tess Ter")
	git(t, dir, "config", "user.email", "tess@example.com")
	repo, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	return dir, repo
}

// write writes files (path → content) below dir; nil content removes,
// before anything is written, so that a file can become a directory.
func write(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		if data == nil {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if data == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// commit stages everything and commits it, returning the commit's hash.
func commit(t testing.TB, dir, msg string) string {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
	return strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
}

// record records a run of the work tree as it is, with params, tags and
// metrics (key → last value at step 0), ended with status. The run is
// committed when it ends, so that its record is loaded from the commit.
func record(t testing.TB, repo *gitstore.Repo, o live.Options, metrics map[string]float64, status run.Status) *run.Record {
	t.Helper()
	ctx := context.Background()
	r, err := live.Recorder{Store: repo, Dir: repo.LiveDir()}.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range metrics {
		if err := r.LogMetric(k, v, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.End(status); err != nil {
		t.Fatal(err)
	}
	en, err := repo.Load(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	return en.Record
}

// numbered returns lines "<prefix> 1\n" … "<prefix> n\n".
func numbered(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}
