package tracker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
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

// RerunOptions tune Rerun.
type RerunOptions struct {
	Name string // of the new run; "" for a generated one
	// Here runs the command in the current work tree as it is, instead of
	// a temporary worktree holding the old run's exact source.
	Here bool
	// Confirm, when set, is shown what is about to run, once everything
	// from the record has been checked and just before the command
	// starts; an error from it stops the rerun with nothing run or
	// recorded. A run recorded elsewhere (Elsewhere) is not run without
	// it: a record fetched from someone else's repository names the
	// command.
	Confirm func(RerunPlan) error
	// Starting, when set, is told the directory the command runs in
	// before it starts.
	Starting func(dir string)
}

// RerunPlan is what Rerun is about to run.
type RerunPlan struct {
	Command []string // as recorded
	// Dir is the directory the command runs in: SourceDir of the
	// temporary worktree, or of the work tree with Here.
	Dir       string
	SourceDir string // as recorded, relative to the top of the source tree
	// Env is what the command's environment has beyond the caller's:
	// the variables Rerun sets. The recorded env is not set.
	Env []string
	// Elsewhere says where the run was recorded when not here, as
	// Tracker.Elsewhere does; "" for a run recorded here.
	Elsewhere string
}

// ErrNotConfirmed is returned by Rerun for a run recorded elsewhere when
// no Confirm option was given.
var ErrNotConfirmed = errors.New("what the run records was not confirmed")

// Rerun runs old's recorded command again, at its recorded source in a
// temporary linked worktree (the user's work tree is not touched), in
// its recorded directory, and records it as a new run that names old
// (rerun_of). It returns the new run's record with how the command ended.
//
// Everything the record gives that reaches git or a path is checked
// first (run.CheckSource), and the directory once more in the source
// checked out, where a symlink could lead it out of the worktree: such a
// run is refused, with nothing run or recorded.
func (t *Tracker) Rerun(ctx context.Context, old Run, o RerunOptions) (*run.Record, capture.ExecResult, error) {
	src := old.Record.Source
	if err := checkRerun(old); err != nil {
		return nil, capture.ExecResult{}, err
	}
	opts := capture.ExecOptions{
		Options: live.Options{Name: o.Name, Experiment: old.Record.Experiment, RerunOf: old.ID, SourceDir: src.Dir},
		Args:    old.Record.Command,
	}
	var top string
	if o.Here {
		w, err := t.worktrees()
		if err != nil {
			return nil, capture.ExecResult{}, err
		}
		top = w.Top()
	} else {
		dir, remove, err := t.sourceWorktree(ctx, src)
		if err != nil {
			return nil, capture.ExecResult{}, fmt.Errorf("run %s (%s) again: %w", short(old.ID), old.Record.Name, err)
		}
		defer remove()
		// The new run ran exactly the old one's code: it has the same
		// source, snapshot included.
		opts.Source = &src
		top = dir
	}
	dir, err := insideTree(top, src.Dir)
	if err != nil {
		return nil, capture.ExecResult{}, fmt.Errorf("run %s (%s) again: %w; refusing to run it", short(old.ID), old.Record.Name, err)
	}
	opts.Dir = dir
	plan := RerunPlan{
		Command: old.Record.Command, Dir: dir, SourceDir: src.Dir,
		Env:       []string{"GITRUNS_RUN=<the new run's id>"},
		Elsewhere: t.Elsewhere(old),
	}
	switch {
	case o.Confirm != nil:
		if err := o.Confirm(plan); err != nil {
			return nil, capture.ExecResult{}, err
		}
	case plan.Elsewhere != "":
		return nil, capture.ExecResult{}, fmt.Errorf("run %s (%s) again: it was %s: %w", short(old.ID), old.Record.Name, plan.Elsewhere, ErrNotConfirmed)
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

// Elsewhere says where r was recorded when it was not recorded here, in
// a few words ("fetched from origin", "recorded by bob@gpu-box"), and
// returns "" for a run recorded here: one never fetched (CameFrom) whose
// host and user are this machine's and this user's. Host and user are
// what the record says; what was fetched is what a fetch or a merge of
// git's own fetch brought, so a run that reached refs/runs/* by other
// means (a hand-made refspec) is told by its host and user alone.
func (t *Tracker) Elsewhere(r Run) string {
	if r.FetchedFrom != "" {
		return "fetched from " + r.FetchedFrom
	}
	if r.CameFrom != "" {
		return "fetched from " + r.CameFrom
	}
	h, here := r.Record.Host, live.ThisHost()
	if h.Hostname != here.Hostname || h.User != here.User {
		return "recorded by " + h.User + "@" + h.Hostname
	}
	return ""
}

// insideTree returns the directory rel (slash form, checked by
// run.ValidSourceDir) names in the tree at top, refusing one that is not
// a directory there or that a symlink leads out of it.
func insideTree(top, rel string) (string, error) {
	dir := filepath.Join(top, filepath.FromSlash(rel))
	realTop, err := filepath.EvalSymlinks(top)
	if err != nil {
		return "", fmt.Errorf("resolve source tree: %w", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("the source has no directory %q", rel)
	}
	r, err := filepath.Rel(realTop, real)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return "", fmt.Errorf("its directory %q leads out of its source tree, to %s", rel, real)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("the source has no directory %q", rel)
	}
	return dir, nil
}

// checkRerun refuses to run again a run whose command cannot be run
// again as recorded, or whose source would hand git or the file system
// something other than what it names (run.CheckSource): a run fetched
// from someone else's repository must not run anything outside the
// worktree made for it.
func checkRerun(old Run) error {
	rec := old.Record
	switch {
	case len(rec.Command) == 0:
		return fmt.Errorf("run %s (%s) recorded no command to run again", short(old.ID), rec.Name)
	case containsRedacted(rec.Command):
		return fmt.Errorf("run %s (%s) had secrets redacted from its command; run it again yourself", short(old.ID), rec.Name)
	}
	if err := run.CheckSource(rec.Source); err != nil {
		return fmt.Errorf("run %s (%s) records an %w; refusing to run it", short(old.ID), rec.Name, err)
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
