package tracker_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/memstore"
	"github.com/gitruns/gitruns/run/tracker"
)

var ctx = context.Background()

func newTracker(t *testing.T) (*tracker.Tracker, *memstore.Store) {
	s := memstore.New(t.TempDir())
	var warnings []error
	t.Cleanup(func() {
		for _, w := range warnings {
			t.Errorf("warned: %v", w)
		}
	})
	return tracker.New(s, tracker.Options{Warn: func(err error) { warnings = append(warnings, err) }}), s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// record starts a run and ends it, with params and a metric's points.
func record(t *testing.T, tr *tracker.Tracker, name string, params map[string]any, loss ...float64) string {
	t.Helper()
	r, err := tr.Start(ctx, live.Options{Name: name, Params: params})
	must(t, err)
	for _, v := range loss {
		must(t, r.LogMetric("loss", v, live.NextStep))
	}
	must(t, r.End(run.Finished))
	return r.ID()
}

func TestRunsShowsLiveRunsAsTheirJournalsHaveThem(t *testing.T) {
	tr, _ := newTracker(t)
	record(t, tr, "done", nil, 1)
	r, err := tr.Start(ctx, live.Options{Name: "going", Checkpoint: time.Hour})
	must(t, err)
	defer r.End(run.Finished)
	must(t, r.LogMetric("loss", 0.5, 7))
	must(t, r.Flush())

	rs, err := tr.Runs(ctx)
	must(t, err)
	if len(rs.All) != 2 || rs.All[0].Record.Name != "going" || rs.All[1].Record.Name != "done" {
		t.Fatalf("runs %+v, want the live run first", rs.All)
	}
	g := rs.All[0]
	if !g.Live || g.Commit != "" || g.Record.Status != run.Running || g.Record.Metrics["loss"].Step != 7 {
		t.Errorf("live run listed as %+v", g)
	}
	h, err := tr.History(ctx, g)
	must(t, err)
	if len(h["loss"]) != 1 || h["loss"][0].Value != 0.5 {
		t.Errorf("live history %+v", h)
	}
	if got, err := rs.Resolve("@"); err != nil || got.ID != g.ID {
		t.Errorf("@ = %+v, %v", got, err)
	}
	if a := rs.Abbrev(g.ID); len(a) < 8 || !strings.HasPrefix(g.ID, a) {
		t.Errorf("Abbrev = %q", a)
	}
}

func TestQueryAndSelect(t *testing.T) {
	tr, _ := newTracker(t)
	record(t, tr, "a", map[string]any{"lr": 0.1}, 0.9)
	record(t, tr, "b", map[string]any{"lr": 0.01}, 0.2)
	record(t, tr, "c", map[string]any{"lr": 0.001})
	rs, err := tr.Runs(ctx)
	must(t, err)
	got, err := rs.Query(tracker.Query{Where: "params.lr < 0.05", Sort: "metrics.loss", Limit: 5})
	must(t, err)
	if len(got) != 2 || got[0].Record.Name != "b" || got[1].Record.Name != "c" {
		t.Errorf("query gave %v, want b then c (no loss: last)", names(got))
	}
	if _, err := rs.Query(tracker.Query{Where: "params.lr <"}); err == nil {
		t.Error("a bad expression was accepted")
	}
	sel, err := rs.Select([]string{"a"}, "params.lr = 0.001")
	must(t, err)
	if strings.Join(names(sel), ",") != "a,c" {
		t.Errorf("select gave %v", names(sel))
	}
	if _, err := rs.Select([]string{"a", "nosuch"}, ""); err == nil || !strings.Contains(err.Error(), `no run "nosuch"`) {
		t.Errorf("select of a missing run: %v", err)
	}
	best, n, err := tracker.Best(rs.All, "loss", tracker.LowerIsBetter("loss"))
	if err != nil || best.Record.Name != "b" || n != 2 {
		t.Errorf("best = %s of %d, %v", best.Record.Name, n, err)
	}
	if _, _, err := tracker.Best(rs.All, "acc", false); err == nil {
		t.Error("best of a metric no run has")
	}
}

func names(runs []tracker.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Record.Name)
	}
	return out
}

func TestComparisons(t *testing.T) {
	tr, _ := newTracker(t)
	record(t, tr, "a", map[string]any{"lr": 0.1, "model": "rf"}, 0.5)
	record(t, tr, "b", map[string]any{"lr": 0.01, "model": "rf"}, math.NaN())
	rs, err := tr.Runs(ctx)
	must(t, err)
	params, metrics := tracker.Differing(rs.All, 5)
	if strings.Join(params, ",") != "lr" || strings.Join(metrics, ",") != "loss" {
		t.Errorf("differing %v %v, want lr and loss", params, metrics)
	}
	rows := tracker.Compare(rs.All, time.Now())
	differ := map[string]bool{}
	for _, r := range rows {
		differ[r.Key] = r.Differ
	}
	if !differ["params.lr"] || differ["params.model"] || !differ["metrics.loss"] || !differ["name"] || differ["status"] {
		t.Errorf("compare rows %+v", rows)
	}
	head, table := tracker.Table(rs.All, time.Now())
	if len(table) != 2 || len(table[0]) != len(head) || head[len(head)-5] != "metrics.loss.last" {
		t.Fatalf("table %v %v", head, table)
	}
	if table[0][len(head)-5] != "NaN" {
		t.Errorf("NaN written as %q", table[0][len(head)-5])
	}
}

func TestAttachAndTag(t *testing.T) {
	tr, s := newTracker(t)
	done := record(t, tr, "done", nil)
	if _, err := tr.Attach(ctx, done); err == nil || !strings.Contains(err.Error(), "has finished") {
		t.Errorf("attach to a finished run: %v", err)
	}
	must(t, tr.Tag(ctx, "done", map[string]string{"verdict": "good"}))
	en, err := s.Load(ctx, done)
	must(t, err)
	if en.Record.Tags["verdict"] != "good" {
		t.Errorf("tags after Tag: %v", en.Record.Tags)
	}
	if err := tr.Tag(ctx, "done", map[string]string{"bad\tkey": "x"}); err == nil {
		t.Error("a bad tag key was accepted")
	}

	r, err := tr.Start(ctx, live.Options{Name: "going"})
	must(t, err)
	must(t, tr.Tag(ctx, "going", map[string]string{"stage": "warmup"}))
	rec, err := r.Record()
	must(t, err)
	if rec.Tags["stage"] != "warmup" {
		t.Errorf("a live run's tags: %v", rec.Tags)
	}
	must(t, r.End(run.Finished))

	// A run that runs on another machine: committed as running, with no
	// journal here.
	other := &run.Contents{Record: &run.Record{Format: run.Format, ID: run.NewID(), Name: "elsewhere", Experiment: "default",
		Status: run.Running, Started: time.Now().UTC().Truncate(time.Millisecond), Host: run.Host{Hostname: "far", User: "u", OS: "linux", Arch: "amd64"},
		Params: map[string]any{}, Tags: map[string]string{}, Metrics: map[string]run.Summary{}}}
	_, err = s.Save(other, "")
	must(t, err)
	if _, err := tr.Attach(ctx, "elsewhere"); err == nil || !strings.Contains(err.Error(), "not on this machine") {
		t.Errorf("attach to a run of another machine: %v", err)
	}
	if err := tr.Tag(ctx, "elsewhere", map[string]string{"k": "v"}); err == nil {
		t.Error("tagged a run that runs on another machine")
	}
}

func TestDeleteRefusesLiveRunsUnlessForced(t *testing.T) {
	tr, s := newTracker(t)
	r, err := tr.Start(ctx, live.Options{Name: "going"})
	must(t, err)
	must(t, r.Checkpoint())
	rs, err := tr.Runs(ctx)
	must(t, err)
	g, err := rs.Resolve("going")
	must(t, err)
	if _, err := tr.Delete(ctx, []tracker.Run{g}, false); !errors.Is(err, run.ErrLive) {
		t.Errorf("delete of a live run without force: %v", err)
	}
	if _, err := s.Head(g.ID); err != nil {
		t.Errorf("a refused delete removed the run: %v", err)
	}
	deleted, err := tr.Delete(ctx, []tracker.Run{g, g}, true)
	must(t, err)
	if len(deleted) != 1 {
		t.Errorf("deleted %v, want the run once", names(deleted))
	}
	if err := r.End(run.Finished); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("End after delete: %v", err)
	}
	rs, err = tr.Runs(ctx)
	must(t, err)
	if len(rs.All) != 0 {
		t.Errorf("runs after delete: %v", names(rs.All))
	}
}

func TestRerunRefusesUnsafeRecords(t *testing.T) {
	tr, _ := newTracker(t)
	for _, tc := range []struct {
		cmd  []string
		dir  string
		want string
	}{
		{nil, "", "recorded no command"},
		{[]string{"train", "--key=[redacted]"}, "", "secrets redacted"},
		{[]string{"true"}, "../../x", "invalid source directory \"../../x\": leads out of the source tree"},
		{[]string{"true"}, "/etc", "invalid source directory \"/etc\": not relative"},
		{[]string{"true"}, "a/../../b", "leads out of the source tree"},
		{[]string{"true"}, "src\x1b[8m", "control characters"},
	} {
		old := tracker.Run{ID: run.NewID(), Record: &run.Record{Name: "old", Command: tc.cmd, Source: run.Source{Dir: tc.dir}}}
		for _, here := range []bool{false, true} {
			if _, _, err := tr.Rerun(ctx, old, tracker.RerunOptions{Here: here}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("rerun (here %v) of %v in %q: %v, want %q", here, tc.cmd, tc.dir, err, tc.want)
			}
		}
	}
	for _, src := range []run.Source{{Commit: "--orphan=x"}, {Commit: "main"}, {Commit: "abc1234"}, {Commit: strings.Repeat("a", 40), Dirty: true, Snapshot: "-b"}} {
		old := tracker.Run{ID: run.NewID(), Record: &run.Record{Name: "old", Command: []string{"true"}, Source: src}}
		if _, _, err := tr.Rerun(ctx, old, tracker.RerunOptions{}); err == nil || !strings.Contains(err.Error(), "not a full object id") {
			t.Errorf("rerun of a run at %+v: %v", src, err)
		}
		if err := tr.Checkout(ctx, old, "", false); err == nil || !strings.Contains(err.Error(), "not a full object id") {
			t.Errorf("checkout of a run at %+v: %v", src, err)
		}
	}
}

// A run is recorded elsewhere when it is marked as fetched, or another
// user or machine recorded it.
func TestElsewhere(t *testing.T) {
	tr, _ := newTracker(t)
	here := live.ThisHost()
	other := func(f func(*run.Host)) run.Host { h := here; f(&h); return h }
	for _, tc := range []struct {
		r    tracker.Run
		want string
	}{
		{tracker.Run{Record: &run.Record{Host: here}}, ""},
		{tracker.Run{Record: &run.Record{Host: here}, FetchedFrom: "origin"}, "fetched from origin"},
		{tracker.Run{Record: &run.Record{Host: other(func(h *run.Host) { h.User = "mallory" })}}, "recorded by mallory@" + here.Hostname},
		{tracker.Run{Record: &run.Record{Host: other(func(h *run.Host) { h.Hostname = "gpu-box" })}}, "recorded by " + here.User + "@gpu-box"},
	} {
		if got := tr.Elsewhere(tc.r); got != tc.want {
			t.Errorf("Elsewhere(%+v, fetched from %q) = %q, want %q", tc.r.Record.Host, tc.r.FetchedFrom, got, tc.want)
		}
	}
}

func TestFollow(t *testing.T) {
	tr, _ := newTracker(t)
	r, err := tr.Start(ctx, live.Options{Name: "followed"})
	must(t, err)
	must(t, r.LogMetric("loss", 1, live.NextStep))
	must(t, r.Flush())
	rs, err := tr.Runs(ctx)
	must(t, err)
	var events []tracker.Event
	err = tr.Follow(ctx, rs.All[0], time.Millisecond, func(ev tracker.Event) error {
		events = append(events, ev)
		if len(events) == 1 {
			return r.End(run.Finished) // the run ends between two looks
		}
		return nil
	})
	must(t, err)
	last := events[len(events)-1]
	if events[0].Record == nil || events[0].Record.Metrics["loss"].Count != 1 || !last.Ended || last.Record.Status != run.Finished {
		t.Errorf("events %+v", events)
	}
}
