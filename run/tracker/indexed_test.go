package tracker_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

// indexedRepo records a varied set of runs in a git repository: a sweep
// with trials, string, bool and list params, a param that is sometimes a
// number and sometimes not, NaN, a run put aside, a run still being
// recorded, and a ref whose record names another run.
func indexedRepo(t *testing.T) (*tracker.Tracker, *gitstore.Repo, *live.Run) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	repo, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	tr := tracker.New(repo, tracker.Options{Warn: func(error) {}})
	sweep, err := tr.Start(ctx, live.Options{Name: "sweep"})
	must(t, err)
	must(t, sweep.End(run.Finished))
	for i := 0; i < 40; i++ {
		params := map[string]any{"lr": float64(i%8) / 1000, "epochs": i % 5, "model": []string{"rf", "svm", "mlp"}[i%3], "bn": i%2 == 0}
		if i%9 == 4 {
			params["lr"] = "auto"
		}
		if i%13 == 0 {
			params["layers"] = []any{int64(64), int64(32)}
		}
		tags := map[string]string{"team": []string{"a", "b"}[i%2]}
		if i%4 == 0 {
			tags[run.ParentTag] = sweep.ID()
		}
		r, err := tr.Start(ctx, live.Options{Name: fmt.Sprintf("trial-%d", i%6), Params: params, Tags: tags})
		must(t, err)
		acc := float64(i%10) / 10
		if i == 7 {
			acc = nan()
		}
		must(t, r.LogMetric("acc", acc, live.NextStep))
		must(t, r.LogMetric("loss", 1-acc, live.NextStep))
		must(t, r.End(run.Finished))
		if i%11 == 5 {
			must(t, tr.SoftDelete(ctx, r.ID()))
		}
	}
	running, err := tr.Start(ctx, live.Options{Name: "trial-1", Params: map[string]any{"lr": 0.0005}})
	must(t, err)
	must(t, running.LogMetric("acc", 0.95, live.NextStep))
	must(t, running.Flush()) // so that every reading below sees the same journal
	return tr, repo, running
}

func nan() float64 { var z float64; return z / z }

// asRuns is the answer of the listing the index paths must agree with.
func asRuns(t *testing.T, tr *tracker.Tracker) *tracker.Runs {
	t.Helper()
	rs, err := tr.Runs(context.Background())
	must(t, err)
	return rs
}

func TestIndexedPathsAgreeWithTheListing(t *testing.T) {
	ctx := context.Background()
	tr, _, running := indexedRepo(t)
	defer running.End(run.Finished)
	rs := asRuns(t, tr)
	all := rs.All
	if len(all) != 42 {
		t.Fatalf("%d runs", len(all))
	}

	specs := []string{"@", "@~1", "@~41", "@~42", "sweep", "trial-1", "trial-3", "nope", all[3].ID, all[5].ID[:10], all[5].ID[:4], all[0].ID[:3], "@~x"}
	for _, spec := range specs {
		want, werr := rs.Resolve(spec)
		got, gerr := tr.Find(ctx, spec)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || want.ID != got.ID || want.Live != got.Live {
			t.Errorf("Find(%q) = %s, %v; the listing says %s, %v", spec, got.ID, gerr, want.ID, werr)
		}
	}

	wheres := []string{"", "metrics.acc > 0.5", "metrics.acc > 0.5 and params.lr < 0.004", "params.lr = 0.002",
		"params.model = 'svm'", "params.bn = true", "params.layers = '[64, 32]'", "tags.team = 'b' and metrics.loss <= 0.3",
		"parent = '" + all[len(all)-1].ID[:8] + "'", "metrics.acc > 2", "params.epochs = '3'", "metrics.acc.max > 0.5",
		"not metrics.acc > 0.5", "metrics.acc > 0.5 or params.model = 'rf'", "run_id = '" + all[2].ID[:8] + "'"}
	for _, where := range wheres {
		for _, q := range []tracker.Query{{Where: where}, {Where: where, Limit: 3}, {Where: where, Deleted: tracker.AlsoDeleted},
			{Where: where, Deleted: tracker.OnlyDeleted}, {Where: where, Limit: 2, Deleted: tracker.AlsoDeleted}} {
			want, werr := rs.Query(tracker.Query{Where: q.Where, Deleted: q.Deleted})
			var got []tracker.Run
			n, gerr := tr.Scan(ctx, q, func(r tracker.Run) error {
				got = append(got, r)
				return nil
			})
			if fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Fatalf("Scan(%+v): error %v, the listing's %v", q, gerr, werr)
			}
			if n != len(want) {
				t.Errorf("Scan(%+v) counts %d runs, the listing %d", q, n, len(want))
			}
			if q.Limit > 0 && len(want) > q.Limit {
				want = want[:q.Limit]
			}
			if !slices.Equal(ids(got), ids(want)) {
				t.Errorf("Scan(%+v) = %v, the listing %v", q, ids(got), ids(want))
			}
		}
	}
	// A string param compared with < is an error either way.
	_, err := tr.Scan(ctx, tracker.Query{Where: "params.lr < 0.004"}, func(tracker.Run) error { return nil })
	if _, werr := rs.Query(tracker.Query{Where: "params.lr < 0.004"}); fmt.Sprint(err) != fmt.Sprint(werr) || err == nil {
		t.Errorf("params.lr < 0.004: %v, the listing %v", err, werr)
	}

	for _, m := range []string{"acc", "loss", "nope", "ac"} {
		for _, minimize := range []bool{false, true} {
			want, wn, werr := tracker.Best(rsQuery(t, rs), m, minimize)
			got, gn, gerr := tr.BestRun(ctx, "", m, minimize)
			if fmt.Sprint(werr) != fmt.Sprint(gerr) || wn != gn || werr == nil && want.Record.Metrics[m].Last != got.Record.Metrics[m].Last {
				t.Errorf("BestRun(%s, %v) = %s %d %v, Best %s %d %v", m, minimize, got.ID, gn, gerr, want.ID, wn, werr)
			}
		}
	}

	for _, r := range all {
		fam, err := tr.Family(ctx, r)
		must(t, err)
		wantP, ok := rs.Parent(r)
		if ok != (fam.Parent != nil) || ok && wantP.ID != fam.Parent.ID {
			t.Errorf("run %s: parent %v, want %s", r.ID, fam.Parent, wantP.ID)
		}
		if !slices.Equal(ids(fam.Children), ids(rs.Children(r))) {
			t.Errorf("run %s: children %v, want %v", r.ID, ids(fam.Children), ids(rs.Children(r)))
		}
		if fam.Abbrev(r.ID) != rs.Abbrev(r.ID) {
			t.Errorf("run %s: abbrev %s, want %s", r.ID, fam.Abbrev(r.ID), rs.Abbrev(r.ID))
		}
	}

	for _, q := range []tracker.Query{{Where: "metrics.nope > 1"}, {Sort: "params.nope"}, {Where: "run_id = 'zzzz'"}, {Where: "params.lr > 0"}} {
		got, err := tr.Check(ctx, q)
		must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(rs.Check(q)) {
			t.Errorf("Check(%+v) = %v, the listing's %v", q, got, rs.Check(q))
		}
	}
}

func rsQuery(t *testing.T, rs *tracker.Runs) []tracker.Run {
	out, err := rs.Query(tracker.Query{})
	must(t, err)
	return out
}

func ids(runs []tracker.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

var _ = strings.Contains
