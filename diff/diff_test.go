package diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// twoRuns records run A on one commit and run B on the next, with files
// that change in every way a file can.
func twoRuns(t *testing.T) (dir string, repo *gitstore.Repo, a, b *run.Record) {
	dir, repo = newRepo(t)
	write(t, dir, map[string][]byte{
		"a.txt":         []byte(numbered("line", 20)),
		"dir/b.txt":     []byte("bee\n"),
		"dir/sub/c.txt": []byte(numbered("c", 5)),
		"keep/k.txt":    []byte("keep\n"),
		"bin.dat":       {1, 0, 2, 3},
		"big.txt":       []byte(strings.Repeat("x\n", 600_000)),
		"f2d":           []byte("file\n"),
		"noeol.txt":     []byte("a\nb"),
	})
	commit(t, dir, "A")
	a = record(t, repo, live.Options{
		Name: "run-a", Experiment: "exp1",
		Params: map[string]any{"lr": 0.01, "epochs": 10, "model": "rf", "only_a": 1, "layers": []any{64, 32}},
		Tags:   map[string]string{"team": "vision", "gone": "x"},
	}, map[string]float64{"loss": 0.5, "acc": 0, "only_a": 1}, run.Finished)

	write(t, dir, map[string][]byte{
		"a.txt":         []byte(strings.Replace(numbered("line", 21), "line 5\n", "LINE 5\n", 1)),
		"dir/b.txt":     nil,
		"dir/new.txt":   []byte("new\nfile\n"),
		"dir/sub/c.txt": []byte(strings.Replace(numbered("c", 5), "c 3\n", "", 1)),
		"bin.dat":       {1, 0, 2, 4},
		"big.txt":       []byte(strings.Repeat("x\n", 600_000) + "y\n"),
		"f2d":           nil,
		"f2d/x.txt":     []byte("x\n"),
		"noeol.txt":     []byte("a\nc"),
	})
	commit(t, dir, "B")
	b = record(t, repo, live.Options{
		Name: "run-b", Experiment: "exp2",
		Params: map[string]any{"lr": 0.02, "epochs": "10", "model": "rf", "only_b": true, "layers": []any{64, 32}},
		Tags:   map[string]string{"team": "nlp", "new": "y"},
	}, map[string]float64{"loss": 0.4, "acc": 0.5, "only_b": 2}, run.Failed)
	return dir, repo, a, b
}

func TestRuns(t *testing.T) {
	dir, repo, a, b := twoRuns(t)
	res, err := Runs(repo, RunSide(a), RunSide(b))
	if err != nil {
		t.Fatal(err)
	}

	wantParams := []Change{
		{Key: "epochs", A: int64(10), B: "10", Kind: Changed},
		{Key: "lr", A: 0.01, B: 0.02, Kind: Changed},
		{Key: "only_a", A: int64(1), Kind: Removed},
		{Key: "only_b", B: true, Kind: Added},
	}
	if !reflect.DeepEqual(res.Params, wantParams) {
		t.Errorf("Params = %#v\nwant %#v", res.Params, wantParams)
	}
	wantTags := []Change{
		{Key: "gone", A: "x", Kind: Removed},
		{Key: "new", B: "y", Kind: Added},
		{Key: "team", A: "vision", B: "nlp", Kind: Changed},
	}
	if !reflect.DeepEqual(res.Tags, wantTags) {
		t.Errorf("Tags = %#v\nwant %#v", res.Tags, wantTags)
	}

	var keys []string
	for _, m := range res.Metrics {
		keys = append(keys, m.Key)
	}
	if want := []string{"acc", "loss", "only_a", "only_b"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("metric keys = %v, want %v", keys, want)
	}
	acc, loss, onlyA, onlyB := res.Metrics[0], res.Metrics[1], res.Metrics[2], res.Metrics[3]
	if acc.A.Last != 0 || acc.B.Last != 0.5 || acc.Delta != 0.5 || !math.IsNaN(acc.Percent) {
		t.Errorf("acc = %+v, want 0 → 0.5, delta 0.5, percent NaN", acc)
	}
	if math.Abs(loss.Delta+0.1) > 1e-12 || math.Abs(loss.Percent+20) > 1e-9 || loss.A.Count != 1 {
		t.Errorf("loss = %+v, want delta -0.1, percent -20", loss)
	}
	if onlyA.B != nil || onlyA.A.Last != 1 || !math.IsNaN(onlyA.Delta) || !math.IsNaN(onlyA.Percent) {
		t.Errorf("only_a = %+v", onlyA)
	}
	if onlyB.A != nil || onlyB.B.Last != 2 || !math.IsNaN(onlyB.Delta) {
		t.Errorf("only_b = %+v", onlyB)
	}

	// The durations come from the clock: check their type only.
	var attrs []Change
	for _, c := range res.Attributes {
		if c.Key == AttrDuration {
			if _, ok := c.A.(float64); !ok || c.Kind != Changed {
				t.Errorf("duration change = %#v", c)
			}
			continue
		}
		attrs = append(attrs, c)
	}
	wantAttrs := []Change{
		{Key: AttrStatus, A: "finished", B: "failed", Kind: Changed},
		{Key: AttrExperiment, A: "exp1", B: "exp2", Kind: Changed},
	}
	if !reflect.DeepEqual(attrs, wantAttrs) {
		t.Errorf("Attributes = %#v\nwant %#v", attrs, wantAttrs)
	}

	if res.CodeA != a.Source.Commit || res.CodeB != b.Source.Commit || res.CodeA == res.CodeB {
		t.Errorf("code = %s, %s; want %s, %s", res.CodeA, res.CodeB, a.Source.Commit, b.Source.Commit)
	}
	wantFiles := []FileChange{
		{Path: "a.txt", Kind: Modified, Added: 2, Removed: 1},
		{Path: "big.txt", Kind: Modified, Big: true},
		{Path: "bin.dat", Kind: Modified, Binary: true},
		{Path: "dir/b.txt", Kind: Removed, Removed: 1},
		{Path: "dir/new.txt", Kind: Added, Added: 2},
		{Path: "dir/sub/c.txt", Kind: Modified, Removed: 1},
		{Path: "f2d", Kind: Removed, Removed: 1},
		{Path: "f2d/x.txt", Kind: Added, Added: 1},
		{Path: "noeol.txt", Kind: Modified, Added: 1, Removed: 1},
	}
	if !reflect.DeepEqual(res.Files, wantFiles) {
		t.Errorf("Files = %+v\nwant %+v", res.Files, wantFiles)
	}
	checkNumstat(t, dir, a.Source.Commit, b.Source.Commit, res.Files)
}

// checkNumstat compares files with what git diff --numstat says of the
// same two commits: the same paths, the same line counts where we count.
func checkNumstat(t *testing.T, dir, from, to string, files []FileChange) {
	t.Helper()
	out := strings.TrimSpace(git(t, dir, "diff", "--numstat", "--no-renames", from, to))
	lines := strings.Split(out, "\n")
	if out == "" {
		lines = nil
	}
	if len(lines) != len(files) {
		t.Fatalf("git diff --numstat lists %d files, we %d:\n%s", len(lines), len(files), out)
	}
	for i, l := range lines {
		f := strings.SplitN(l, "\t", 3)
		fc := files[i]
		if f[2] != fc.Path {
			t.Errorf("file %d: git says %s, we %s", i, f[2], fc.Path)
			continue
		}
		if f[0] == "-" {
			if !fc.Binary {
				t.Errorf("%s: git says binary, we do not", fc.Path)
			}
			continue
		}
		if fc.Big || fc.Binary {
			continue
		}
		added, _ := strconv.Atoi(f[0])
		removed, _ := strconv.Atoi(f[1])
		if added != fc.Added || removed != fc.Removed {
			t.Errorf("%s: git says +%d -%d, we +%d -%d", fc.Path, added, removed, fc.Added, fc.Removed)
		}
	}
}

func TestRunsSame(t *testing.T) {
	_, repo, a, _ := twoRuns(t)
	res, err := Runs(repo, RunSide(a), RunSide(a))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Params)+len(res.Tags)+len(res.Attributes)+len(res.Files) > 0 {
		t.Errorf("a run compared with itself differs: %+v", res)
	}
	for _, m := range res.Metrics {
		if m.Delta != 0 {
			t.Errorf("metric %s: delta %v, want 0", m.Key, m.Delta)
		}
	}
}

func TestDirtyRun(t *testing.T) {
	dir, repo, _, b := twoRuns(t)
	write(t, dir, map[string][]byte{
		"a.txt": []byte(numbered("line", 3)),
		"u.txt": []byte("untracked\n"),
	})
	c := record(t, repo, live.Options{Name: "run-c", Params: map[string]any{"lr": 0.02}}, nil, run.Finished)
	if !c.Source.Dirty || c.Source.Commit != b.Source.Commit {
		t.Fatalf("run c source = %+v, want dirty on %s", c.Source, b.Source.Commit)
	}
	side := RunSide(c)
	if side.Source != c.Source.Snapshot {
		t.Fatalf("RunSide source = %s, want the snapshot %s", side.Source, c.Source.Snapshot)
	}
	res, err := Runs(repo, RunSide(b), side)
	if err != nil {
		t.Fatal(err)
	}
	if res.CodeA != res.CodeB {
		t.Errorf("code commits %s, %s: want the same", res.CodeA, res.CodeB)
	}
	want := []FileChange{
		{Path: "a.txt", Kind: Modified, Removed: 18},
		{Path: "u.txt", Kind: Added, Added: 1},
	}
	if !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files = %+v\nwant %+v", res.Files, want)
	}
	checkNumstat(t, dir, b.Source.Commit, c.Source.Snapshot, res.Files)
}

func TestWorkTreeSide(t *testing.T) {
	dir, repo, _, b := twoRuns(t)
	write(t, dir, map[string][]byte{"dir/new.txt": []byte("new\n"), "u.txt": []byte("u\n")})
	status := git(t, dir, "status", "--porcelain")
	head := git(t, dir, "rev-parse", "HEAD")

	src, err := repo.CaptureSource(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wt := WorkTreeSide(src)
	if wt.Record.Name != WorkTreeName || wt.Record.ID != "" || !wt.Record.Source.Dirty {
		t.Errorf("work tree record = %+v", wt.Record)
	}
	res, err := Runs(repo, RunSide(b), wt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Params)+len(res.Metrics)+len(res.Tags)+len(res.Attributes) > 0 {
		t.Errorf("the work tree has no record to compare, got %+v", res)
	}
	want := []FileChange{
		{Path: "dir/new.txt", Kind: Modified, Removed: 1},
		{Path: "u.txt", Kind: Added, Added: 1},
	}
	if !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files = %+v\nwant %+v", res.Files, want)
	}
	if git(t, dir, "status", "--porcelain") != status || git(t, dir, "rev-parse", "HEAD") != head {
		t.Error("capturing the work tree changed the index, the work tree or HEAD")
	}

	// A clean work tree is HEAD itself.
	git(t, dir, "stash", "-u", "-q")
	if src, err = repo.CaptureSource(context.Background()); err != nil {
		t.Fatal(err)
	}
	wt = WorkTreeSide(src)
	if wt.Source != b.Source.Commit {
		t.Errorf("clean work tree source = %s, want HEAD %s", wt.Source, b.Source.Commit)
	}
}

func TestNoCode(t *testing.T) {
	dir, repo := newRepo(t)
	write(t, dir, map[string][]byte{"x.txt": []byte("x\n")})
	commit(t, dir, "x")
	head := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	res, err := Runs(repo, Side{}, Side{Source: head})
	if err != nil {
		t.Fatal(err)
	}
	want := []FileChange{{Path: "x.txt", Kind: Added, Added: 1}}
	if !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files = %+v, want %+v", res.Files, want)
	}
}

func TestJSON(t *testing.T) {
	res := &Result{
		Params:  []Change{{Key: "x", A: math.NaN(), B: []any{math.Inf(1), int64(1)}, Kind: Changed}},
		Metrics: []MetricChange{{Key: "m", B: &run.Summary{Last: 1, Min: math.NaN()}, Delta: math.NaN(), Percent: math.NaN()}},
		Files:   []FileChange{{Path: "p", Kind: Added, Added: 3}},
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"params":[{"key":"x","kind":"changed","a":"NaN","b":["Infinity",1]}],` +
		`"metrics":[{"key":"m","a":null,"b":{"last":1,"step":0,"min":"NaN","max":0,"count":0},"delta":null,"percent":null}],` +
		`"tags":[],"attributes":[],"code_a":"","code_b":"",` +
		`"files":[{"path":"p","kind":"added","added":3,"removed":0,"binary":false,"big":false}]}`
	if string(b) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", b, want)
	}
}

// countingCode is a Code that counts what is read through it, to check
// that the walk reads only the trees and files that differ.
type countingCode struct {
	Code
	mu    sync.Mutex
	trees []string // ids given to CodeEntries, in order
	blobs int
}

func (c *countingCode) CodeEntries(id string) ([]run.CodeEntry, error) {
	c.mu.Lock()
	c.trees = append(c.trees, id)
	c.mu.Unlock()
	return c.Code.CodeEntries(id)
}

func (c *countingCode) CodeBlob(id string) ([]byte, error) {
	c.mu.Lock()
	c.blobs++
	c.mu.Unlock()
	return c.Code.CodeBlob(id)
}

func TestRunsReadsOnlyDifferences(t *testing.T) {
	dir, repo := newRepo(t)
	files := map[string][]byte{"top.txt": []byte("top\n"), "changed/sub/y.txt": []byte("y\n")}
	for i := range 50 {
		files[fmt.Sprintf("same/deep/f%02d.txt", i)] = []byte(numbered("f", i))
	}
	write(t, dir, files)
	a := commit(t, dir, "A")
	write(t, dir, map[string][]byte{"changed/sub/y.txt": []byte("y\nz\n")})
	b := commit(t, dir, "B")

	code := &countingCode{Code: repo}
	res, err := Runs(code, Side{Source: a}, Side{Source: b})
	if err != nil {
		t.Fatal(err)
	}
	if want := []FileChange{{Path: "changed/sub/y.txt", Kind: Modified, Added: 1}}; !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files = %+v, want %+v", res.Files, want)
	}
	// Both roots, then changed and changed/sub on each side; never same.
	if len(code.trees) != 6 {
		t.Errorf("read %d trees, want 6 (the roots, changed, changed/sub)", len(code.trees))
	}
	sameTree := strings.TrimSpace(git(t, dir, "rev-parse", a+":same"))
	if slices.Contains(code.trees, sameTree) {
		t.Error("the walk read the tree of same/, identical on both sides")
	}
	if code.blobs != 2 {
		t.Errorf("read %d blobs, want 2", code.blobs)
	}

	// Two commits of one tree need no tree read at all.
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "C")
	c := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	code = &countingCode{Code: repo}
	if res, err = Runs(code, Side{Source: b}, Side{Source: c}); err != nil || len(res.Files) != 0 {
		t.Errorf("Runs of one tree = %+v, %v; want no files", res.Files, err)
	}
	if len(code.trees) != 0 || code.blobs != 0 {
		t.Errorf("comparing one tree with itself read %d trees, %d blobs", len(code.trees), code.blobs)
	}
}

func TestRunsMissingCode(t *testing.T) {
	dir, repo := newRepo(t)
	write(t, dir, map[string][]byte{"x.txt": []byte("x\n")})
	head := commit(t, dir, "x")
	missing := strings.Repeat("0123456789", 4)
	for _, sides := range [][2]Side{{{Source: missing}, {Source: head}}, {{Source: head}, {Source: missing}}} {
		_, err := Runs(repo, sides[0], sides[1])
		if !errors.Is(err, run.ErrNotFound) {
			t.Errorf("Runs(%s, %s): %v, want an error wrapping run.ErrNotFound", sides[0].Source, sides[1].Source, err)
		}
	}
	// A commit whose blob is gone: the error names the file.
	blob := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD:x.txt"))
	if err := os.Remove(filepath.Join(dir, ".git", "objects", blob[:2], blob[2:])); err != nil {
		t.Fatal(err)
	}
	_, err := Runs(repo, Side{}, Side{Source: head})
	if !errors.Is(err, run.ErrNotFound) || !strings.Contains(err.Error(), "x.txt") {
		t.Errorf("Runs with a missing blob: %v, want an error about x.txt wrapping run.ErrNotFound", err)
	}
}

func TestSourceCommit(t *testing.T) {
	snap := strings.Repeat("ab", 20)
	code := strings.Repeat("cd", 20)
	for _, c := range []struct {
		src  run.Source
		want string
	}{
		{run.Source{Commit: code, Snapshot: snap, Dirty: true}, snap},
		{run.Source{Commit: code}, code},
		{run.Source{Commit: code, Snapshot: "abc"}, code},
		{run.Source{Commit: strings.ToUpper(code)}, code},
		{run.Source{Commit: code[:39] + "g"}, ""},
		{run.Source{}, ""},
	} {
		if got := SourceCommit(c.src); got != c.want {
			t.Errorf("SourceCommit(%+v) = %q, want %q", c.src, got, c.want)
		}
	}
}
