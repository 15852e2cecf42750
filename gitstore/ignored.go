package gitstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// linksFile, in a linked worktree's own git dir, lists (one a line, slash
// form) the links LinkIgnored made there, so that a snapshot taken in
// that worktree leaves them out: they point at the user's files, which
// git ignores in the user's tree but not as symlinks (git's "data/"
// matches a directory only, and a symlink is not one).
const linksFile = "gitruns-links"

// LinkIgnored makes the files git ignores in the user's work tree (data
// sets, checkpoints, virtualenvs) visible in the worktree at dir, which
// holds another version of the same code: each top-most ignored entry,
// as git ls-files reports it, becomes a symlink there to the original.
// Links cost nothing whatever the size, and what a command writes
// through them lands in the user's tree, where it outlives the worktree.
//
// An entry whose place the worktree's own source already takes is not
// linked, so a tracked file is never shadowed; where both are
// directories, the entry's children are linked into the worktree's one
// instead. __pycache__ directories are left out: they cache compiled
// code of the user's version. Nothing is linked through a symlink of the
// worktree's source, which could lead anywhere. It returns the paths it
// linked, relative to the top and in slash form, and records them in the
// worktree's git dir for snapshots to leave out.
func (r *Repo) LinkIgnored(ctx context.Context, dir string) ([]string, error) {
	if r.WorkTree == "" {
		return nil, nil
	}
	entries, err := r.ignoredEntries(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ignored files: %w", err)
	}
	var linked []string
	for _, p := range entries {
		l, err := linkEntry(r.WorkTree, dir, p)
		if err != nil {
			return linked, fmt.Errorf("link ignored files: %w", err)
		}
		linked = append(linked, l...)
	}
	if len(linked) == 0 {
		return nil, nil
	}
	if err := recordLinks(dir, linked); err != nil {
		return linked, fmt.Errorf("link ignored files: %w", err)
	}
	return linked, nil
}

// ignoredEntries lists the top-most ignored files and directories of the
// work tree, slash form, without trailing slashes, sorted.
func (r *Repo) ignoredEntries(ctx context.Context) ([]string, error) {
	out, err := runGit(ctx, r.WorkTree, r.gitEnv("GIT_OPTIONAL_LOCKS=0"), nil,
		"ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z")
	if err != nil {
		return nil, err
	}
	var all []string
	for _, p := range bytes.Split(out, []byte{0}) {
		if s := strings.TrimSuffix(string(p), "/"); s != "" && linkable(s) {
			all = append(all, s)
		}
	}
	slices.Sort(all)
	// git lists a directory of ignored files as well as the files in it
	// ("x/" and "x/y.log"): the directory's link covers them.
	var top []string
	for _, p := range all {
		if n := len(top); n > 0 && strings.HasPrefix(p, top[n-1]+"/") {
			continue
		}
		top = append(top, p)
	}
	return top, nil
}

// linkable refuses paths that must not be linked: any with a .git
// component (the worktree's own, or a nested repository's), "." or ".."
// (never from git, refused all the same), and __pycache__ directories.
func linkable(p string) bool {
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".", "..", ".git":
			return false
		}
	}
	return path.Base(p) != "__pycache__"
}

// linkEntry links the user's top/p into the worktree at wt, or when both
// hold a directory there, p's children into the worktree's directory.
func linkEntry(top, wt, p string) ([]string, error) {
	ok, err := realParents(wt, p)
	if err != nil || !ok {
		return nil, err
	}
	orig := filepath.Join(top, filepath.FromSlash(p))
	place := filepath.Join(wt, filepath.FromSlash(p))
	fi, err := os.Lstat(place)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Symlink(orig, place); err != nil {
			return nil, err
		}
		return []string{p}, nil
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, nil // the source's own file (or symlink) stays
	}
	if ofi, err := os.Lstat(orig); err != nil || !ofi.IsDir() {
		return nil, nil
	}
	children, err := os.ReadDir(orig)
	if err != nil {
		return nil, err
	}
	var linked []string
	for _, c := range children {
		q := p + "/" + c.Name()
		if !linkable(q) {
			continue
		}
		l, err := linkEntry(top, wt, q)
		if err != nil {
			return linked, err
		}
		linked = append(linked, l...)
	}
	return linked, nil
}

// realParents makes the parent directories of p in the worktree at wt
// that are missing, and reports whether every one is a real directory:
// a link under a symlink of the source could land anywhere.
func realParents(wt, p string) (bool, error) {
	dir := wt
	parts := strings.Split(p, "/")
	for _, c := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, c)
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(dir, 0o755); err != nil {
				return false, err
			}
		case err != nil:
			return false, err
		case !fi.IsDir():
			return false, nil
		}
	}
	return true, nil
}

// recordLinks writes the links made in the worktree at dir to its git
// dir, which its .git file names.
func recordLinks(dir string, linked []string) error {
	gitDir, err := worktreeGitDir(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(gitDir, linksFile), []byte(strings.Join(linked, "\n")+"\n"), 0o644)
}

// worktreeGitDir reads the git dir of the linked worktree at dir from
// its .git file.
func worktreeGitDir(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".git"))
	if err != nil {
		return "", fmt.Errorf("read worktree's .git: %w", err)
	}
	g, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
	if !ok {
		return "", fmt.Errorf("read worktree's .git: not a gitdir file")
	}
	g = strings.TrimSpace(g)
	if !filepath.IsAbs(g) {
		g = filepath.Join(dir, g)
	}
	return g, nil
}

// madeLinks returns the links LinkIgnored made in this worktree, as a
// set; nil in any other.
func (r *Repo) madeLinks() map[string]bool {
	b, err := os.ReadFile(filepath.Join(r.GitDir, linksFile))
	if err != nil {
		return nil
	}
	set := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			set[l] = true
		}
	}
	return set
}
