package tracker_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/internal/secretcorpus"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

func TestLogIntoAnEndedRun(t *testing.T) {
	tr, s := newTracker(t)
	id := record(t, tr, "trained", map[string]any{"lr": 0.1}, 1, 0.5)
	ended, _ := s.Head(id)
	l, err := tr.Log(ctx, "trained")
	must(t, err)
	a, ok := l.(*tracker.Addition)
	if !ok {
		t.Fatalf("Log of an ended run gave %T", l)
	}
	at := time.UnixMilli(1_800_000_000_000)
	must(t, l.LogMetricAt("loss", 0.25, live.NextStep, at))
	must(t, l.LogMetricAt("test/acc", 0.9, live.NextStep, at))
	must(t, l.LogMetricAt("test/acc", 0.8, 7, at))
	must(t, l.SetTag("stage", "eval"))
	must(t, l.LogParams(map[string]any{"lr": 0.1}))
	if err := l.LogParams(map[string]any{"lr": 0.2}); err == nil || !strings.Contains(err.Error(), `param "lr" is already 0.1; params are write-once`) {
		t.Errorf("a changed param: %v", err)
	}
	if err := l.LogParams(map[string]any{"seed": 1}); err == nil || !strings.Contains(err.Error(), "cannot be added after the end") {
		t.Errorf("a new param: %v", err)
	}
	if head, _ := s.Head(id); head != ended {
		t.Fatal("the run moved before Close")
	}
	closing := time.Now().Truncate(time.Millisecond)
	must(t, l.Close())
	en, err := s.Load(ctx, id)
	must(t, err)
	if en.Commit != a.Commit() {
		t.Errorf("run at %s, Close wrote %s", en.Commit, a.Commit())
	}
	if e, _ := s.Earlier(ctx, en.Commit); e != ended {
		t.Errorf("the addition extends %q, want the commit the run ended with %s", e, ended)
	}
	h, err := s.History(ctx, en.Commit)
	must(t, err)
	want := []run.Point{{Step: 0, Time: at.UnixMilli(), Value: 0.9}, {Step: 7, Time: at.UnixMilli(), Value: 0.8}}
	if !reflect.DeepEqual(h["test/acc"], want) || len(h["loss"]) != 3 || h["loss"][2].Step != 2 {
		t.Errorf("history %v", h)
	}
	rec := en.Record
	if rec.Metrics["test/acc"] != run.Summarize(want) || rec.Metrics["loss"].Last != 0.25 || rec.Metrics["loss"].Count != 3 {
		t.Errorf("summaries %v", rec.Metrics)
	}
	if rec.Tags["stage"] != "eval" || rec.TagTimes["stage"].IsZero() || !reflect.DeepEqual(rec.Params, map[string]any{"lr": 0.1}) {
		t.Errorf("tags %v (%v), params %v", rec.Tags, rec.TagTimes, rec.Params)
	}
	if rec.Updated.Before(closing) || rec.Updated.Before(rec.Ended) || rec.Status != run.Finished {
		t.Errorf("updated %v, ended %v, status %s", rec.Updated, rec.Ended, rec.Status)
	}
	if err := l.LogMetricAt("x", 1, 0, at); err == nil {
		t.Error("an Addition took points after Close")
	}
	must(t, l.Close())
}

func TestLogTagsAloneEditInPlace(t *testing.T) {
	tr, s := newTracker(t)
	id := record(t, tr, "r", nil, 1)
	l, err := tr.Log(ctx, id)
	must(t, err)
	must(t, l.SetTag("verdict", "ok"))
	must(t, l.Close())
	en, _ := s.Load(ctx, id)
	if e, _ := s.Earlier(ctx, en.Commit); e != "" || en.Record.Tags["verdict"] != "ok" {
		t.Errorf("a tag alone: earlier %q, tags %v; want it edited in place", e, en.Record.Tags)
	}
	// Nothing added writes nothing; a discarded addition neither.
	head := en.Commit
	l, _ = tr.Log(ctx, id)
	must(t, l.Close())
	l, _ = tr.Log(ctx, id)
	must(t, l.LogMetricAt("x", 1, 0, time.Now()))
	l.(*tracker.Addition).Discard()
	must(t, l.Close())
	if h, _ := s.Head(id); h != head {
		t.Error("an empty or discarded addition wrote")
	}
}

func TestLogLiveRunThroughItsJournal(t *testing.T) {
	tr, s := newTracker(t)
	r, err := tr.Start(ctx, live.Options{Name: "going", Checkpoint: time.Hour})
	must(t, err)
	l, err := tr.Log(ctx, "going")
	must(t, err)
	if _, ok := l.(*live.Run); !ok {
		t.Fatalf("Log of a live run gave %T", l)
	}
	must(t, l.LogMetricAt("loss", 1, live.NextStep, time.Now()))
	must(t, l.Close())
	must(t, r.End(run.Finished))
	en, err := s.Load(ctx, r.ID())
	must(t, err)
	if en.Record.Metrics["loss"].Count != 1 {
		t.Errorf("metrics %v", en.Record.Metrics)
	}
	if e, _ := s.Earlier(ctx, en.Commit); e != "" {
		t.Error("a live run's commit extends another")
	}
}

// TestConcurrentAdditionsContinueSteps: additions racing to one key with
// NextStep each get a step of their own, as the store hands every loser
// the run as the winner left it.
func TestConcurrentAdditionsContinueSteps(t *testing.T) {
	tr, s := newTracker(t)
	id := record(t, tr, "r", nil, 1)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			l, err := tr.Log(ctx, id)
			if err != nil {
				t.Error(err)
				return
			}
			if err := l.LogMetricAt("eval", 1, live.NextStep, time.Now()); err != nil {
				t.Error(err)
			}
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	en, _ := s.Load(ctx, id)
	h, _ := s.History(ctx, en.Commit)
	var steps []int64
	for _, p := range h["eval"] {
		steps = append(steps, p.Step)
	}
	if !slices.Equal(steps, []int64{0, 1, 2, 3, 4}) {
		t.Errorf("steps %v", steps)
	}
}

func TestStartChild(t *testing.T) {
	tr, s := newTracker(t)
	s.Source = run.Source{Commit: strings.Repeat("a", 40), Branch: "main"}
	parent, err := tr.Start(ctx, live.Options{Name: "sweep", Experiment: "grid", SourceDir: "src"})
	must(t, err)
	must(t, parent.SetHost(run.Host{Python: "3.11.7", CPUs: 8}))
	// The store's code moves on: a child runs what its parent ran.
	s.Source = run.Source{Commit: strings.Repeat("b", 40)}
	child, err := tr.StartChild(ctx, parent.ID()[:10], live.Options{Params: map[string]any{"lr": 0.1}})
	must(t, err)
	must(t, child.End(run.Finished))
	must(t, parent.End(run.Finished))
	c, err := s.Load(ctx, child.ID())
	must(t, err)
	rec := c.Record
	if rec.Tags[run.ParentTag] != parent.ID() || rec.Experiment != "grid" || rec.Source.Commit != strings.Repeat("a", 40) || rec.Source.Dir != "src" {
		t.Errorf("child record: tags %v, experiment %q, source %+v", rec.Tags, rec.Experiment, rec.Source)
	}
	if rec.Host.Python != "3.11.7" || rec.Host.CPUs != 8 {
		t.Errorf("child host %+v: want the live parent's facts", rec.Host)
	}
	if _, err := tr.StartChild(ctx, "no-such-run", live.Options{}); err == nil {
		t.Error("a child of no run started")
	}
	if _, err := tr.StartChild(ctx, parent.ID(), live.Options{Tags: map[string]string{run.ParentTag: child.ID()}}); err == nil {
		t.Error("a child naming two parents started")
	}
	rs, err := tr.Runs(ctx)
	must(t, err)
	if len(rs.All) != 2 {
		t.Fatalf("%d runs after refused children, want 2", len(rs.All))
	}
	got, err := rs.Query(tracker.Query{Where: "parent = '" + rs.Abbrev(parent.ID()) + "'"})
	must(t, err)
	if len(got) != 1 || got[0].ID != child.ID() {
		t.Errorf("children by short id: %v", got)
	}
	if p, ok := rs.Parent(got[0]); !ok || p.ID != parent.ID() {
		t.Error("Parent does not find the parent")
	}
}

// TestScanSecretsOfEarlierCommits: a secret in a tag removed later, or in
// an artifact replaced later, is still in what a push sends: found.
func TestScanSecretsOfEarlierCommits(t *testing.T) {
	corpus := secretcorpus.All()
	gh, aws := corpus[2], corpus[0]
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "commit", "-q", "--allow-empty", "-m", "code")
	repo, err := gitstore.Open(dir)
	must(t, err)
	defer repo.Close()
	tr := tracker.New(repo, tracker.Options{})
	id := record(t, tr, "r", nil, 1)
	art := filepath.Join(t.TempDir(), "eval.json")
	add := func(content string) {
		t.Helper()
		must(t, os.WriteFile(art, []byte(content), 0o644))
		l, err := tr.Log(ctx, id)
		must(t, err)
		must(t, l.LogArtifact(art, ""))
		must(t, l.Close())
	}
	must(t, repo.Amend(id, func(rec *run.Record) error {
		rec.Tags["note"] = "token " + gh.Value
		return nil
	}))
	add(`{"key": "` + aws.Value + `"}`)
	add(`{"key": "gone"}`)
	must(t, repo.Amend(id, func(rec *run.Record) error {
		delete(rec.Tags, "note")
		return nil
	}))
	rs, err := tr.Runs(ctx)
	must(t, err)
	found, err := tr.ScanSecrets(ctx, rs.All)
	must(t, err)
	var got []string
	for _, f := range found {
		got = append(got, f.Kind+" @ "+f.Where[strings.Index(f.Where, ": ")+2:])
		if !strings.HasPrefix(f.Where, "earlier commit ") {
			t.Errorf("found %+v in the run as it is", f)
		}
	}
	want := []string{"GitHub token @ tags.note", "AWS access key @ artifacts/eval.json line 1", "GitHub token @ tags.note"}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}
