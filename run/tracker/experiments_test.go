package tracker_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/memstore"
	"github.com/gitruns/gitruns/run/tracker"
)

// implicitID is the rule of docs/FORMAT.md for the id of an implicit
// experiment, written out again.
func implicitID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return strconv.FormatUint(1e17+binary.BigEndian.Uint64(sum[:8])%9e17, 10)
}

func store(t *testing.T, s *memstore.Store, id, name string, created time.Time, former ...string) {
	t.Helper()
	e := &run.Experiment{ID: id, Name: name, Former: former, Created: created, Updated: created}
	if _, err := s.SaveExperiment(ctx, e, ""); err != nil {
		t.Fatal(err)
	}
}

func experimentOf(t *testing.T, tr *tracker.Tracker, name string) string {
	t.Helper()
	id, err := tr.ExperimentOf(ctx, &run.Record{Experiment: name})
	must(t, err)
	return id
}

func TestExperimentOfNames(t *testing.T) {
	tr, s := newTracker(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	store(t, s, "7", "renamed", at, "was")
	store(t, s, "8", "was", at.Add(time.Hour)) // made elsewhere before the rename reached it
	for name, want := range map[string]string{
		"": "0", "default": "0", "Default": "0",
		"renamed": "7", "was": "8", // a current name beats a former one
		"vision": implicitID("vision"),
	} {
		if got := experimentOf(t, tr, name); got != want {
			t.Errorf("a run recorded under %q is in %q, want %q", name, got, want)
		}
	}
	of, err := tr.ExperimentResolver(ctx)
	must(t, err)
	if got := of(&run.Record{Experiment: "renamed"}); got != "7" {
		t.Errorf("resolver: %q", got)
	}
}

func TestExperimentsOrderAndDuplicates(t *testing.T) {
	tr, s := newTracker(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	store(t, s, "100", "dup", at)
	store(t, s, "99", "dup", at) // same time: the smaller number wins
	store(t, s, "5", "dup", at.Add(time.Minute))
	store(t, s, "6", "newest", at.Add(time.Hour))
	exps, err := tr.Experiments(ctx)
	must(t, err)
	var got []string
	for _, e := range exps {
		got = append(got, e.ID)
	}
	if fmt.Sprint(got) != "[6 5 99 100 0]" {
		t.Errorf("order %v, want created last first, then by number, Default (never created) last", got)
	}
	e, err := tr.ExperimentByName(ctx, "dup")
	if err != nil || e.ID != "99" {
		t.Errorf("by name: %+v, %v; want the oldest, 99", e, err)
	}
	if id := experimentOf(t, tr, "dup"); id != "99" {
		t.Errorf("runs of dup are in %s, want 99", id)
	}
	_, err = tr.Experiment(ctx, "not-a-number")
	if !errors.Is(err, run.ErrNotFound) {
		t.Errorf("Experiment of a bad id: %v", err)
	}
}

func TestEditExperimentKeepsFormerNames(t *testing.T) {
	tr, _ := newTracker(t)
	e, err := tr.CreateExperiment(ctx, "first", nil)
	must(t, err)
	e, err = tr.EditExperiment(ctx, e.ID, func(x *run.Experiment) error {
		x.Name, x.Former, x.Created = "second", nil, time.Time{}
		return nil
	})
	must(t, err)
	if e.Name != "second" || !e.Claims("first") || e.Created.IsZero() {
		t.Errorf("edited %+v, want the former name and creation time kept", e)
	}
}

// TestConcurrentExperimentEdits has goroutines tag one experiment at once:
// the compare-and-swap loop keeps every tag.
func TestConcurrentExperimentEdits(t *testing.T) {
	tr, _ := newTracker(t)
	e, err := tr.CreateExperiment(ctx, "busy", nil)
	must(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_, err := tr.EditExperiment(ctx, e.ID, func(x *run.Experiment) error {
				x.Tags[fmt.Sprint("k", i)] = "v"
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := tr.Experiment(ctx, e.ID)
	must(t, err)
	if len(got.Tags) != 8 {
		t.Errorf("tags %v, want all 8", got.Tags)
	}
}

// plainStore is a store without the ExperimentStore ability.
type plainStore struct{ tracker.Store }

func TestExperimentsWithoutTheAbility(t *testing.T) {
	s := memstore.New(t.TempDir())
	tr := tracker.New(plainStore{s}, tracker.Options{})
	exps, err := tr.Experiments(ctx)
	if err != nil || len(exps) != 1 || exps[0].ID != "0" {
		t.Errorf("experiments %+v, %v; want Default", exps, err)
	}
	if _, err := tr.CreateExperiment(ctx, "x", nil); err == nil {
		t.Error("created an experiment in a store that keeps none")
	}
}
