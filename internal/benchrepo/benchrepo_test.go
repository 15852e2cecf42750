package benchrepo

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// gitRuns builds the real binary once per test binary.
func gitRuns(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "git-runs")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gitruns/gitruns/cmd/git-runs").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func run1(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(), "NO_COLOR=1")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if e, ok := err.(*exec.ExitError); ok {
			stderr = string(e.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// listed is what git runs ls --json prints of a run.
type listed struct {
	ID     string
	Name   string
	Params map[string]any
}

func list(t *testing.T, bin, dir string, args ...string) []listed {
	t.Helper()
	var got []listed
	out := run1(t, dir, bin, append([]string{"ls", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("ls --json: %v\n%.500s", err, out)
	}
	return got
}

// TestGenerate generates a small repository and checks it with git and
// with git-runs itself: every run listed once, with the id and params
// Record gives it, the query a benchmark times matching the runs Record
// says it should, and AddRuns adding newer runs the same way.
func TestGenerate(t *testing.T) {
	const n = 700
	defer func(c int) { chunk = c }(chunk)
	chunk = 300 // three fast-imports
	bin := gitRuns(t)
	dir := filepath.Join(t.TempDir(), "repo")
	if err := Generate(dir, n, Options{}); err != nil {
		t.Fatal(err)
	}
	run1(t, dir, "git", "fsck", "--full", "--strict")
	if loose := run1(t, dir, "git", "count-objects"); !strings.HasPrefix(loose, "0 objects") {
		t.Errorf("loose objects left: %s", loose)
	}
	if packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack")); len(packs) != 1 {
		t.Errorf("%d packs, want 1", len(packs))
	}
	if loose, _ := filepath.Glob(filepath.Join(dir, ".git", "refs", "runs", "*")); len(loose) != 0 {
		t.Errorf("%d loose run refs, want none", len(loose))
	}
	if refs := run1(t, dir, "git", "for-each-ref", "--format=%(refname)"); strings.Contains(refs, importBranch) {
		t.Errorf("fast-import's branch left behind:\n%s", refs)
	}
	head := strings.TrimSpace(run1(t, dir, "git", "rev-parse", "HEAD"))
	checkRuns(t, list(t, bin, dir), 0, n, head)

	where := "metrics.acc > 0.5 and params.lr < 0.01"
	var want []string
	for i := 0; i < n; i++ {
		if rec, _ := Record(i, head); rec.Metrics["acc"].Last > 0.5 && rec.Params["lr"].(float64) < 0.01 {
			want = append(want, rec.ID)
		}
	}
	if len(want) == 0 || len(want) > n/50 {
		t.Errorf("%d of %d runs match %q: want some, under 2%%", len(want), n, where)
	}
	var got []string
	for _, r := range list(t, bin, dir, "--where", where) {
		got = append(got, r.ID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ls --where %q: %v, want %v", where, got, want)
	}

	if err := AddRuns(dir, 30); err != nil {
		t.Fatal(err)
	}
	run1(t, dir, "git", "fsck", "--full", "--strict")
	checkRuns(t, list(t, bin, dir), 0, n+30, head)
}

// checkRuns checks that runs are runs from to to-1 of Record, newest first.
func checkRuns(t *testing.T, runs []listed, from, to int, head string) {
	t.Helper()
	if len(runs) != to-from {
		t.Fatalf("ls --json lists %d runs, want %d", len(runs), to-from)
	}
	for k, r := range runs {
		i := to - 1 - k
		rec, _ := Record(i, head)
		if r.ID != rec.ID || r.Name != rec.Name || !run.ValidID(r.ID) || !run.IDTime(r.ID).Equal(rec.Started) {
			t.Fatalf("run %d listed as %s %s, want %s %s at %v", i, r.ID, r.Name, rec.ID, rec.Name, rec.Started)
		}
		want := map[string]any{}
		for k, v := range rec.Params {
			if n, ok := v.(int64); ok {
				v = float64(n) // as JSON reads back
			}
			want[k] = v
		}
		if !reflect.DeepEqual(r.Params, want) {
			t.Fatalf("run %d params %v, want %v", i, r.Params, want)
		}
	}
}

// TestAddRunsToBare adds runs to a bare copy, as a remote gains them, and
// checks that a fetch brings exactly those.
func TestAddRunsToBare(t *testing.T) {
	tmp := t.TempDir()
	remote := filepath.Join(tmp, "remote.git")
	if err := Generate(remote, 50, Options{Bare: true}); err != nil {
		t.Fatal(err)
	}
	if got := run1(t, remote, "git", "rev-parse", "--is-bare-repository"); strings.TrimSpace(got) != "true" {
		t.Fatalf("not bare: %s", got)
	}
	clone := filepath.Join(tmp, "clone")
	run1(t, tmp, "git", "clone", "-q", "-c", "remote.origin.fetch=+refs/runs/*:refs/runs/*", remote, clone)
	if err := AddRuns(remote, 7); err != nil {
		t.Fatal(err)
	}
	run1(t, remote, "git", "fsck", "--full", "--strict")
	before := run1(t, clone, "git", "for-each-ref", "refs/runs")
	run1(t, clone, "git", "fetch", "-q", "origin")
	out := strings.TrimPrefix(run1(t, clone, "git", "for-each-ref", "refs/runs"), before)
	if got := strings.Count(out, "refs/runs/"); got != 7 {
		t.Errorf("fetch brought %d runs, want 7:\n%s", got, out)
	}
	for i := 50; i < 57; i++ {
		if !strings.Contains(out, "refs/runs/"+ID(i)) {
			t.Errorf("fetch did not bring run %d (%s):\n%s", i, ID(i), out)
		}
	}
}

// TestCopy checks that a copy shares only pack files with its source, so
// that what a benchmark does to the copy leaves the source as it was.
func TestCopy(t *testing.T) {
	tmp := t.TempDir()
	src, dst := filepath.Join(tmp, "src"), filepath.Join(tmp, "dst")
	if err := Generate(src, 20, Options{}); err != nil {
		t.Fatal(err)
	}
	before := run1(t, src, "git", "for-each-ref")
	if err := Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := AddRuns(dst, 5); err != nil {
		t.Fatal(err)
	}
	run1(t, dst, "git", "pack-refs", "--all")
	run1(t, dst, "git", "fsck", "--full", "--strict")
	run1(t, src, "git", "fsck", "--full", "--strict")
	if after := run1(t, src, "git", "for-each-ref"); after != before {
		t.Errorf("the source's refs changed:\n%s\nwant\n%s", after, before)
	}
	if got := strings.Count(run1(t, dst, "git", "for-each-ref", "refs/runs"), "\n"); got != 25 {
		t.Errorf("the copy has %d runs, want 25", got)
	}
	if err := Copy(src, dst); err == nil {
		t.Error("copy onto an existing copy: no error")
	}
}

// TestBadInput checks the errors of bad arguments and that they leave
// nothing behind.
func TestBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if err := Generate(dir, -1, Options{}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("generate -1 runs: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("generate -1 runs left %s: %v", dir, err)
	}
	if err := AddRuns(filepath.Join(t.TempDir(), "none"), 3); err == nil {
		t.Error("add runs to no repository: no error")
	}
}

func TestIDs(t *testing.T) {
	prev := ""
	for i := 0; i < 5000; i++ {
		id := ID(i)
		if !run.ValidID(id) || id <= prev || !run.IDTime(id).Equal(Start.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("ID(%d) = %q after %q", i, id, prev)
		}
		prev = id
	}
}
