// Package importtest holds what the tests of the importers' sources
// (run/importer/mlflow, mlflowrest, wandb) share: a real git repository
// to import into, with git as referee.
package importtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run/tracker"
)

// Git runs git in dir with a fixed identity and no user or system
// configuration, and returns its output, trimmed; it fails t when git
// does.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@x", "GIT_COMMITTER_NAME=a",
		"GIT_COMMITTER_EMAIL=a@x", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Repo is a repository to import into.
type Repo struct {
	Dir     string
	Head    string // its one commit, the code runs can name
	Store   *gitstore.Repo
	Tracker *tracker.Tracker
}

// NewRepo makes a git repository with one commit, no automatic gc (so
// that git's own work never races a test's), and its tracker, closed
// when t ends.
func NewRepo(t testing.TB) Repo {
	t.Helper()
	dir := t.TempDir()
	Git(t, dir, "init", "-q", "-b", "main")
	Git(t, dir, "config", "gc.auto", "0")
	Git(t, dir, "commit", "-q", "--allow-empty", "-m", "code")
	s, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return Repo{Dir: dir, Head: Git(t, dir, "rev-parse", "HEAD"), Store: s, Tracker: tracker.New(s, tracker.Options{})}
}
