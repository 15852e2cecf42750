package tracker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/capture"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/secret"
)

// RerunOptions tune Rerun.
type RerunOptions struct {
	Name string // of the new run; "" for a generated one
	// Here runs the command in the user's work tree itself, with the old
	// run's exact source checked out there (Worktrees.EnterSource) and
	// everything git does not track still around it, instead of in a
	// temporary worktree; the work tree returns to its HEAD afterwards.
	Here bool
	// Confirm, when set, is shown what is about to run, once everything
	// from the record has been checked and just before the command
	// starts; an error from it stops the rerun with nothing run or
	// recorded. A run recorded elsewhere (Elsewhere) is not run without
	// it: a record fetched from someone else's repository names the
	// command.
	Confirm func(RerunPlan) error
	// Starting, when set, is told what runs, just before it starts.
	Starting func(RerunPlan)
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
	// Linked lists the files of the work tree that git ignores which
	// are linked into the temporary worktree (slash form, relative to
	// the top). Known when Starting is told; nil with Here.
	Linked []string
}

// RerunResult is how a rerun's command ended.
type RerunResult struct {
	capture.ExecResult
	// Missing is a file the command's output says it did not find,
	// when it failed: a file that only the user's work tree may hold.
	Missing string
}

// ErrNotConfirmed is returned by Rerun for a run recorded elsewhere when
// no Confirm option was given.
var ErrNotConfirmed = errors.New("what the run records was not confirmed")

// Rerun runs old's recorded command again, at its recorded source in a
// temporary linked worktree (the user's work tree is not touched), in
// its recorded directory, and records it as a new run that names old
// (rerun_of) and ran the same source. The files the user's work tree
// holds but git ignores (data, checkpoints, a virtualenv) are linked
// into the worktree (Worktrees.LinkIgnored), never copied nor recorded.
// It returns the new run's record with how the command ended.
//
// Everything the record gives that reaches git or a path is checked
// first (run.CheckSource), and the directory once more in the source
// checked out, where a symlink could lead it out of the worktree: such a
// run is refused, with nothing run or recorded.
func (t *Tracker) Rerun(ctx context.Context, old Run, o RerunOptions) (rec *run.Record, res RerunResult, err error) {
	src := old.Record.Source
	if err := checkRerun(old); err != nil {
		return nil, res, err
	}
	again := func(err error) error {
		return fmt.Errorf("run %s (%s) again: %w", short(old.ID), old.Record.Name, err)
	}
	w, err := t.worktrees()
	if err != nil {
		return nil, res, err
	}
	plan := RerunPlan{
		Command: old.Record.Command, SourceDir: src.Dir,
		Env:       []string{"GITRUNS_RUN=<the new run's id>"},
		Elsewhere: t.Elsewhere(old),
	}
	var top string
	if o.Here {
		// Asked before the work tree changes: a refusal leaves it as it is.
		top = w.Top()
		plan.Dir = filepath.Join(top, filepath.FromSlash(src.Dir))
		if err := t.confirm(old, plan, o); err != nil {
			return nil, res, err
		}
		leave, err := w.EnterSource(ctx, src)
		if err != nil {
			return nil, res, again(err)
		}
		defer func() {
			if lerr := leave(); lerr != nil {
				err = errors.Join(err, lerr)
			}
		}()
	} else {
		dir, remove, err := t.sourceWorktree(ctx, src)
		if err != nil {
			return nil, res, again(err)
		}
		defer remove()
		if plan.Linked, err = w.LinkIgnored(ctx, dir); err != nil {
			return nil, res, again(err)
		}
		top = dir
	}
	dir, err := insideTree(top, src.Dir)
	if err != nil {
		return nil, res, fmt.Errorf("run %s (%s) again: %w; refusing to run it", short(old.ID), old.Record.Name, err)
	}
	plan.Dir = dir
	if !o.Here {
		if err := t.confirm(old, plan, o); err != nil {
			return nil, res, err
		}
	}
	if o.Starting != nil {
		o.Starting(plan)
	}
	return t.runAgain(ctx, top, capture.ExecOptions{
		// The new run ran exactly the old one's code: it has the same
		// source, snapshot included, and no snapshot is taken where
		// it runs.
		Options: live.Options{Name: o.Name, Experiment: old.Record.Experiment, RerunOf: old.ID, SourceDir: src.Dir, Source: &src},
		Args:    old.Record.Command,
		Dir:     dir,
	})
}

// confirm asks o.Confirm about plan, and refuses a run recorded
// elsewhere without it.
func (t *Tracker) confirm(old Run, plan RerunPlan, o RerunOptions) error {
	switch {
	case o.Confirm != nil:
		return o.Confirm(plan)
	case plan.Elsewhere != "":
		return fmt.Errorf("run %s (%s) again: it was %s: %w", short(old.ID), old.Record.Name, plan.Elsewhere, ErrNotConfirmed)
	}
	return nil
}

// runAgain runs and records the command in the source tree at top, and
// reads back the new run and, when it failed, the file its output says
// was missing.
func (t *Tracker) runAgain(ctx context.Context, top string, opts capture.ExecOptions) (*run.Record, RerunResult, error) {
	er, err := capture.Exec(ctx, t.recorder, opts)
	res := RerunResult{ExecResult: er}
	if er.ID == "" {
		return nil, res, err
	}
	en, lerr := t.store.Load(ctx, er.ID)
	if lerr != nil {
		return nil, res, errors.Join(err, lerr)
	}
	if er.Status != run.Finished && en.Commit != "" {
		if out, oerr := t.store.Output(ctx, en.Commit); oerr == nil {
			res.Missing = relativeTo(top, MissingFile(out))
		}
	}
	return en.Record, res, err
}

// relativeTo names a path below top, where the source was checked out
// (a temporary directory the user never sees), by its place in the
// source: "data/x.csv" rather than "/tmp/git-runs-rerun-1/source/data/x.csv".
func relativeTo(top, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if rel, err := filepath.Rel(top, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return p
}

// LeaveSource returns the work tree from the source an interrupted
// Rerun with Here left checked out there (Worktrees.LeaveSource).
func (t *Tracker) LeaveSource(ctx context.Context) error {
	w, err := t.worktrees()
	if err != nil {
		return err
	}
	return w.LeaveSource(ctx)
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
