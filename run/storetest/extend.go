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
	"sync"
	"testing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

// extendTests are the tests of Extend and Earlier, run by Run.
var extendTests = []struct {
	name string
	f    func(t *testing.T, s tracker.Store)
}{
	{"ExtendAddsAndKeeps", testExtend},
	{"ExtendRefusals", testExtendRefusals},
	{"ConcurrentExtends", testConcurrentExtends},
	{"AmendKeepsEarlier", testAmendKeepsEarlier},
}

// finishedWith saves a finished run with an artifact and output.
func finishedWith(t *testing.T, s tracker.Store, id string) (*run.Contents, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "model.json")
	must(t, os.WriteFile(file, []byte(`{"layers": 3}`), 0o644))
	blob, err := s.StoreFile(file)
	must(t, err)
	c := contents(id, run.Finished)
	c.Artifacts = []run.Artifact{{Path: "model.json", Blob: blob}}
	c.Output = func() ([]byte, error) { return []byte("epoch 1 loss=0.5\n"), nil }
	return c, save(t, s, c, "")
}

func readArtifact(t *testing.T, s tracker.Store, commit, path string) string {
	t.Helper()
	rc, err := s.OpenArtifact(context.Background(), commit, path)
	if err != nil {
		t.Fatalf("open artifact %s at %s: %v", path, commit, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	must(t, err)
	return string(b)
}

// testExtend adds a point, an artifact and a tag to a finished run: the
// new commit holds them with the run's output; the commit it extends is
// named by Earlier and still reads as it was.
func testExtend(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	id := idAt(40)
	c, old := finishedWith(t, s, id)
	file := filepath.Join(t.TempDir(), "eval.txt")
	must(t, os.WriteFile(file, []byte("acc 0.9\n"), 0o644))
	blob, err := s.StoreFile(file)
	must(t, err)
	pt := run.Point{Step: 0, Time: c.Record.Ended.UnixMilli() + 5000, Value: 0.9}
	calls := 0
	commit, err := s.Extend(ctx, id, func(x *run.Contents) error {
		calls++
		if !reflect.DeepEqual(x.History, c.History) || len(x.Artifacts) != 1 || x.Artifacts[0] != c.Artifacts[0] {
			t.Errorf("Extend gave edit %+v, want the run's history and artifacts", x)
		}
		x.History["test/acc"] = []run.Point{pt}
		x.Record.Metrics["test/acc"] = run.Summarize(x.History["test/acc"])
		x.Record.Tags["stage"] = "evaluated"
		x.Artifacts = append(x.Artifacts, run.Artifact{Path: "eval/eval.txt", Blob: blob})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("edit called %d times without another writer", calls)
	}
	en, err := s.Load(ctx, id)
	must(t, err)
	if en.Commit != commit || commit == old {
		t.Fatalf("run at %s after Extend returned %s (was %s)", en.Commit, commit, old)
	}
	if en.Record.Tags["stage"] != "evaluated" || en.Record.Metrics["test/acc"].Last != 0.9 || !reflect.DeepEqual(en.Record.Params, c.Record.Params) {
		t.Errorf("extended record %+v", en.Record)
	}
	h, err := s.History(ctx, commit)
	if err != nil || !reflect.DeepEqual(h["test/acc"], []run.Point{pt}) || !reflect.DeepEqual(h["loss"], c.History["loss"]) {
		t.Errorf("extended history %v, %v", h, err)
	}
	if out, err := s.Output(ctx, commit); err != nil || string(out) != "epoch 1 loss=0.5\n" {
		t.Errorf("Extend lost the output: %q, %v", out, err)
	}
	arts, err := s.Artifacts(ctx, commit)
	if err != nil || len(arts) != 2 || arts[0].Path != "eval/eval.txt" || arts[1].Path != "model.json" {
		t.Errorf("extended artifacts %+v, %v", arts, err)
	}
	if got := readArtifact(t, s, commit, "eval/eval.txt"); got != "acc 0.9\n" {
		t.Errorf("added artifact reads %q", got)
	}
	if e, err := s.Earlier(ctx, commit); err != nil || e != old {
		t.Errorf("Earlier(extended) = %q, %v; want %s", e, err, old)
	}
	if e, err := s.Earlier(ctx, old); err != nil || e != "" {
		t.Errorf("Earlier(the run as it ended) = %q, %v; want none", e, err)
	}
	// The commit extended reads as it did: the state the run ended in.
	if h, err := s.History(ctx, old); err != nil || !reflect.DeepEqual(h, c.History) {
		t.Errorf("history of the extended commit: %v, %v", h, err)
	}
	if rec, err := s.RecordAt(ctx, old); err != nil || !sameRecord(rec, c.Record) {
		t.Errorf("record of the extended commit: %+v, %v", rec, err)
	}
	if _, err := s.Earlier(ctx, absent); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("Earlier of no commit: %v, want ErrNotFound", err)
	}
	if _, err := s.RecordAt(ctx, absent); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("RecordAt of no commit: %v, want ErrNotFound", err)
	}
}

// testExtendRefusals: a running run, a missing one, an edit's error, and
// an edit that would make another run of it change nothing.
func testExtendRefusals(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	add := func(x *run.Contents) error {
		x.Record.Tags["x"] = "y"
		return nil
	}
	running := idAt(41)
	c := save(t, s, contents(running, run.Running), "")
	_, err := s.Extend(ctx, running, add)
	wantErr(t, "Extend of a running run", err, run.ErrLive)
	if head, _ := s.Head(running); head != c {
		t.Error("a refused Extend moved the running run")
	}
	_, err = s.Extend(ctx, idAt(42), add)
	wantErr(t, "Extend of no run", err, run.ErrNotFound)

	id := idAt(43)
	_, old := finishedWith(t, s, id)
	boom := errors.New("boom")
	if _, err := s.Extend(ctx, id, func(*run.Contents) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Extend returned %v, want edit's error", err)
	}
	for what, edit := range map[string]func(*run.Contents) error{
		"its id":            func(x *run.Contents) error { x.Record.ID = idAt(44); return nil },
		"its status":        func(x *run.Contents) error { x.Record.Status = run.Running; return nil },
		"an invalid record": func(x *run.Contents) error { x.Record.Signal = "NOT A SIGNAL"; return nil },
	} {
		if _, err := s.Extend(ctx, id, edit); err == nil {
			t.Errorf("an Extend that changed %s succeeded", what)
		}
	}
	if head, _ := s.Head(id); head != old {
		t.Error("a failed Extend moved the run")
	}
	if _, err := s.Head(idAt(44)); !errors.Is(err, run.ErrNotFound) {
		t.Error("an Extend that changed the id created another run")
	}
}

// testConcurrentExtends has writers add a metric each at once: every
// addition is kept, and the chain of earlier commits holds one commit per
// addition down to the run as it ended.
func testConcurrentExtends(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	id := idAt(45)
	_, first := finishedWith(t, s, id)
	const writers = 6
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			key := fmt.Sprintf("eval/w%d", w)
			_, err := s.Extend(ctx, id, func(x *run.Contents) error {
				x.History[key] = []run.Point{{Step: 0, Time: 1, Value: float64(w)}}
				x.Record.Metrics[key] = run.Summarize(x.History[key])
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	en, err := s.Load(ctx, id)
	must(t, err)
	h, err := s.History(ctx, en.Commit)
	must(t, err)
	for w := range writers {
		key := fmt.Sprintf("eval/w%d", w)
		if _, ok := en.Record.Metrics[key]; !ok || len(h[key]) != 1 {
			t.Errorf("the addition of %s was lost: %v", key, en.Record.Metrics)
		}
	}
	var chain []string
	for at := en.Commit; at != ""; {
		chain = append(chain, at)
		if at, err = s.Earlier(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	if len(chain) != writers+1 || chain[len(chain)-1] != first {
		t.Errorf("chain of %d commits ending at %s, want %d ending at %s", len(chain), chain[len(chain)-1], writers+1, first)
	}
	sorted := slices.Sorted(slices.Values(chain))
	if len(slices.Compact(sorted)) != len(chain) {
		t.Errorf("chain repeats a commit: %v", chain)
	}
}

// testAmendKeepsEarlier: a tag edited after an addition replaces the
// last commit, which still extends the one before.
func testAmendKeepsEarlier(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	id := idAt(46)
	_, first := finishedWith(t, s, id)
	added, err := s.Extend(ctx, id, func(x *run.Contents) error {
		x.History["f1"] = []run.Point{{Step: 0, Time: 1, Value: 0.5}}
		x.Record.Metrics["f1"] = run.Summarize(x.History["f1"])
		return nil
	})
	must(t, err)
	must(t, s.Amend(id, func(r *run.Record) error {
		r.Tags["verdict"] = "kept"
		return nil
	}))
	en, err := s.Load(ctx, id)
	must(t, err)
	if en.Commit == added || en.Record.Tags["verdict"] != "kept" || en.Record.Metrics["f1"].Last != 0.5 {
		t.Fatalf("after Amend: %+v", en)
	}
	if e, err := s.Earlier(ctx, en.Commit); err != nil || e != first {
		t.Errorf("Earlier(amended) = %q, %v; want %s, which the amended commit extended", e, err, first)
	}
}
