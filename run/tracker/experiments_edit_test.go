package tracker_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

func TestResolveExperimentByIDOrName(t *testing.T) {
	tr, _ := newTracker(t)
	churn, err := tr.CreateExperiment(ctx, "churn", nil)
	must(t, err)
	// A name that reads as an id: the id wins, and the name still finds
	// its own experiment when no id is that number.
	numeric, err := tr.CreateExperiment(ctx, churn.ID, nil)
	must(t, err)
	named, err := tr.CreateExperiment(ctx, "42", nil)
	must(t, err)
	for spec, want := range map[string]string{
		"churn": churn.ID, churn.ID: churn.ID, "42": named.ID,
		"0": "0", "Default": "0", numeric.ID: numeric.ID,
	} {
		e, err := tr.ResolveExperiment(ctx, spec)
		if err != nil || e.ID != want {
			t.Errorf("%q resolves to %q, %v; want %q", spec, e.ID, err, want)
		}
	}
	for _, spec := range []string{"nope", "123", ""} {
		if _, err := tr.ResolveExperiment(ctx, spec); !errors.Is(err, run.ErrNotFound) {
			t.Errorf("%q: %v, want not found", spec, err)
		}
	}
}

func TestExperimentEditsByIDOrName(t *testing.T) {
	tr, _ := newTracker(t)
	e, err := tr.CreateExperiment(ctx, "churn", map[string]string{"team": "growth"})
	must(t, err)
	_, err = tr.CreateExperiment(ctx, "other", nil)
	must(t, err)

	got, err := tr.RenameExperiment(ctx, "churn", "churn-v2")
	must(t, err)
	if got.ID != e.ID || got.Name != "churn-v2" || !reflect.DeepEqual(got.Former, []string{"churn"}) {
		t.Errorf("renamed: %+v", got)
	}
	if _, err := tr.RenameExperiment(ctx, e.ID, "other"); !errors.Is(err, run.ErrExists) {
		t.Errorf("rename onto another's name: %v, want exists", err)
	}
	if _, err := tr.RenameExperiment(ctx, e.ID, "churn-v2"); err == nil {
		t.Error("rename to its own name: no error")
	}

	got, err = tr.TagExperiment(ctx, e.ID, map[string]string{"stage": "prod"}, []string{"team"})
	must(t, err)
	if !reflect.DeepEqual(got.Tags, map[string]string{"stage": "prod"}) {
		t.Errorf("tags %v", got.Tags)
	}
	if _, err := tr.TagExperiment(ctx, e.ID, nil, []string{"team"}); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("remove a tag it lacks: %v", err)
	}
	if _, err := tr.TagExperiment(ctx, e.ID, map[string]string{"a": "1"}, []string{"a"}); err == nil {
		t.Error("set and remove one tag: no error")
	}

	got, err = tr.DeleteExperiment(ctx, "churn-v2")
	must(t, err)
	if !got.Deleted {
		t.Errorf("deleted: %+v", got)
	}
	if _, err := tr.DeleteExperiment(ctx, e.ID); err == nil || !strings.Contains(err.Error(), "already deleted") {
		t.Errorf("delete twice: %v", err)
	}
	// A deleted experiment keeps its name: it is still found by it.
	if r, err := tr.ResolveExperiment(ctx, "churn-v2"); err != nil || r.ID != e.ID {
		t.Errorf("deleted, by name: %+v, %v", r, err)
	}
	got, err = tr.RestoreExperiment(ctx, "churn-v2")
	must(t, err)
	if got.Deleted {
		t.Errorf("restored: %+v", got)
	}
	if _, err := tr.RestoreExperiment(ctx, e.ID); err == nil || !strings.Contains(err.Error(), "not deleted") {
		t.Errorf("restore an active one: %v", err)
	}
	if _, err := tr.DeleteExperiment(ctx, "Default"); err == nil || !strings.Contains(err.Error(), "cannot be deleted") {
		t.Errorf("delete Default: %v", err)
	}
	if _, err := tr.DeleteExperiment(ctx, "nope"); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("delete none: %v", err)
	}

	// None of the refused edits changed it.
	final, err := tr.Experiment(ctx, e.ID)
	must(t, err)
	if final.Name != "churn-v2" || final.Deleted || !reflect.DeepEqual(final.Tags, map[string]string{"stage": "prod"}) {
		t.Errorf("after refused edits: %+v", final)
	}
}

func TestExperimentRunCounts(t *testing.T) {
	tr, _ := newTracker(t)
	e, err := tr.CreateExperiment(ctx, "churn", nil)
	must(t, err)
	for _, exp := range []string{"churn", "churn", "", "vision"} {
		r, err := tr.Start(ctx, live.Options{Experiment: exp})
		must(t, err)
		must(t, r.End(run.Finished))
	}
	// Runs recorded under the old name stay counted after a rename.
	_, err = tr.RenameExperiment(ctx, "churn", "churn-v2")
	must(t, err)
	counts, err := tr.ExperimentRunCounts(ctx)
	must(t, err)
	vision, err := tr.ResolveExperiment(ctx, "vision")
	must(t, err)
	want := map[string]int{e.ID: 2, run.DefaultExperimentID: 1, vision.ID: 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	rs, err := tr.Runs(ctx)
	must(t, err)
	for _, r := range rs.All {
		if r.Record.Experiment == "vision" {
			must(t, tr.SoftDelete(ctx, r.ID))
		}
	}
	counts, err = tr.ExperimentRunCounts(ctx)
	must(t, err)
	if counts[vision.ID] != 0 {
		t.Errorf("a run put aside is counted: %v", counts)
	}
}
