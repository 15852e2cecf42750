package tracker

import (
	"context"
	"errors"
	"time"

	"github.com/gitruns/gitruns/run"
)

// deleteAttempts bounds how often deleting a live run is tried again while
// its recorder moves it.
const deleteAttempts = 8

// Delete removes runs, each once, and returns those it removed, in order.
// A run being recorded here is refused with an error wrapping run.ErrLive
// unless force, and then nothing is removed. With force, a live run's
// journal goes first, so that its writers stop at their next commit and
// no recovery brings it back, and the run is deleted wherever its
// recorder moved it meanwhile. A run that is not live is deleted only if
// it is still at the commit it was listed with: an error wrapping
// run.ErrConflict says it changed since.
func (t *Tracker) Delete(ctx context.Context, runs []Run, force bool) ([]Run, error) {
	todo, err := Deletable(runs, force)
	if err != nil {
		return nil, err
	}
	for i, r := range todo {
		if err := t.delete(r); err != nil {
			return todo[:i], err
		}
	}
	return todo, nil
}

// Deletable returns the runs Delete would remove, each once, or the error
// with which it would refuse them all.
func Deletable(runs []Run, force bool) ([]Run, error) {
	var todo []Run
	seen := map[string]bool{}
	for _, r := range runs {
		if r.Live && !force {
			return nil, run.Live("run %s (%s) is still running; end it first, or use --force", short(r.ID), r.Record.Name)
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			todo = append(todo, r)
		}
	}
	return todo, nil
}

// delete removes one run, as Delete says.
func (t *Tracker) delete(r Run) error {
	if !r.Live {
		return t.store.Delete(r.ID, r.Commit)
	}
	if err := t.recorder.Discard(r.ID); err != nil {
		return err
	}
	head := r.Commit
	for try := 1; ; try++ {
		err := t.store.Delete(r.ID, head)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, run.ErrNotFound) && r.Commit == "":
			return nil // never committed: its journal was all there was
		case !errors.Is(err, run.ErrConflict) || try == deleteAttempts:
			return err
		}
		if head, err = t.store.Head(r.ID); err != nil {
			return err
		}
	}
}

// DeleteRemote deletes runs here, as Delete does, and then on remote: the
// tombstones Delete leaves are pushed, and the runs the remote has are
// deleted there, after a fetch so that its copies are known. It returns
// the runs deleted here and what the push did.
func (t *Tracker) DeleteRemote(ctx context.Context, remote string, runs []Run, force bool) ([]Run, *run.PushReport, error) {
	if _, err := t.syncer(); err != nil {
		return nil, nil, err
	}
	deleted, err := t.Delete(ctx, runs, force)
	if err != nil {
		return deleted, nil, err
	}
	if _, err := t.Fetch(ctx, remote, nil); err != nil {
		return deleted, nil, err
	}
	if len(deleted) == 0 {
		return deleted, &run.PushReport{}, nil
	}
	rep, err := t.Push(ctx, remote, deleted, PushOptions{AllowSecrets: true}) // tombstones only
	return deleted, rep, err
}

// SoftDelete puts the run spec names aside, as MLflow deletes a run: it
// keeps everything, is left out of queries unless asked for
// (Query.Deleted), and comes back with Restore. It is a tag
// (run.DeletedTag), so it travels and merges as tags do.
func (t *Tracker) SoftDelete(ctx context.Context, spec string) error {
	now := time.Now().UTC().Format(time.RFC3339)
	return t.EditTags(ctx, spec, map[string]string{run.DeletedTag: now}, nil)
}

// Restore brings back a run put aside with SoftDelete.
func (t *Tracker) Restore(ctx context.Context, spec string) error {
	return t.EditTags(ctx, spec, nil, []string{run.DeletedTag})
}
