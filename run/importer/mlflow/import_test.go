package mlflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/internal/importtest"
	"github.com/gitruns/gitruns/run/importer/mlflow"
	"github.com/gitruns/gitruns/run/mlflowtags"
	"github.com/gitruns/gitruns/run/tracker"
)

var ctx = context.Background()

// longPoints is the length of the fixture's long history.
const longPoints = 100_000

// expected is testdata/mlflow/expected.json: what gen.py wrote into both
// stores, the oracle the imports are checked against.
type expected struct {
	Runs []struct {
		ID, Experiment, Name, Status, User string
		ExperimentID                       string `json:"experiment_id"`
		Start                              int64
		End                                *int64
		Deleted                            bool
		Params, Tags                       map[string]string
		Metrics                            map[string][][3]any
		Artifacts                          map[string]int64
	}
}

// generate runs gen.py into a new directory and returns it.
func generate(t *testing.T, args ...string) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("python3", append([]string{filepath.Join("..", "..", "..", "testdata", "mlflow", "gen.py"), out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.py: %v\n%s", err, b)
	}
	return out
}

func readExpected(t *testing.T, dir string) expected {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// git runs git in dir, with git as referee.
var git = importtest.Git

// repo makes a git repository with one commit, and its tracker.
func repo(t *testing.T) (string, *gitstore.Repo, *tracker.Tracker, string) {
	r := importtest.NewRepo(t)
	return r.Dir, r.Store, r.Tracker, r.Head
}

type store struct {
	name string
	open func(t *testing.T, dir string) importer.Source
	// dedup: the database keeps a point logged twice once.
	dedup bool
	// problems names what the corrupt parts of the fixture are reported
	// as: each must be part of one problem.
	problems []string
}

var stores = []store{
	{
		name: "file",
		open: func(t *testing.T, dir string) importer.Source {
			s, err := mlflow.OpenFileStore(filepath.Join(dir, "mlruns"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		problems: []string{
			"b1b2c3d4e5f60718293a4b5c6d7e8f91/metrics/accuracy: line 2: value \"not-a-number\" is not a number (left out)",
			"cc000000000000000000000000000bad/meta.yaml: not MLflow's meta.yaml",
		},
	},
	{
		name: "sqlite",
		open: func(t *testing.T, dir string) importer.Source {
			s, err := mlflow.OpenSQLite(ctx, filepath.Join(dir, "mlflow.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		dedup: true,
		problems: []string{
			"run cc000000000000000000000000000bad: unknown run status \"DONE\"",
			"run a1b2c3d4e5f60718293a4b5c6d7e8f90: tag \"binary\": value is not text: left out",
		},
	},
}

func TestImport(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			dir, r, tr, head := repo(t)
			src := generate(t, "--long", fmt.Sprint(longPoints), "--commit", head)
			want := readExpected(t, src)

			// A dry run reads everything and writes nothing.
			res, err := importer.Import(ctx, tr, st.open(t, src), importer.Options{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if refs := git(t, dir, "for-each-ref", "refs/runs/"); refs != "" {
				t.Fatalf("dry run wrote runs:\n%s", refs)
			}
			dryNew := res.Count(importer.New)

			res, err = importer.Import(ctx, tr, st.open(t, src), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, res.Problems, st.problems)
			if got := res.Count(importer.New); got != dryNew {
				t.Errorf("dry run said %d new runs, the import made %d", dryNew, got)
			}
			checkRuns(t, tr, want, st, false)
			git(t, dir, "fsck", "--full", "--strict")
			if e, err := tr.ExperimentByName(ctx, "churn"); err != nil || e.Tags["team"] != "growth" {
				t.Errorf("experiment churn: %+v, %v; want its tag team=growth", e, err)
			}
			if !slices.Equal(res.Experiments, []string{"churn", "sweep lr"}) && !slices.Equal(res.Experiments, []string{"sweep lr", "churn"}) {
				t.Errorf("experiments created: %q", res.Experiments)
			}

			// Again: nothing new.
			res, err = importer.Import(ctx, tr, st.open(t, src), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n, u := res.Count(importer.New), res.Count(importer.Updated); n != 0 || u != 0 {
				t.Errorf("second import: %d new, %d updated; want none", n, u)
			}

			// The store after more work: one more run, and more points
			// and a tag in the first.
			src2 := generate(t, "--long", fmt.Sprint(longPoints), "--commit", head, "--extra")
			res, err = importer.Import(ctx, tr, st.open(t, src2), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n, u := res.Count(importer.New), res.Count(importer.Updated); n != 1 || u != 1 {
				t.Errorf("import after more work: %d new, %d updated; want 1 and 1 (%s)", n, u, res.Summary(false))
			}
			checkRuns(t, tr, readExpected(t, src2), st, false)

			// Deleted runs too, when asked for: put aside.
			res, err = importer.Import(ctx, tr, st.open(t, src2), importer.Options{IncludeDeleted: true})
			if err != nil {
				t.Fatal(err)
			}
			checkRuns(t, tr, readExpected(t, src2), st, true)
			git(t, dir, "fsck", "--full", "--strict")
			_ = r
		})
	}
}

func checkProblems(t *testing.T, got []importer.Problem, want []string) {
	t.Helper()
	for _, w := range want {
		n := 0
		for _, p := range got {
			if strings.Contains(p.Error(), w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("problem %q reported %d times, want once; problems:\n%v", w, n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(got), len(want), got)
	}
}

// checkRuns checks every run of want against the runs of tr: each ended
// one imported once (deleted ones only when deleted is set, and then put
// aside), with every param, tag and point.
func checkRuns(t *testing.T, tr *tracker.Tracker, want expected, st store, deleted bool) {
	t.Helper()
	rs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string]tracker.Run{}
	for _, r := range rs.All {
		id := r.Record.Tags[mlflowtags.RunID]
		if _, dup := bySource[id]; dup {
			t.Errorf("MLflow run %s imported twice", id)
		}
		bySource[id] = r
	}
	imported := 0
	for _, w := range want.Runs {
		got, ok := bySource[w.ID]
		switch {
		case w.Status == "RUNNING" || w.Deleted && !deleted:
			if ok {
				t.Errorf("run %s (%s) imported", w.ID, w.Status)
			}
			continue
		case !ok:
			t.Errorf("run %s (%s) not imported", w.ID, w.Name)
			continue
		}
		imported++
		checkRun(t, tr, got, w, bySource, st)
	}
	if len(bySource) != imported {
		t.Errorf("%d runs in the repository, want %d", len(bySource), imported)
	}
}

func checkRun(t *testing.T, tr *tracker.Tracker, got tracker.Run, w struct {
	ID, Experiment, Name, Status, User string
	ExperimentID                       string `json:"experiment_id"`
	Start                              int64
	End                                *int64
	Deleted                            bool
	Params, Tags                       map[string]string
	Metrics                            map[string][][3]any
	Artifacts                          map[string]int64
}, bySource map[string]tracker.Run, st store) {
	t.Helper()
	rec := got.Record
	what := fmt.Sprintf("run %s (%s)", w.ID, w.Name)
	exp := w.Experiment
	if exp == "Default" {
		exp = run.DefaultRecordExperiment
	}
	if rec.Experiment != exp {
		t.Errorf("%s: experiment %q, want %q", what, rec.Experiment, exp)
	}
	if w.Name != "" && rec.Name != w.Name || w.Name == "" && run.ValidateName(rec.Name) != nil {
		t.Errorf("%s: name %q", what, rec.Name)
	}
	if string(rec.Status) != strings.ToLower(w.Status) {
		t.Errorf("%s: status %s, want %s", what, rec.Status, w.Status)
	}
	if rec.Started.UnixMilli() != w.Start {
		t.Errorf("%s: started %d, want %d", what, rec.Started.UnixMilli(), w.Start)
	}
	end := int64(0)
	if w.End != nil {
		end = *w.End
	} else { // the last point then
		for _, pts := range w.Metrics {
			for _, p := range pts {
				end = max(end, int64(p[0].(float64)))
			}
		}
	}
	if rec.Ended.UnixMilli() != end {
		t.Errorf("%s: ended %d, want %d", what, rec.Ended.UnixMilli(), end)
	}
	if len(rec.Params) != len(w.Params) {
		t.Errorf("%s: %d params, want %d", what, len(rec.Params), len(w.Params))
	}
	for k, v := range w.Params {
		if p, ok := rec.Params[k]; !ok || mlflowtags.ParamString(p) != v {
			t.Errorf("%s: param %s = %#v, want %q", what, k, p, v)
		}
	}
	if w.Name == "baseline" {
		for k, v := range map[string]any{"n_estimators": int64(100), "lr": 0.01, "use_bias": true, "scale": "1e3", "seed": "007", "optimizer": "adam"} {
			if !run.SameValue(rec.Params[k], v) {
				t.Errorf("%s: param %s typed %#v, want %#v", what, k, rec.Params[k], v)
			}
		}
		if rec.Source.Commit != w.Tags[mlflowtags.Commit] {
			t.Errorf("%s: source %q, want the commit %s", what, rec.Source.Commit, w.Tags[mlflowtags.Commit])
		}
	}
	for k, v := range w.Tags {
		switch k {
		case mlflowtags.RunName:
			continue
		case mlflowtags.Parent:
			v = bySource[v].ID
		}
		if rec.Tags[k] != v {
			t.Errorf("%s: tag %s = %q, want %q", what, k, rec.Tags[k], v)
		}
	}
	if rec.Tags[mlflowtags.RunID] != w.ID {
		t.Errorf("%s: tag %s = %q", what, mlflowtags.RunID, rec.Tags[mlflowtags.RunID])
	}
	if _, ok := rec.Tags[run.DeletedTag]; ok != w.Deleted {
		t.Errorf("%s: put aside %v, want %v", what, ok, w.Deleted)
	}
	h, err := tr.History(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != len(w.Metrics) {
		t.Errorf("%s: %d metrics, want %d", what, len(h), len(w.Metrics))
	}
	for k, pts := range w.Metrics {
		checkHistory(t, what+" metric "+k, h[k], pts, st.dedup)
	}
	arts, err := tr.Artifacts(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != len(w.Artifacts) {
		t.Errorf("%s: %d artifacts, want %d: %v", what, len(arts), len(w.Artifacts), arts)
	}
	for _, a := range arts {
		if size, ok := w.Artifacts[a.Path]; !ok || size != a.Size {
			t.Errorf("%s: artifact %s of %d bytes, want %d", what, a.Path, a.Size, size)
		}
	}
}

func checkHistory(t *testing.T, what string, got []run.Point, want [][3]any, dedup bool) {
	t.Helper()
	var exp []run.Point
	seen := map[run.Point]bool{}
	for _, p := range want {
		v, ok := p[1].(float64)
		if !ok {
			switch p[1].(string) {
			case "nan":
				v = math.NaN()
			case "inf":
				v = math.Inf(1)
			case "-inf":
				v = math.Inf(-1)
			}
		}
		if dedup && v == 0 {
			v = 0 // SQLite keeps -0 as 0
		}
		pt := run.Point{Time: int64(p[0].(float64)), Value: v, Step: int64(p[2].(float64))}
		if dedup && seen[pt] {
			continue
		}
		seen[pt] = true
		exp = append(exp, pt)
	}
	if len(got) != len(exp) {
		t.Errorf("%s: %d points, want %d", what, len(got), len(exp))
		return
	}
	for i := range exp {
		if !same(got[i], exp[i]) {
			t.Errorf("%s: point %d is %+v, want %+v", what, i, got[i], exp[i])
			return
		}
	}
}

func same(a, b run.Point) bool {
	return a.Step == b.Step && a.Time == b.Time && math.Float64bits(a.Value) == math.Float64bits(b.Value)
}

var _ = time.Now

// TestFixturesCurrent: the committed file store and expected.json are
// what gen.py writes now. The database's bytes depend on the SQLite
// version, so it is not compared; the scenario test of cmd/git-runs
// imports the committed one.
func TestFixturesCurrent(t *testing.T) {
	fresh := generate(t)
	committed := filepath.Join("..", "..", "..", "testdata", "mlflow")
	read := func(root string) map[string]string {
		files := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			files[rel] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	for _, sub := range []string{"mlruns", "mlartifacts"} {
		want, got := read(filepath.Join(fresh, sub)), read(filepath.Join(committed, sub))
		for p, w := range want {
			if got[p] != w {
				t.Errorf("testdata/mlflow/%s/%s differs from what gen.py writes: run gen.py testdata/mlflow", sub, p)
			}
		}
		if len(got) != len(want) {
			t.Errorf("testdata/mlflow/%s holds %d files, gen.py writes %d", sub, len(got), len(want))
		}
	}
	for _, f := range []string{"expected.json"} {
		w, _ := os.ReadFile(filepath.Join(fresh, f))
		g, _ := os.ReadFile(filepath.Join(committed, f))
		if string(w) != string(g) {
			t.Errorf("testdata/mlflow/%s differs from what gen.py writes", f)
		}
	}
}
