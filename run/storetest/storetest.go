// Package storetest is the conformance suite of run stores: one set of
// tests, written against the contract of tracker.Store and live.Store,
// that every implementation runs (gitstore against real git, memstore in
// memory), so that a caller written against one store may trust another.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

// Run runs the suite. open returns a new, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) tracker.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s tracker.Store)
	}{
		{"SaveThenRead", testSaveThenRead},
		{"CompareAndSwap", testCompareAndSwap},
		{"NotFound", testNotFound},
		{"ListAfterWrite", testListAfterWrite},
		{"ConcurrentSaves", testConcurrentSaves},
		{"AmendKeepsTheRest", testAmend},
		{"AmendLiveRefused", testAmendLiveRefused},
		{"DeleteConflict", testDeleteConflict},
		{"DeleteLiveRun", testDeleteLiveRun},
		{"DeleteBeforeFirstCommit", testDeleteBeforeFirstCommit},
		{"Removed", testRemoved},
		{"RecordAndRecover", testRecordAndRecover},
		{"Marks", testMarks},
	}
	tests = append(tests, extendTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, open(t)) })
	}
}

// idAt returns the id of a run started n minutes after a fixed time, so
// that tests know the order of their runs.
func idAt(n int) string {
	return run.NewIDAt(time.Date(2026, 11, 1, 12, n, 0, 0, time.UTC))
}

// contents returns the contents of a run with id and status, a param and
// two points of a metric.
func contents(id string, status run.Status) *run.Contents {
	started := run.IDTime(id)
	rec := &run.Record{
		Format: run.Format, ID: id, Name: "run-" + id[len(id)-4:], Experiment: "default", Status: status,
		Started: started, Host: run.Host{Hostname: "h", User: "u", OS: "linux", Arch: "amd64"},
		Params: map[string]any{"lr": 0.01}, Tags: map[string]string{}, Metrics: map[string]run.Summary{},
	}
	if status != run.Running {
		rec.Ended = started.Add(time.Second)
	}
	h := run.History{"loss": {{Step: 0, Time: started.UnixMilli(), Value: 1}, {Step: 1, Time: started.UnixMilli() + 1, Value: 0.5}}}
	rec.Metrics["loss"] = run.Summarize(h["loss"])
	return &run.Contents{Record: rec, History: h}
}

func save(t *testing.T, s tracker.Store, c *run.Contents, old string) string {
	t.Helper()
	commit, err := s.Save(c, old)
	if err != nil {
		t.Fatalf("save %s: %v", c.Record.ID, err)
	}
	if commit == "" {
		t.Fatalf("save %s: no commit id", c.Record.ID)
	}
	return commit
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want one wrapping %v", what, err, want)
	}
}

func testSaveThenRead(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "model.json")
	if err := os.WriteFile(file, []byte(`{"layers": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	blob, err := s.StoreFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := contents(idAt(1), run.Finished)
	c.Artifacts = []run.Artifact{{Path: "out/model.json", Blob: blob}}
	c.Output = func() ([]byte, error) { return []byte("epoch 1 loss=0.5\n"), nil }
	commit := save(t, s, c, "")

	if head, err := s.Head(c.Record.ID); err != nil || head != commit {
		t.Errorf("Head = %q, %v; want %q", head, err, commit)
	}
	en, err := s.Load(ctx, c.Record.ID)
	if err != nil {
		t.Fatal(err)
	}
	if en.Commit != commit || en.ID != c.Record.ID || !sameRecord(en.Record, c.Record) {
		t.Errorf("Load = %+v, want commit %s and record %+v", en, commit, c.Record)
	}
	if h, err := s.History(ctx, commit); err != nil || !reflect.DeepEqual(h, c.History) {
		t.Errorf("History = %v, %v; want %v", h, err, c.History)
	}
	if out, err := s.Output(ctx, commit); err != nil || string(out) != "epoch 1 loss=0.5\n" {
		t.Errorf("Output = %q, %v", out, err)
	}
	arts, err := s.Artifacts(ctx, commit)
	if err != nil || len(arts) != 1 || arts[0].Path != "out/model.json" || arts[0].Size != 13 {
		t.Errorf("Artifacts = %+v, %v", arts, err)
	}
	rc, err := s.OpenArtifact(ctx, commit, "out/model.json")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || string(b) != `{"layers": 3}` {
		t.Errorf("OpenArtifact read %q, %v", b, err)
	}
	if _, err := s.OpenArtifact(ctx, commit, "../run.toml"); err == nil {
		t.Error("OpenArtifact of ../run.toml succeeded")
	}
	wantErr(t, "OpenArtifact of a missing file", openErr(s, commit, "out/none.json"), run.ErrNotFound)
}

func openErr(s tracker.Store, commit, path string) error {
	rc, err := s.OpenArtifact(context.Background(), commit, path)
	if err == nil {
		rc.Close()
	}
	return err
}

// sameRecord compares what a store must keep of a record.
func sameRecord(a, b *run.Record) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Status == b.Status && a.Started.Equal(b.Started) &&
		a.Ended.Equal(b.Ended) && reflect.DeepEqual(a.Params, b.Params) && reflect.DeepEqual(a.Metrics, b.Metrics) &&
		len(a.Tags) == len(b.Tags) && (len(a.Tags) == 0 || reflect.DeepEqual(a.Tags, b.Tags))
}

func testCompareAndSwap(t *testing.T, s tracker.Store) {
	id := idAt(2)
	c1 := save(t, s, contents(id, run.Running), "")
	_, err := s.Save(contents(id, run.Running), "")
	wantErr(t, "create of an existing run", err, run.ErrConflict)
	c2 := save(t, s, contents(id, run.Finished), c1)
	_, err = s.Save(contents(id, run.Finished), c1)
	wantErr(t, "save from a stale commit", err, run.ErrConflict)
	if head, _ := s.Head(id); head != c2 {
		t.Errorf("after lost saves the run is at %s, want %s", head, c2)
	}
}

// absent is an object id that no store holds.
const absent = "0123456789abcdef0123456789abcdef01234567"

func testNotFound(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	id := idAt(3)
	_, err := s.Head(id)
	wantErr(t, "Head", err, run.ErrNotFound)
	_, err = s.Load(ctx, id)
	wantErr(t, "Load", err, run.ErrNotFound)
	_, err = s.History(ctx, absent)
	wantErr(t, "History", err, run.ErrNotFound)
	_, err = s.Artifacts(ctx, absent)
	wantErr(t, "Artifacts", err, run.ErrNotFound)
	wantErr(t, "Delete", s.Delete(id, ""), run.ErrNotFound)
	wantErr(t, "Amend", s.Amend(id, func(*run.Record) error { return nil }), run.ErrNotFound)
	_, err = s.Save(contents(id, run.Running), absent)
	wantErr(t, "Save over a run that does not exist", err, run.ErrNotFound)
	if _, err := s.Head(id); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("a Save from a commit of a missing run created it: %v", err)
	}
}

func testListAfterWrite(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		id := idAt(10 + i)
		save(t, s, contents(id, run.Finished), "")
		ids = append(ids, id)
	}
	if err := s.Delete(ids[2], ""); err != nil {
		t.Fatal(err)
	}
	all, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range all {
		if en.Err != nil || en.Record == nil || en.Record.ID != en.ID {
			t.Errorf("listed %+v", en)
		}
		got = append(got, en.ID)
	}
	want := []string{ids[4], ids[3], ids[1], ids[0]}
	if !slices.Equal(got, want) {
		t.Errorf("List = %v, want newest first without the deleted run: %v", got, want)
	}
}

// testConcurrentSaves has writers race to move one run, each retrying
// its compare-and-swap: every success must replace the one before it, so
// that the successes form one chain and none is lost.
func testConcurrentSaves(t *testing.T, s tracker.Store) {
	id := idAt(20)
	first := save(t, s, contents(id, run.Running), "")
	const writers, each = 4, 10
	var mu sync.Mutex
	next := map[string]string{} // old commit -> the commit that replaced it
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < each; {
				head, err := s.Head(id)
				if err != nil {
					t.Error(err)
					return
				}
				c := contents(id, run.Running)
				c.Record.Tags["writer"] = fmt.Sprint(w, "/", i)
				commit, err := s.Save(c, head)
				if errors.Is(err, run.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := next[head]; dup {
					t.Errorf("two saves replaced %s: %s and %s", head, prev, commit)
				}
				next[head] = commit
				mu.Unlock()
				i++
			}
		})
	}
	wg.Wait()
	n, at := 0, first
	for next[at] != "" {
		at = next[at]
		n++
	}
	head, _ := s.Head(id)
	if n != writers*each || at != head {
		t.Errorf("chain of %d saves ending at %s, want %d ending at the head %s", n, at, writers*each, head)
	}
}

func testAmend(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	c := contents(idAt(30), run.Finished)
	c.Output = func() ([]byte, error) { return []byte("out\n"), nil }
	old := save(t, s, c, "")
	err := s.Amend(c.Record.ID, func(r *run.Record) error {
		r.Tags["verdict"] = "good"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	en, err := s.Load(ctx, c.Record.ID)
	if err != nil || en.Commit == old || en.Record.Tags["verdict"] != "good" {
		t.Fatalf("after Amend: %+v, %v", en, err)
	}
	if h, err := s.History(ctx, en.Commit); err != nil || !reflect.DeepEqual(h, c.History) {
		t.Errorf("Amend lost the history: %v, %v", h, err)
	}
	if out, err := s.Output(ctx, en.Commit); err != nil || string(out) != "out\n" {
		t.Errorf("Amend lost the output: %q, %v", out, err)
	}
	boom := errors.New("boom")
	if err := s.Amend(c.Record.ID, func(*run.Record) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Amend returned %v, want edit's error", err)
	}
	if head, _ := s.Head(c.Record.ID); head != en.Commit {
		t.Error("a failed Amend moved the run")
	}
}

func testAmendLiveRefused(t *testing.T, s tracker.Store) {
	id := idAt(31)
	c := save(t, s, contents(id, run.Running), "")
	err := s.Amend(id, func(r *run.Record) error {
		r.Tags["x"] = "y"
		return nil
	})
	wantErr(t, "Amend of a running run", err, run.ErrLive)
	if head, _ := s.Head(id); head != c {
		t.Error("a refused Amend moved the run")
	}
}

func testDeleteConflict(t *testing.T, s tracker.Store) {
	id := idAt(32)
	c1 := save(t, s, contents(id, run.Running), "")
	save(t, s, contents(id, run.Finished), c1)
	wantErr(t, "Delete from a stale commit", s.Delete(id, c1), run.ErrConflict)
	if _, err := s.Head(id); err != nil {
		t.Errorf("a refused Delete removed the run: %v", err)
	}
}

// testRemoved: a run deleted is removed for good, and said to be by
// every later call of Removed, even once a run of the same id could be
// saved again; a run never saved, a delete refused and a run put aside
// remove nothing.
func testRemoved(t *testing.T, s tracker.Store) {
	rm, ok := s.(importer.Removals)
	if !ok {
		t.Fatalf("%T is not an importer.Removals", s)
	}
	removed := func() []string {
		t.Helper()
		ids, err := rm.Removed()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	if ids := removed(); len(ids) != 0 {
		t.Fatalf("an empty store has removed %v", ids)
	}
	gone, kept, aside := idAt(40), idAt(41), idAt(42)
	c := save(t, s, contents(gone, run.Finished), "")
	stale := save(t, s, contents(kept, run.Running), "")
	save(t, s, contents(kept, run.Finished), stale)
	save(t, s, contents(aside, run.Finished), "")
	if err := s.Amend(aside, func(r *run.Record) error { r.Tags[run.DeletedTag] = "2026-11-01T12:00:00Z"; return nil }); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Delete from a stale commit", s.Delete(kept, stale), run.ErrConflict)
	wantErr(t, "Delete of a run never saved", s.Delete(idAt(43), ""), run.ErrNotFound)
	if err := s.Delete(gone, c); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if ids := removed(); !slices.Equal(ids, []string{gone}) {
			t.Errorf("removed %v, want %s alone", ids, gone)
		}
	}
}

// recorder returns the recorder of s, its journals where s keeps them.
func recorder(s tracker.Store) live.Recorder {
	return live.Recorder{Store: s, Dir: s.LiveDir()}
}

// testDeleteLiveRun deletes a run while it is being recorded, as
// git runs rm --force does: the recorder must not bring it back.
func testDeleteLiveRun(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	rc := recorder(s)
	r, err := rc.Start(ctx, live.Options{Name: "doomed"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.LogMetric("loss", 1, live.NextStep))
	must(t, r.Checkpoint())
	rs, err := tracker.New(s, tracker.Options{}).Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim, err := rs.Resolve("doomed")
	if err != nil || !victim.Live {
		t.Fatalf("live run listed as %+v, %v", victim, err)
	}
	_, err = tracker.New(s, tracker.Options{}).Delete(ctx, []tracker.Run{victim}, true)
	must(t, err)
	must(t, r.LogMetric("loss", 0.5, live.NextStep))
	err = r.End(run.Finished)
	wantErr(t, "End of a deleted run", err, run.ErrNotFound)
	if err != nil && !strings.Contains(err.Error(), "deleted") {
		t.Errorf("End of a deleted run says %q, which does not say it was deleted", err)
	}
	if _, err := s.Head(r.ID()); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("the deleted run came back: %v", err)
	}
	if lives, _ := rc.List(); len(lives) != 0 {
		t.Errorf("journals left: %+v", lives)
	}
}

// testDeleteBeforeFirstCommit deletes a run that exists only in its
// journal yet.
func testDeleteBeforeFirstCommit(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	r, err := recorder(s).Start(ctx, live.Options{Name: "early"})
	if err != nil {
		t.Fatal(err)
	}
	tr := tracker.New(s, tracker.Options{})
	rs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim, err := rs.Resolve("early")
	if err != nil || victim.Commit != "" {
		t.Fatalf("run before its first commit listed as %+v, %v", victim, err)
	}
	_, err = tr.Delete(ctx, []tracker.Run{victim}, true)
	must(t, err)
	wantErr(t, "End of a run deleted before its first commit", r.End(run.Finished), run.ErrNotFound)
	if _, err := s.Head(r.ID()); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("the deleted run was created at its end: %v", err)
	}
}

// testRecordAndRecover records a run through the recorder, and finds one
// whose process died recovered as crashed with all it logged.
func testRecordAndRecover(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	rc := recorder(s)
	r, err := rc.Start(ctx, live.Options{Name: "whole", Params: map[string]any{"lr": 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		must(t, r.LogMetric("acc", float64(i)/10, live.NextStep))
	}
	must(t, r.SetTag("team", "vision"))
	must(t, r.End(run.Finished))
	en, err := s.Load(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if en.Record.Status != run.Finished || en.Record.Params["lr"] != 0.1 || en.Record.Tags["team"] != "vision" || en.Record.Metrics["acc"].Count != 3 {
		t.Errorf("recorded %+v", en.Record)
	}

	// A process that is certainly gone: a child that has exited.
	dead := deadPID(t)
	crashed, err := rc.Start(ctx, live.Options{Name: "crashed", OwnerPID: dead})
	if err != nil {
		t.Fatal(err)
	}
	must(t, crashed.LogMetric("loss", 3, live.NextStep))
	must(t, crashed.Close())
	rs, err := tracker.New(s, tracker.Options{}).Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rs.Resolve("crashed")
	if err != nil || got.Record.Status != run.Crashed || got.Record.Metrics["loss"].Last != 3 || got.Live {
		t.Errorf("crashed run listed as %+v, %v", got, err)
	}
}

func testMarks(t *testing.T, s tracker.Store) {
	a, b, c, d := idAt(40), idAt(41), idAt(42), idAt(43)
	before := s.AllMarks()
	must(t, s.MarkFetched("origin", []string{b, a}))
	must(t, s.MarkFetched("upstream", []string{c}))
	must(t, s.MarkSeen(a))
	must(t, s.MarkSeen(a, d)) // seen already, and never fetched: no change
	want := map[string][2]string{a: {"", "origin"}, b: {"origin", "origin"}, c: {"upstream", "upstream"}, d: {"", ""}}
	for id, w := range want {
		if f, from := s.MarksOf(id); f != w[0] || from != w[1] {
			t.Errorf("MarksOf(%s) = %q, %q, want %q, %q", id, f, from, w[0], w[1])
		}
	}
	all := s.AllMarks()
	for _, order := range [][]string{{a, b, c, d}, {d, c, b, a}, {c, a, d, b, b}} {
		for _, id := range order {
			if f, from := all(id); f != want[id][0] || from != want[id][1] {
				t.Errorf("AllMarks()(%s) asked in order %v = %q, %q, want %q, %q", id, order, f, from, want[id][0], want[id][1])
			}
		}
	}
	if f, from := before(b); f != "" || from != "" {
		t.Errorf("AllMarks from before any mark answers %q, %q for %s", f, from, b)
	}
	// What AllMarks answers is as of its call.
	must(t, s.MarkSeen(b))
	if f, _ := all(b); f != "origin" {
		t.Errorf("AllMarks from before MarkSeen(%s) says fetched from %q", b, f)
	}
	if f, from := s.MarksOf(b); f != "" || from != "origin" {
		t.Errorf("MarksOf(%s) after MarkSeen = %q, %q", b, f, from)
	}
	// Fetched again once seen: new again.
	must(t, s.MarkFetched("upstream", []string{a}))
	if f, from := s.MarksOf(a); f != "upstream" || from != "upstream" {
		t.Errorf("MarksOf(%s) fetched again = %q, %q, want upstream, upstream", a, f, from)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
