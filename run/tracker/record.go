package tracker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/capture"
	"github.com/gitruns/gitruns/run/live"
)

// Start begins a run, as live.Recorder.Start does.
func (t *Tracker) Start(ctx context.Context, o live.Options) (*live.Run, error) {
	return t.recorder.Start(ctx, o)
}

// Attach opens the live run that spec names, to log into it: a full run
// id is used as it is, without listing runs (git runs metric in a training
// loop pays for nothing else); any other RUN is resolved first. A run
// that is not live here is an error that says why: it ended, or it is
// running on another machine.
func (t *Tracker) Attach(ctx context.Context, spec string) (*live.Run, error) {
	id, err := t.runID(ctx, spec)
	if err != nil {
		return nil, err
	}
	lr, err := t.recorder.Attach(id)
	if !errors.Is(err, live.ErrNotLive) {
		return lr, err
	}
	en, lerr := t.store.Load(ctx, id)
	if lerr != nil {
		return nil, lerr
	}
	if en.Record.Status != run.Running {
		return nil, fmt.Errorf("run %s (%s) has %s already", short(id), en.Record.Name, en.Record.Status)
	}
	return nil, fmt.Errorf("run %s (%s) is running, but not on this machine", short(id), en.Record.Name)
}

// Tag sets tags of the run spec names, as EditTags does.
func (t *Tracker) Tag(ctx context.Context, spec string, tags map[string]string) error {
	return t.EditTags(ctx, spec, tags, nil)
}

// EditTags sets the tags set and removes the tags named by remove, of the
// run spec names: through its journal while it is recorded here, else by
// amending its committed record. Each edit is stamped with its time, by
// which it merges with edits of the same tag made on other clones. A run
// that runs on another machine is not ours to change.
func (t *Tracker) EditTags(ctx context.Context, spec string, set map[string]string, remove []string) error {
	set = maps.Clone(set)
	for k, v := range set {
		if err := run.ValidateKey("tag", k); err != nil {
			return err
		}
		if err := run.ValidateTagValue(k, v); err != nil {
			return err
		}
		// The journal redacts what it is given; an amended record is
		// redacted here.
		set[k] = live.RedactTag(k, v)
	}
	for _, k := range remove {
		if err := run.ValidateKey("tag", k); err != nil {
			return err
		}
		if _, ok := set[k]; ok {
			return fmt.Errorf("tag %q is both set and removed", k)
		}
	}
	id, err := t.runID(ctx, spec)
	if err != nil {
		return err
	}
	lr, err := t.Attach(ctx, id)
	if err == nil {
		return closeAfter(lr, editLive(lr, set, remove))
	}
	aerr := t.store.Amend(id, func(rec *run.Record) error {
		now := time.Now().UTC().Truncate(time.Millisecond)
		if rec.TagTimes == nil {
			rec.TagTimes = map[string]time.Time{}
		}
		for k, v := range set {
			rec.Tags[k], rec.TagTimes[k] = v, now
		}
		for _, k := range remove {
			delete(rec.Tags, k)
			rec.TagTimes[k] = now
		}
		return nil
	})
	if errors.Is(aerr, run.ErrLive) {
		return err // running elsewhere: Attach said so
	}
	return aerr
}

func editLive(lr *live.Run, set map[string]string, remove []string) error {
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if err := lr.SetTag(k, set[k]); err != nil {
			return err
		}
	}
	for _, k := range remove {
		if err := lr.RemoveTag(k); err != nil {
			return err
		}
	}
	return nil
}

// closeAfter closes an attached run whatever happened, keeping the first
// error.
func closeAfter(r *live.Run, err error) error {
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return err
}

// Exec runs a command and records it, as capture.Exec does. Unless set,
// the run's source directory is the command's (o.Dir, "" for the current
// one) relative to the top of the work tree, so that the run can be
// repeated there.
func (t *Tracker) Exec(ctx context.Context, o capture.ExecOptions) (capture.ExecResult, error) {
	if w, err := t.worktrees(); err == nil && o.SourceDir == "" {
		o.SourceDir = w.RelDir(o.Dir)
	}
	return capture.Exec(ctx, t.recorder, o)
}

// Checkout puts r's exact source into the work tree, or with branch
// creates that branch at it. A source that would hand git something
// other than object ids is refused (run.CheckSource); branch is the
// caller's, and must not look like an option.
func (t *Tracker) Checkout(ctx context.Context, r Run, branch string, force bool) error {
	if err := run.CheckSource(r.Record.Source); err != nil {
		return fmt.Errorf("run %s (%s) records an %w; refusing to check it out", short(r.ID), r.Record.Name, err)
	}
	w, err := t.worktrees()
	if err != nil {
		return err
	}
	return w.CheckoutSource(ctx, r.Record.Source, branch, force)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Rename gives the run spec names a new name: through its journal while
// it is recorded here, else by amending its record.
func (t *Tracker) Rename(ctx context.Context, spec, name string) error {
	if err := run.ValidateName(name); err != nil {
		return err
	}
	r, err := t.Get(ctx, spec)
	if err != nil {
		return err
	}
	if lr, err := t.recorder.Attach(r.ID); err == nil {
		return closeAfter(lr, lr.Rename(name))
	}
	return t.store.Amend(r.ID, func(rec *run.Record) error {
		rec.Name = name
		return nil
	})
}

// Top is the top of the work tree of the store's repository; "" when it
// has none.
func (t *Tracker) Top() string {
	if w, err := t.worktrees(); err == nil {
		return w.Top()
	}
	return ""
}

// RelDir returns dir relative to the top of the work tree, in slash
// form; "" for the top or a directory outside it.
func (t *Tracker) RelDir(dir string) string {
	if w, err := t.worktrees(); err == nil {
		return w.RelDir(dir)
	}
	return ""
}

// HasCommit tells whether the store holds code commit c.
func (t *Tracker) HasCommit(c string) bool {
	code, ok := t.code()
	if !ok || c == "" {
		return false
	}
	_, err := code.CodeTree(c)
	return err == nil
}
