package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

// RunExperiments runs the suite of tracker.ExperimentStore: the store's
// contract, then the tracker's experiments over it. open returns a new,
// empty store for each test, which must be a tracker.ExperimentStore.
// corrupt, for a store that can hold an experiment it cannot read (one
// fetched from elsewhere), makes experiment id such a one; nil for a
// store that cannot.
func RunExperiments(t *testing.T, open func(t *testing.T) tracker.Store, corrupt func(t *testing.T, s tracker.Store, id string)) {
	tests := []struct {
		name string
		f    func(t *testing.T, s tracker.Store)
	}{
		{"CreateAndList", testExperimentCreate},
		{"CompareAndSwap", testExperimentCAS},
		{"EditChain", testExperimentChain},
		{"ConcurrentSaves", testExperimentConcurrent},
		{"InvalidRefused", testExperimentInvalid},
		{"DefaultAndImplicit", testExperimentImplicit},
		{"RenameKeepsRuns", testExperimentRename},
		{"DeleteAndRestore", testExperimentDelete},
		{"FirstEditStores", testExperimentFirstEdit},
	}
	if corrupt != nil {
		tests = append(tests, struct {
			name string
			f    func(t *testing.T, s tracker.Store)
		}{"UnreadableListed", func(t *testing.T, s tracker.Store) { testExperimentUnreadable(t, s, corrupt) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			if _, ok := s.(tracker.ExperimentStore); !ok {
				t.Fatalf("%T is not a tracker.ExperimentStore", s)
			}
			tt.f(t, s)
		})
	}
}

// experiment returns a valid experiment with id n and name.
func experiment(n int, name string) *run.Experiment {
	at := time.Date(2026, 11, 1, 12, n, 0, 0, time.UTC)
	return &run.Experiment{
		ID: strconv.Itoa(100 + n), Name: name, Tags: map[string]string{"n": strconv.Itoa(n)},
		Created: at, Updated: at,
	}
}

func saveExperiment(t *testing.T, s tracker.Store, e *run.Experiment, old string) string {
	t.Helper()
	c, err := s.(tracker.ExperimentStore).SaveExperiment(context.Background(), e, old)
	if err != nil {
		t.Fatalf("save experiment %s: %v", e.ID, err)
	}
	if c == "" || c == old {
		t.Fatalf("save experiment %s: commit %q after %q", e.ID, c, old)
	}
	return c
}

// listExperiments lists the store's experiments by id.
func listExperiments(t *testing.T, s tracker.Store) map[string]run.ExperimentEntry {
	t.Helper()
	all, err := s.(tracker.ExperimentStore).Experiments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]run.ExperimentEntry{}
	for _, en := range all {
		id := en.ID
		if en.Experiment != nil {
			if id != "" && id != en.Experiment.ID {
				t.Errorf("listed under id %s: experiment %s", id, en.Experiment.ID)
			}
			id = en.Experiment.ID
		}
		if _, dup := m[id]; dup {
			t.Errorf("experiment %s listed twice", id)
		}
		m[id] = en
	}
	return m
}

func testExperimentCreate(t *testing.T, s tracker.Store) {
	e := experiment(1, "churn")
	e.Former = []string{"old churn"}
	c := saveExperiment(t, s, e, "")
	_, err := s.(tracker.ExperimentStore).SaveExperiment(context.Background(), experiment(1, "other"), "")
	wantErr(t, "create of an existing experiment", err, run.ErrExists)
	saveExperiment(t, s, experiment(2, "second"), "")
	got := listExperiments(t, s)
	if len(got) != 2 {
		t.Fatalf("listed %d experiments, want 2: %+v", len(got), got)
	}
	en := got[e.ID]
	if en.Commit != c || en.Err != nil || !reflect.DeepEqual(en.Experiment, e) {
		t.Errorf("listed %+v (%+v), want commit %s and %+v", en, en.Experiment, c, e)
	}
}

func testExperimentCAS(t *testing.T, s tracker.Store) {
	es := s.(tracker.ExperimentStore)
	e := experiment(3, "cas")
	c1 := saveExperiment(t, s, e, "")
	e.Name = "cas 2"
	c2 := saveExperiment(t, s, e, c1)
	_, err := es.SaveExperiment(context.Background(), experiment(3, "lost"), c1)
	wantErr(t, "save from a stale commit", err, run.ErrConflict)
	if en := listExperiments(t, s)[e.ID]; en.Commit != c2 || en.Experiment.Name != "cas 2" {
		t.Errorf("after a lost save: %+v, want commit %s", en, c2)
	}
	_, err = es.SaveExperiment(context.Background(), experiment(4, "nowhere"), absent)
	wantErr(t, "save over an experiment not stored", err, run.ErrNotFound)
	if _, ok := listExperiments(t, s)["104"]; ok {
		t.Error("a save from a commit of a missing experiment created it")
	}
}

func testExperimentChain(t *testing.T, s tracker.Store) {
	e := experiment(5, "chain")
	c := saveExperiment(t, s, e, "")
	seen := map[string]bool{c: true}
	for i := range 5 {
		e.Tags["i"] = strconv.Itoa(i)
		e.Deleted = i%2 == 0
		e.Updated = e.Updated.Add(time.Minute)
		c = saveExperiment(t, s, e, c)
		if seen[c] {
			t.Fatalf("save %d gave commit %s again", i, c)
		}
		seen[c] = true
	}
	en := listExperiments(t, s)[e.ID]
	if en.Commit != c || !reflect.DeepEqual(en.Experiment, e) {
		t.Errorf("after the chain: %+v, want %s holding %+v", en, c, e)
	}
}

// testExperimentConcurrent has writers race to move one experiment, each
// retrying its compare-and-swap: every success must replace the one
// before it, so that none is lost.
func testExperimentConcurrent(t *testing.T, s tracker.Store) {
	es := s.(tracker.ExperimentStore)
	first := saveExperiment(t, s, experiment(6, "race"), "")
	const writers, each = 4, 8
	var mu sync.Mutex
	next := map[string]string{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < each; {
				head := listExperiments(t, s)["106"].Commit
				e := experiment(6, fmt.Sprint("race ", w, "/", i))
				c, err := es.SaveExperiment(context.Background(), e, head)
				if errors.Is(err, run.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := next[head]; dup {
					t.Errorf("two saves replaced %s: %s and %s", head, prev, c)
				}
				next[head] = c
				mu.Unlock()
				i++
			}
		})
	}
	wg.Wait()
	n, at := 0, first
	for next[at] != "" {
		at, n = next[at], n+1
	}
	if head := listExperiments(t, s)["106"].Commit; n != writers*each || at != head {
		t.Errorf("chain of %d saves ending at %s, want %d ending at the head %s", n, at, writers*each, head)
	}
}

func testExperimentInvalid(t *testing.T, s tracker.Store) {
	es := s.(tracker.ExperimentStore)
	for _, e := range []*run.Experiment{
		{ID: "", Name: "x"}, {ID: "01", Name: "x"}, {ID: "12a", Name: "x"},
		{ID: "7", Name: ""}, {ID: "7", Name: "a\nb"}, {ID: "7", Name: "x", Former: []string{"\t"}},
	} {
		if _, err := es.SaveExperiment(context.Background(), e, ""); err == nil {
			t.Errorf("saved %+v", e)
		}
	}
	if got := listExperiments(t, s); len(got) != 0 {
		t.Errorf("refused saves stored %+v", got)
	}
}

func testExperimentUnreadable(t *testing.T, s tracker.Store, corrupt func(*testing.T, tracker.Store, string)) {
	saveExperiment(t, s, experiment(7, "fine"), "")
	saveExperiment(t, s, experiment(8, "doomed"), "")
	corrupt(t, s, "108")
	got := listExperiments(t, s)
	if en := got["107"]; en.Err != nil || en.Experiment == nil || en.Experiment.Name != "fine" {
		t.Errorf("the readable experiment listed as %+v", en)
	}
	if en := got["108"]; en.Err == nil || en.Experiment != nil {
		t.Errorf("the unreadable experiment listed as %+v", en)
	}
	tr := tracker.New(s, tracker.Options{})
	exps, err := tr.Experiments(context.Background())
	if err != nil || len(exps) != 2 {
		t.Errorf("tracker lists %+v, %v; want fine and Default", exps, err)
	}
	_, err = tr.EditExperiment(context.Background(), "108", func(*run.Experiment) error { return nil })
	if err == nil {
		t.Error("edited an experiment that cannot be read")
	}
}

// startIn records a finished run in the experiment named exp.
func startIn(t *testing.T, s tracker.Store, name, exp string) *run.Record {
	t.Helper()
	r, err := recorder(s).Start(context.Background(), live.Options{Name: name, Experiment: exp})
	must(t, err)
	must(t, r.End(run.Finished))
	en, err := s.Load(context.Background(), r.ID())
	must(t, err)
	return en.Record
}

func testExperimentImplicit(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	tr := tracker.New(s, tracker.Options{})
	plain := startIn(t, s, "plain", "")
	vision := startIn(t, s, "seeing", "vision")
	exps, err := tr.Experiments(ctx)
	must(t, err)
	if len(exps) != 2 {
		t.Fatalf("experiments %+v, want Default and vision", exps)
	}
	def, err := tr.Experiment(ctx, "0")
	must(t, err)
	if def.Name != "Default" || !def.Claims("default") || !def.Created.Equal(plain.Started) {
		t.Errorf("Default is %+v", def)
	}
	v, err := tr.ExperimentByName(ctx, "vision")
	must(t, err)
	if !run.ValidExperimentID(v.ID) || len(v.ID) != 18 || !v.Created.Equal(vision.Started) {
		t.Errorf("implicit experiment %+v", v)
	}
	for rec, want := range map[*run.Record]string{plain: "0", vision: v.ID} {
		if got, err := tr.ExperimentOf(ctx, rec); err != nil || got != want {
			t.Errorf("run %s is in experiment %q, %v; want %q", rec.Name, got, err, want)
		}
	}
	_, err = tr.CreateExperiment(ctx, "vision", nil)
	wantErr(t, "create of an implicit experiment's name", err, run.ErrExists)
	_, err = tr.Experiment(ctx, "123")
	wantErr(t, "an id nobody has", err, run.ErrNotFound)
}

func testExperimentRename(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	tr := tracker.New(s, tracker.Options{})
	e, err := tr.CreateExperiment(ctx, "churn", map[string]string{"team": "growth"})
	must(t, err)
	_, err = tr.CreateExperiment(ctx, "churn", nil)
	wantErr(t, "create of a name taken", err, run.ErrExists)
	rec := startIn(t, s, "r1", "churn")
	renamed, err := tr.EditExperiment(ctx, e.ID, func(x *run.Experiment) error {
		x.Name = "churn v2"
		return nil
	})
	must(t, err)
	if renamed.Name != "churn v2" || !renamed.Claims("churn") || !renamed.Updated.After(e.Updated) || renamed.Tags["team"] != "growth" {
		t.Errorf("renamed to %+v", renamed)
	}
	if id, err := tr.ExperimentOf(ctx, rec); err != nil || id != e.ID {
		t.Errorf("a run recorded under the old name is in %q, %v; want %s", id, err, e.ID)
	}
	_, err = tr.CreateExperiment(ctx, "churn", nil)
	wantErr(t, "create of a former name", err, run.ErrExists)
	_, err = tr.ExperimentByName(ctx, "churn")
	wantErr(t, "get by a former name", err, run.ErrNotFound)
	other, err := tr.CreateExperiment(ctx, "other", nil)
	must(t, err)
	_, err = tr.EditExperiment(ctx, other.ID, func(x *run.Experiment) error {
		x.Name = "churn v2"
		return nil
	})
	wantErr(t, "rename onto another's name", err, run.ErrExists)
	back, err := tr.EditExperiment(ctx, e.ID, func(x *run.Experiment) error {
		x.Name = "churn"
		return nil
	})
	must(t, err)
	if back.Name != "churn" || !reflect.DeepEqual(back.Former, []string{"churn v2"}) {
		t.Errorf("renamed back to %+v", back)
	}
	if got, err := tr.ExperimentByName(ctx, "churn"); err != nil || got.ID != e.ID {
		t.Errorf("by name: %+v, %v", got, err)
	}
}

func testExperimentDelete(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	tr := tracker.New(s, tracker.Options{})
	e, err := tr.CreateExperiment(ctx, "doomed", nil)
	must(t, err)
	setDeleted := func(d bool) run.Experiment {
		t.Helper()
		x, err := tr.EditExperiment(ctx, e.ID, func(x *run.Experiment) error {
			x.Deleted = d
			return nil
		})
		must(t, err)
		return x
	}
	setDeleted(true)
	got, err := tr.Experiment(ctx, e.ID)
	if err != nil || !got.Deleted {
		t.Errorf("deleted experiment reads %+v, %v", got, err)
	}
	if got, err := tr.ExperimentByName(ctx, "doomed"); err != nil || got.ID != e.ID {
		t.Errorf("a deleted experiment is not found by name: %+v, %v", got, err)
	}
	_, err = tr.CreateExperiment(ctx, "doomed", nil)
	wantErr(t, "create of a deleted experiment's name", err, run.ErrExists)
	if restored := setDeleted(false); restored.Deleted {
		t.Errorf("restored %+v", restored)
	}
}

func testExperimentFirstEdit(t *testing.T, s tracker.Store) {
	ctx := context.Background()
	tr := tracker.New(s, tracker.Options{})
	startIn(t, s, "r", "vision")
	v, err := tr.ExperimentByName(ctx, "vision")
	must(t, err)
	for _, id := range []string{"0", v.ID} {
		e, err := tr.EditExperiment(ctx, id, func(x *run.Experiment) error {
			x.Tags["k"] = "v"
			return nil
		})
		must(t, err)
		en, ok := listExperiments(t, s)[id]
		if !ok || en.Experiment == nil || !reflect.DeepEqual(*en.Experiment, e) {
			t.Errorf("experiment %s stored as %+v, want %+v", id, en, e)
		}
	}
	bad := []func(*run.Experiment){
		func(x *run.Experiment) { x.ID = "5" },
		func(x *run.Experiment) { x.Name = "" },
		func(x *run.Experiment) { x.Tags["bad\nkey"] = "v" },
	}
	for i, edit := range bad {
		if _, err := tr.EditExperiment(ctx, v.ID, func(x *run.Experiment) error { edit(x); return nil }); err == nil {
			t.Errorf("bad edit %d was taken", i)
		}
	}
}
