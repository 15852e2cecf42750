package tracker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/capture"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/secret"
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
	id := spec
	if !run.ValidID(spec) {
		rs, err := t.Runs(ctx)
		if err != nil {
			return nil, err
		}
		r, err := rs.Resolve(spec)
		if err != nil {
			return nil, err
		}
		id = r.ID
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
		return nil, fmt.Errorf("run %s (%s) has %s; its params, metrics and artifacts cannot change", short(id), en.Record.Name, en.Record.Status)
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
	for k, v := range set {
		if err := run.ValidateKey("tag", k); err != nil {
			return err
		}
		if err := run.ValidateTagValue(k, v); err != nil {
			return err
		}
	}
	for _, k := range remove {
		if err := run.ValidateKey("tag", k); err != nil {
			return err
		}
		if _, ok := set[k]; ok {
			return fmt.Errorf("tag %q is both set and removed", k)
		}
	}
	id := spec
	if !run.ValidID(spec) {
		rs, err := t.Runs(ctx)
		if err != nil {
			return err
		}
		r, err := rs.Resolve(spec)
		if err != nil {
			return err
		}
		id = r.ID
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

// RerunOptions tune Rerun.
type RerunOptions struct {
	Name string // of the new run; "" for a generated one
	// Here runs the command in the current work tree as it is, instead of
	// a temporary worktree holding the old run's exact source.
	Here bool
	// Starting, when set, is told the directory the command runs in
	// before it starts.
	Starting func(dir string)
}

// Rerun runs old's recorded command again, at its recorded source in a
// temporary linked worktree (the user's work tree is not touched), in
// its recorded directory, and records it as a new run that names old
// (rerun_of). It returns the new run's record with how the command ended.
func (t *Tracker) Rerun(ctx context.Context, old Run, o RerunOptions) (*run.Record, capture.ExecResult, error) {
	src := old.Record.Source
	if err := checkRerun(old); err != nil {
		return nil, capture.ExecResult{}, err
	}
	opts := capture.ExecOptions{
		Options: live.Options{Name: o.Name, Experiment: old.Record.Experiment, RerunOf: old.ID, SourceDir: src.Dir},
		Args:    old.Record.Command,
	}
	if o.Here {
		w, err := t.worktrees()
		if err != nil {
			return nil, capture.ExecResult{}, err
		}
		opts.Dir = filepath.Join(w.Top(), filepath.FromSlash(src.Dir))
	} else {
		dir, remove, err := t.sourceWorktree(ctx, src)
		if err != nil {
			return nil, capture.ExecResult{}, err
		}
		defer remove()
		// The new run ran exactly the old one's code: it has the same
		// source, snapshot included.
		opts.Source = &src
		opts.Dir = filepath.Join(dir, filepath.FromSlash(src.Dir))
	}
	if o.Starting != nil {
		o.Starting(opts.Dir)
	}
	res, err := capture.Exec(ctx, t.recorder, opts)
	if res.ID == "" {
		return nil, res, err
	}
	en, lerr := t.store.Load(ctx, res.ID)
	if lerr != nil {
		return nil, res, errors.Join(err, lerr)
	}
	return en.Record, res, err
}

// checkRerun refuses to run again a run whose command cannot be run
// again as recorded, or whose recorded directory would lead the command
// out of its source tree: a run fetched from someone else's repository
// must not run anything outside the worktree made for it.
func checkRerun(old Run) error {
	rec := old.Record
	switch {
	case len(rec.Command) == 0:
		return fmt.Errorf("run %s (%s) recorded no command to run again", short(old.ID), rec.Name)
	case containsRedacted(rec.Command):
		return fmt.Errorf("run %s (%s) had secrets redacted from its command; run it again yourself", short(old.ID), rec.Name)
	}
	if d := rec.Source.Dir; d != "" && (path.IsAbs(d) || strings.HasPrefix(d, "/") || path.Clean(d) != d || d == ".." || strings.HasPrefix(d, "../") || strings.ContainsRune(d, '\\')) {
		return fmt.Errorf("run %s (%s) records the directory %q, which is not inside its source tree; refusing to run it", short(old.ID), rec.Name, d)
	}
	return nil
}

func containsRedacted(args []string) bool {
	for _, a := range args {
		if strings.Contains(a, secret.Redacted) {
			return true
		}
	}
	return false
}

// sourceWorktree makes a temporary worktree holding src, and returns its
// top and the function that removes it.
func (t *Tracker) sourceWorktree(ctx context.Context, src run.Source) (string, func(), error) {
	w, err := t.worktrees()
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "git-runs-rerun-")
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(tmp, "source")
	remove, err := w.SourceWorktree(ctx, src, dir)
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return dir, func() { remove(); os.RemoveAll(tmp) }, nil
}

// Checkout puts r's exact source into the work tree, or with branch
// creates that branch at it.
func (t *Tracker) Checkout(ctx context.Context, r Run, branch string, force bool) error {
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
