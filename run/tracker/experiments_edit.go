package tracker

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/gitruns/gitruns/run"
)

// The calls below are what the command line and the Python package ask
// of experiments: one argument that may be an id or a name, and the
// edits MLflow offers (rename, delete, restore, tags), each with its
// rules here rather than in each client.

// ResolveExperiment returns the experiment that spec names: the one whose
// id it is, else the one whose current name it is (deleted or not). An id
// wins over a name that reads as one, so that an id always finds its
// experiment. The error wraps run.ErrNotFound and names spec.
func (t *Tracker) ResolveExperiment(ctx context.Context, spec string) (run.Experiment, error) {
	if spec == "" {
		return run.Experiment{}, run.NotFound("no experiment given")
	}
	if run.ValidExperimentID(spec) {
		e, err := t.Experiment(ctx, spec)
		if err == nil || !errors.Is(err, run.ErrNotFound) {
			return e, err
		}
	}
	e, err := t.ExperimentByName(ctx, spec)
	if errors.Is(err, run.ErrNotFound) {
		return run.Experiment{}, run.NotFound("no experiment %q (neither an id nor a name)", spec)
	}
	return e, err
}

// editResolved resolves spec and applies edit to that experiment, as
// EditExperiment does.
func (t *Tracker) editResolved(ctx context.Context, spec string, edit func(*run.Experiment) error) (run.Experiment, error) {
	e, err := t.ResolveExperiment(ctx, spec)
	if err != nil {
		return run.Experiment{}, err
	}
	return t.EditExperiment(ctx, e.ID, edit)
}

// RenameExperiment renames the experiment spec names (see
// ResolveExperiment) to name. Its runs stay in it: the old name joins its
// former names. A name another experiment claims fails with
// run.ErrExists.
func (t *Tracker) RenameExperiment(ctx context.Context, spec, name string) (run.Experiment, error) {
	if err := run.ValidateExperimentName(name); err != nil {
		return run.Experiment{}, err
	}
	return t.editResolved(ctx, spec, func(e *run.Experiment) error {
		if e.Name == name {
			return fmt.Errorf("rename experiment %s: it is already named %q", e.ID, name)
		}
		e.Name = name
		return nil
	})
}

// DeleteExperiment deletes the experiment spec names as MLflow's
// delete_experiment does: it is marked deleted and keeps its id, name and
// runs, and RestoreExperiment brings it back. Default cannot be deleted,
// as in MLflow, and deleting a deleted experiment is an error.
func (t *Tracker) DeleteExperiment(ctx context.Context, spec string) (run.Experiment, error) {
	return t.editResolved(ctx, spec, func(e *run.Experiment) error {
		switch {
		case e.ID == run.DefaultExperimentID:
			return fmt.Errorf("delete experiment %s: the Default experiment cannot be deleted", e.ID)
		case e.Deleted:
			return fmt.Errorf("delete experiment %s: %q is already deleted", e.ID, e.Name)
		}
		e.Deleted = true
		return nil
	})
}

// RestoreExperiment undoes DeleteExperiment; restoring an experiment
// that is not deleted is an error.
func (t *Tracker) RestoreExperiment(ctx context.Context, spec string) (run.Experiment, error) {
	return t.editResolved(ctx, spec, func(e *run.Experiment) error {
		if !e.Deleted {
			return fmt.Errorf("restore experiment %s: %q is not deleted", e.ID, e.Name)
		}
		e.Deleted = false
		return nil
	})
}

// TagExperiment sets tags on the experiment spec names and removes the
// tags remove names; a tag to remove that it lacks is an error, so that
// a misspelt key is not taken for done.
func (t *Tracker) TagExperiment(ctx context.Context, spec string, set map[string]string, remove []string) (run.Experiment, error) {
	if len(set) == 0 && len(remove) == 0 {
		return run.Experiment{}, errors.New("tag experiment: no tag to set or remove")
	}
	for _, k := range remove {
		if _, both := set[k]; both {
			return run.Experiment{}, fmt.Errorf("tag experiment: tag %q both set and removed", k)
		}
	}
	return t.editResolved(ctx, spec, func(e *run.Experiment) error {
		for _, k := range remove {
			if _, ok := e.Tags[k]; !ok {
				return run.NotFound("tag experiment %s: no tag %q", e.ID, k)
			}
			delete(e.Tags, k)
		}
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		maps.Copy(e.Tags, set)
		return nil
	})
}

// ExperimentRunCounts counts the runs of each experiment, by id, the runs
// put aside with SoftDelete left out, as listings leave them out.
func (t *Tracker) ExperimentRunCounts(ctx context.Context) (map[string]int, error) {
	rs, err := t.Runs(ctx)
	if err != nil {
		return nil, err
	}
	of, err := t.ExperimentResolver(ctx)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, r := range byDeleted(rs.All, HideDeleted) {
		counts[of(r.Record)]++
	}
	return counts, nil
}
