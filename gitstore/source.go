package gitstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/secret"
)

var errNoGit = errors.New("git-runs needs git on PATH")

// minGit is the oldest git whose commands and options this package uses
// (status --porcelain=v2, add --pathspec-from-file, GIT_OPTIONAL_LOCKS).
var minGit = [2]int{2, 30}

var checkGit = sync.OnceValue(func() error {
	out, err := exec.Command("git", "version").Output()
	if err != nil {
		return errNoGit
	}
	// "git version 2.39.5", "git version 2.39.5 (Apple Git-143)",
	// "git version 2.39.5.windows.1"
	v := strings.TrimSpace(string(out))
	fields := strings.Fields(v)
	if len(fields) >= 3 {
		v = fields[2]
	}
	parts := strings.SplitN(v, ".", 3)
	var major, minor int
	if len(parts) >= 2 {
		major, _ = strconv.Atoi(parts[0])
		minor, _ = strconv.Atoi(parts[1])
	}
	if major < minGit[0] || major == minGit[0] && minor < minGit[1] {
		return fmt.Errorf("git-runs needs git %d.%d or newer (found %s)", minGit[0], minGit[1], v)
	}
	return nil
})

// CheckGit reports whether a usable git (2.30 or newer) is on PATH. The
// answer is worked out once per process.
func CheckGit() error {
	return checkGit()
}

// headCommit returns the commit HEAD points at and the branch it is on. On an
// unborn branch the commit is the zero hash; with a detached HEAD the
// branch is "".
func (r *Repo) headCommit() (commit plumbing.Hash, branch string, err error) {
	b, err := os.ReadFile(filepath.Join(r.GitDir, "HEAD"))
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("read HEAD: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if target, ok := strings.CutPrefix(s, "ref:"); ok {
		target = strings.TrimSpace(target)
		branch = strings.TrimPrefix(target, "refs/heads/")
		h, err := r.ReadRef(target)
		if errors.Is(err, errNotFound) {
			return plumbing.ZeroHash, branch, nil
		}
		if err != nil {
			return plumbing.ZeroHash, "", fmt.Errorf("read HEAD: %w", err)
		}
		return h, branch, nil
	}
	var h plumbing.Hash
	if !decodeHex(h[:], s) {
		return plumbing.ZeroHash, "", fmt.Errorf("read HEAD: invalid content %q", s)
	}
	return h, "", nil
}

// headTree returns the tree of HEAD's commit; zero on an unborn branch.
func (r *Repo) headTree() (plumbing.Hash, error) {
	h, _, err := r.headCommit()
	if err != nil || h.IsZero() {
		return plumbing.ZeroHash, err
	}
	c, err := r.ReadCommit(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return c.TreeHash, nil
}

// SnapshotWorkTree returns a tree holding the work tree as it is: tracked
// files with their current content and untracked files that are not
// ignored. When nothing differs from HEAD, that is HEAD's tree and dirty is
// false. Left out, and listed in skipped (repository-relative,
// slash-separated), are untracked files larger than maxUntracked bytes (a
// negative maxUntracked sets no limit) and files whose names say they
// hold secrets (secret.IsSecretFile: .env, id_rsa, credentials.json, ...),
// untracked or changed: a changed tracked one keeps its committed content
// in the snapshot. Submodules are recorded as the commit they have checked
// out. The user's index is not touched: the snapshot is built in a
// temporary copy of it. A bare repository is always clean.
func (r *Repo) SnapshotWorkTree(ctx context.Context, maxUntracked int64) (tree plumbing.Hash, dirty bool, skipped []string, err error) {
	s, err := r.snapshot(ctx, func() int64 { return maxUntracked })
	return s.tree, s.dirty, s.skipped, err
}

// A snapshotResult is what snapshot made, and what it left out.
type snapshotResult struct {
	tree    plumbing.Hash
	dirty   bool
	skipped []string // paths left out, in the order of notes
	notes   []string // why each was left out, one line each
	files   int      // files taken from the work tree
	bytes   int64    // their size
}

// snapshot is SnapshotWorkTree, asking for the size limit only once git
// status has answered, as the limit may come from config, which git is
// asked for meanwhile.
func (r *Repo) snapshot(ctx context.Context, maxUntracked func() int64) (snapshotResult, error) {
	var res snapshotResult
	if r.WorkTree == "" {
		tree, err := r.headTree()
		if err != nil {
			return res, fmt.Errorf("snapshot work tree: %w", err)
		}
		res.tree = tree
		return res, nil
	}
	// No optional locks: status must not rewrite the user's index behind
	// their back (and must not fail when they hold index.lock).
	out, err := runGit(ctx, r.WorkTree, r.gitEnv("GIT_OPTIONAL_LOCKS=0"), nil,
		"status", "--porcelain=v2", "-z", "--untracked-files=all", "--ignored=no",
		"--no-renames", "--ignore-submodules=dirty")
	if err != nil {
		return res, err
	}
	changedTracked, untracked, err := parseStatus(out)
	if err != nil {
		return res, fmt.Errorf("snapshot work tree: %w", err)
	}
	if links := r.madeLinks(); links != nil {
		// A rerun's links to the user's ignored files are not its source.
		untracked = slices.DeleteFunc(untracked, func(p string) bool { return links[p] })
	}
	limit := maxUntracked()
	var changed, reset []string
	leaveOut := func(p, why string) {
		res.skipped = append(res.skipped, p)
		res.notes = append(res.notes, "snapshot leaves out "+p+": "+why)
	}
	for _, p := range changedTracked {
		if secret.IsSecretFile(p) {
			// Its committed content, if any, is in HEAD already; what
			// changed stays here.
			leaveOut(p, "its name says it may hold secrets (its committed content is kept)")
			reset = append(reset, p)
			continue
		}
		changed = append(changed, p)
		if fi, err := os.Lstat(filepath.Join(r.WorkTree, filepath.FromSlash(p))); err == nil && fi.Mode().IsRegular() {
			res.files++
			res.bytes += fi.Size()
		}
	}
	for _, p := range untracked {
		if secret.IsSecretFile(p) {
			leaveOut(p, "its name says it may hold secrets")
			continue
		}
		fi, err := os.Lstat(filepath.Join(r.WorkTree, filepath.FromSlash(p)))
		if err == nil && limit >= 0 && fi.Mode().IsRegular() && fi.Size() > limit {
			leaveOut(p, fmt.Sprintf("%s, larger than runs.snapshotMaxFile (%s)", run.FormatSize(fi.Size()), run.FormatSize(limit)))
			continue
		}
		changed = append(changed, p)
		if err == nil && fi.Mode().IsRegular() {
			res.files++
			res.bytes += fi.Size()
		}
	}
	if len(changed) == 0 && len(reset) == 0 {
		// Nothing that would enter the snapshot differs from HEAD.
		tree, err := r.headTree()
		if err != nil {
			return res, fmt.Errorf("snapshot work tree: %w", err)
		}
		res.tree, res.dirty = tree, len(untracked) > 0 || len(changedTracked) > 0
		return res, nil
	}
	tree, err := r.writeWorkTree(ctx, changed, res.skipped, reset)
	if err != nil {
		return res, err
	}
	res.tree, res.dirty = tree, true
	return res, nil
}

// parseStatus reads `git status --porcelain=v2 -z` output: the tracked
// paths that differ from HEAD (both paths of a rename), and the untracked
// ones.
func parseStatus(out []byte) (changed, untracked []string, err error) {
	for len(out) > 0 {
		i := bytes.IndexByte(out, 0)
		if i < 0 {
			i = len(out)
		}
		rec := string(out[:i])
		out = out[min(i+1, len(out)):]
		if len(rec) < 2 {
			return nil, nil, fmt.Errorf("unexpected status line %q", rec)
		}
		// The path follows a fixed number of space-separated fields.
		fields := map[byte]int{'1': 8, '2': 9, 'u': 10}
		switch rec[0] {
		case '1', '2', 'u':
			f := strings.SplitN(rec, " ", fields[rec[0]]+1)
			if len(f) != fields[rec[0]]+1 {
				return nil, nil, fmt.Errorf("unexpected status line %q", rec)
			}
			changed = append(changed, f[len(f)-1])
			if rec[0] == '2' {
				// A rename or copy carries the original path as an extra
				// NUL-terminated field.
				j := bytes.IndexByte(out, 0)
				if j < 0 {
					j = len(out)
				}
				changed = append(changed, string(out[:j]))
				out = out[min(j+1, len(out)):]
			}
		case '?':
			untracked = append(untracked, rec[2:])
		case '#', '!':
		default:
			return nil, nil, fmt.Errorf("unexpected status line %q", rec)
		}
	}
	return changed, untracked, nil
}

// maxTargetedPaths is how many changed paths a snapshot stages one by one
// (git update-index, 7 ms on 10,000 tracked files); beyond it, the work
// tree is staged whole (git add -A, 18 ms there), as git's matching of a
// long list of paths against every file would cost more.
var maxTargetedPaths = 1000

// writeWorkTree stages the changed paths, or the whole work tree minus the
// skipped paths, into a temporary copy of the index and writes it as a
// tree. The copy lives in GitDir so that a split index finds its shared
// index file next to it.
func (r *Repo) writeWorkTree(ctx context.Context, changed, skipped, reset []string) (plumbing.Hash, error) {
	tmpDir, err := os.MkdirTemp(r.GitDir, "runs-index-")
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("snapshot work tree: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	index := filepath.Join(tmpDir, "index")
	if err := copyIndex(filepath.Join(r.GitDir, "index"), index); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("snapshot work tree: %w", err)
	}
	env := r.gitEnv("GIT_INDEX_FILE=" + index)

	if len(changed) > 0 {
		if err := stage(ctx, r.WorkTree, env, changed, skipped); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	if err := r.resetPaths(ctx, env, reset); err != nil {
		return plumbing.ZeroHash, err
	}
	out, err := runGit(ctx, r.WorkTree, env, nil, "write-tree")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var h plumbing.Hash
	if !decodeHex(h[:], strings.TrimSpace(string(out))) {
		return plumbing.ZeroHash, fmt.Errorf("git write-tree: unexpected output %q", out)
	}
	return h, nil
}

// resetPaths sets the paths in the index env names back to HEAD's
// content, removing those HEAD has not: a changed file left out of a
// snapshot must not enter it from what the user has staged either.
func (r *Repo) resetPaths(ctx context.Context, env []string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	var list bytes.Buffer
	head, err := r.headTree()
	if err != nil {
		return err
	}
	for _, p := range paths {
		list.WriteString(p)
		list.WriteByte(0)
	}
	if head.IsZero() {
		_, err := runGit(ctx, r.WorkTree, env, &list, "update-index", "--force-remove", "-z", "--stdin")
		return err
	}
	_, err = runGit(ctx, r.WorkTree, env, &list, "reset", "-q", "--no-refresh", "HEAD",
		"--pathspec-from-file=-", "--pathspec-file-nul", "--")
	return err
}

// stage brings the changed paths of the work tree into the index env
// names: one by one when they are few, and none is a directory (a nested
// repository, which status shows with a trailing slash), else by staging
// everything but the skipped paths. Paths are relative to the top.
func stage(ctx context.Context, top string, env []string, changed, skipped []string) error {
	one := len(changed) <= maxTargetedPaths
	var list bytes.Buffer
	for _, p := range changed {
		one = one && !strings.HasSuffix(p, "/")
		list.WriteString(p)
		list.WriteByte(0)
	}
	if one {
		_, err := runGit(ctx, top, env, &list, "update-index", "--add", "--remove", "-z", "--stdin")
		return err
	}
	var spec bytes.Buffer
	spec.WriteString(".\x00")
	for _, p := range skipped {
		spec.WriteString(":(exclude,top,literal)")
		spec.WriteString(p)
		spec.WriteByte(0)
	}
	_, err := runGit(ctx, top, env, &spec, "add", "-A", "--no-warn-embedded-repo",
		"--pathspec-from-file=-", "--pathspec-file-nul")
	return err
}

// copyIndex copies the index, keeping its modification time: git treats
// entries changed in the same instant as the index was written as "racily
// clean" and rehashes them, and a newer time on the copy would hide such
// changes. A missing index is no error: git then starts from an empty one.
func copyIndex(src, dst string) error {
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}
