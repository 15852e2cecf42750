package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitruns/gitruns/run"
)

// ErrDirty is returned when an operation that rewrites the work tree finds
// uncommitted changes there.
var ErrDirty = errors.New("the work tree has uncommitted changes; commit or stash them first, or use --force")

// WorkTreeDirty reports whether the work tree has changes git would
// report: tracked files changed, or untracked files that are not ignored.
func (r *Repo) WorkTreeDirty(ctx context.Context) (bool, error) {
	if r.WorkTree == "" {
		return false, nil
	}
	out, err := runGit(ctx, r.WorkTree, r.gitEnv("GIT_OPTIONAL_LOCKS=0"), nil, "status", "--porcelain", "-z", "--untracked-files=normal")
	if err != nil {
		return false, err
	}
	return len(out) > 0, nil
}

// CheckoutSource puts the exact source of a run into the work tree: HEAD
// moves to the run's code commit (detached, unless the current branch is
// already there) and, when the run was dirty, the snapshot's files are
// restored on top without touching the index, so that git status shows
// the run's uncommitted changes as uncommitted again. With branch set it
// instead creates that branch at the snapshot (or code) commit and
// switches to it. Uncommitted changes in the work tree make it refuse,
// with ErrDirty, unless force, which discards them.
func (r *Repo) CheckoutSource(ctx context.Context, src run.Source, branch string, force bool) error {
	if r.WorkTree == "" {
		return errors.New("check out run: a bare repository has no work tree")
	}
	if err := r.checkSource(ctx, src); err != nil {
		return fmt.Errorf("check out run: %w", err)
	}
	if strings.HasPrefix(branch, "-") {
		return fmt.Errorf("check out run: invalid branch name %q", branch)
	}
	if !force {
		dirty, err := r.WorkTreeDirty(ctx)
		if err != nil {
			return err
		}
		if dirty {
			return ErrDirty
		}
	}
	env := r.gitEnv()
	if branch != "" {
		target := src.Commit
		if src.Dirty {
			target = src.Snapshot
		}
		if target == "" {
			return errors.New("check out run: the run has no commit to start a branch at")
		}
		args := []string{"checkout", "-q", "-b", branch, target}
		if force {
			args = []string{"checkout", "-q", "-f", "-b", branch, target}
		}
		_, err := runGit(ctx, r.WorkTree, env, nil, args...)
		return err
	}
	if src.Commit != "" {
		head, _, err := r.headCommit()
		if err != nil {
			return err
		}
		switch {
		case head.String() == src.Commit && force:
			_, err = runGit(ctx, r.WorkTree, env, nil, "reset", "-q", "--hard")
		case head.String() == src.Commit:
			// Already there: nothing to move.
		case force:
			_, err = runGit(ctx, r.WorkTree, env, nil, "checkout", "-q", "-f", "--detach", src.Commit)
		default:
			_, err = runGit(ctx, r.WorkTree, env, nil, "checkout", "-q", "--detach", src.Commit)
		}
		if err != nil {
			return err
		}
	}
	if src.Dirty && src.Snapshot != "" {
		return r.restoreSnapshot(ctx, r.WorkTree, env, src.Snapshot)
	}
	return nil
}

// restoreSnapshot writes the snapshot's files into the work tree at dir
// without touching the index: changed files show as modified, new ones as
// untracked, removed ones as deleted, exactly as when the run began.
func (r *Repo) restoreSnapshot(ctx context.Context, dir string, env []string, snapshot string) error {
	_, err := runGit(ctx, dir, env, nil, "restore", "--source="+snapshot, "--worktree", "--", ":/")
	return err
}

// SourceWorktree creates a temporary linked worktree at dir holding the
// exact source of a run, for running it again without touching the
// user's work tree. remove deletes it.
func (r *Repo) SourceWorktree(ctx context.Context, src run.Source, dir string) (remove func() error, err error) {
	if err := r.checkSource(ctx, src); err != nil {
		return nil, fmt.Errorf("prepare source: %w", err)
	}
	target := src.Commit
	if target == "" {
		target = src.Snapshot
	}
	if target == "" {
		return nil, errors.New("prepare source: the run has no commit")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	env := r.gitEnv()
	base := r.WorkTree
	if base == "" {
		base = r.CommonDir
	}
	if _, err := runGit(ctx, base, env, nil, "worktree", "add", "-q", "--detach", abs, target); err != nil {
		return nil, err
	}
	remove = func() error {
		// Removed even when the caller's context has ended.
		_, err := runGit(context.Background(), base, r.gitEnv(), nil, "worktree", "remove", "--force", abs)
		if err != nil {
			os.RemoveAll(abs)
			runGit(context.Background(), base, r.gitEnv(), nil, "worktree", "prune")
		}
		return err
	}
	if src.Commit != "" && src.Dirty && src.Snapshot != "" {
		wt, err := Open(abs)
		if err != nil {
			remove()
			return nil, err
		}
		defer wt.Close()
		if err := wt.restoreSnapshot(ctx, abs, wt.gitEnv(), src.Snapshot); err != nil {
			remove()
			return nil, fmt.Errorf("prepare source: %w", err)
		}
	}
	return remove, nil
}

// RelDir returns dir (the current directory when "") relative to the top
// of the work tree, in slash form: "" for the top itself or for a
// directory outside the work tree.
func (r *Repo) RelDir(dir string) string {
	if r.WorkTree == "" {
		return ""
	}
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return ""
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	top := r.WorkTree
	if real, err := filepath.EvalSymlinks(top); err == nil {
		top = real
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

// checkSource refuses a recorded source that would hand git anything but
// the commits it names (run.CheckSource: a run fetched from someone
// else's repository could otherwise hand git an option, "--orphan=x", or
// a ref name where a commit belongs), or whose commits are not commits of
// this repository, so that git is never asked to check out a tree, a
// blob or nothing.
func (r *Repo) checkSource(ctx context.Context, src run.Source) error {
	if err := run.CheckSource(src); err != nil {
		return err
	}
	for _, c := range []string{src.Commit, src.Snapshot} {
		if c == "" {
			continue
		}
		out, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "cat-file", "-t", c)
		if err != nil || strings.TrimSpace(string(out)) != "commit" {
			return fmt.Errorf("the run's source %s is not a commit of this repository", c)
		}
	}
	return nil
}

// Top is the top of the work tree; "" in a bare repository.
func (r *Repo) Top() string { return r.WorkTree }
