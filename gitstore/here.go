package gitstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitruns/gitruns/run"
)

// hereFile, in the work tree's git dir, says where HEAD was before
// EnterSource checked a run's source out, and what it checked out. It is
// written before the work tree is touched and removed once it is back, so
// that when the process dies in between, LeaveSource (git runs rerun
// --restore) can still return: the file is the whole of what it needs.
const hereFile = "gitruns-here"

// ErrNothingHere is returned by LeaveSource when no run's source is
// checked out in the work tree by EnterSource.
var ErrNothingHere = errors.New("no rerun --here left a run's source in this work tree; nothing to restore")

// hereState is the content of hereFile.
type hereState struct {
	head     string // "refs/heads/<branch>", or a commit for a detached HEAD
	commit   string // what HEAD was moved to
	snapshot string // the snapshot restored on top of it; "" for none
}

// EnterSource checks the exact source of a run out into the work tree
// itself, to run it in place with everything git does not track still
// around it: HEAD is detached at the run's commit and its snapshot's
// files are restored on top. It refuses, with nothing changed, when the
// work tree has uncommitted changes or untracked files, when a file the
// source would write is there already outside git (an ignored file git
// would overwrite without asking), when HEAD has no commit to return to,
// and when an earlier EnterSource was never left. leave puts HEAD and
// the files back; if the process dies first, LeaveSource does it.
func (r *Repo) EnterSource(ctx context.Context, src run.Source) (leave func() error, err error) {
	if r.WorkTree == "" {
		return nil, errors.New("run in place: a bare repository has no work tree")
	}
	if err := r.checkSource(ctx, src); err != nil {
		return nil, fmt.Errorf("run in place: %w", err)
	}
	st, err := r.planHere(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("run in place: %w", err)
	}
	if err := r.writeHere(st); err != nil {
		return nil, fmt.Errorf("run in place: %w", err)
	}
	env := r.gitEnv()
	if _, err := runGit(ctx, r.WorkTree, env, nil, "checkout", "-q", "--detach", st.commit); err != nil {
		os.Remove(filepath.Join(r.GitDir, hereFile))
		return nil, fmt.Errorf("run in place: %w", err)
	}
	leave = func() error { return r.LeaveSource(context.Background()) }
	if st.snapshot != "" {
		if err := r.restoreSnapshot(ctx, r.WorkTree, env, st.snapshot); err != nil {
			return nil, errors.Join(fmt.Errorf("run in place: %w", err), leave())
		}
	}
	return leave, nil
}

// planHere checks that the work tree can take src and come back, and
// says where it comes back to.
func (r *Repo) planHere(ctx context.Context, src run.Source) (hereState, error) {
	if _, err := os.Lstat(filepath.Join(r.GitDir, hereFile)); err == nil {
		return hereState{}, errors.New("the work tree still holds the source an earlier rerun --here checked out; git runs rerun --restore puts it back")
	}
	b, err := os.ReadFile(filepath.Join(r.GitDir, "HEAD"))
	if err != nil {
		return hereState{}, fmt.Errorf("read HEAD: %w", err)
	}
	head, _, err := r.headCommit()
	if err != nil {
		return hereState{}, err
	}
	if head.IsZero() {
		return hereState{}, errors.New("HEAD has no commit to return to")
	}
	st := hereState{head: head.String(), commit: src.Commit}
	if ref, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "ref:"); ok {
		st.head = strings.TrimSpace(ref)
	}
	if src.Dirty && src.Snapshot != "" {
		st.snapshot = src.Snapshot
	}
	if st.commit == "" {
		// A run on an unborn branch: its snapshot is all of its source.
		st.commit, st.snapshot = src.Snapshot, ""
	}
	if st.commit == "" {
		return hereState{}, errors.New("the run has no commit")
	}
	dirty, err := r.WorkTreeDirty(ctx)
	if err != nil {
		return hereState{}, err
	}
	if dirty {
		return hereState{}, errors.New("the work tree has uncommitted changes, which the run's source would overwrite; commit or stash them, or rerun without --here")
	}
	for _, target := range []string{st.commit, st.snapshot} {
		if target == "" {
			continue
		}
		if p, err := r.overwritten(ctx, head.String(), target); err != nil || p != "" {
			if err == nil {
				err = fmt.Errorf("the run's source has %s, which the work tree holds outside git and git would overwrite; move it away, or rerun without --here", p)
			}
			return hereState{}, err
		}
	}
	return st, nil
}

// overwritten returns the first file that target adds to the tree of
// from which is already in the work tree, or in whose place a file is:
// with a clean work tree, one git ignores.
func (r *Repo) overwritten(ctx context.Context, from, target string) (string, error) {
	out, err := runGit(ctx, r.WorkTree, r.gitEnv(), nil, "diff-tree", "-r", "-z", "--name-only", "--no-renames", "--diff-filter=A", from, target)
	if err != nil {
		return "", err
	}
	for _, p := range bytes.Split(out, []byte{0}) {
		if len(p) == 0 {
			continue
		}
		if taken(r.WorkTree, string(p)) {
			return string(p), nil
		}
	}
	return "", nil
}

// taken tells whether the slash path p below top, or a non-directory
// in the place of one of its parents, exists.
func taken(top, p string) bool {
	dir := top
	parts := strings.Split(p, "/")
	for i, c := range parts {
		dir = filepath.Join(dir, c)
		fi, err := os.Lstat(dir)
		if err != nil {
			return false
		}
		if i == len(parts)-1 || !fi.IsDir() {
			return true
		}
	}
	return false
}

// writeHere writes st to hereFile, whole or not at all, and only if
// there is none: of two processes entering at once, one wins.
func (r *Repo) writeHere(st hereState) error {
	var b strings.Builder
	b.WriteString("# git-runs rerun --here checked out a run's source in this work tree;\n")
	b.WriteString("# git runs rerun --restore returns it to head.\n")
	fmt.Fprintf(&b, "head %s\ncommit %s\n", st.head, st.commit)
	if st.snapshot != "" {
		fmt.Fprintf(&b, "snapshot %s\n", st.snapshot)
	}
	path := filepath.Join(r.GitDir, hereFile)
	tmp, err := os.CreateTemp(r.GitDir, hereFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return errors.New("another rerun --here is checking a run's source out in this work tree")
	} else if err != nil {
		return err
	}
	return nil
}

// readHere reads hereFile; ErrNothingHere when there is none.
func (r *Repo) readHere() (hereState, error) {
	b, err := os.ReadFile(filepath.Join(r.GitDir, hereFile))
	if errors.Is(err, fs.ErrNotExist) {
		return hereState{}, ErrNothingHere
	}
	if err != nil {
		return hereState{}, err
	}
	var st hereState
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "head":
			st.head = v
		case "commit":
			st.commit = v
		case "snapshot":
			st.snapshot = v
		}
	}
	if err := checkHereState(st); err != nil {
		return hereState{}, fmt.Errorf("read %s: %w", filepath.Join(r.GitDir, hereFile), err)
	}
	return st, nil
}

// checkHereState refuses a state that would hand git anything but a
// branch and commits.
func checkHereState(st hereState) error {
	if branch, ok := strings.CutPrefix(st.head, "refs/heads/"); ok {
		if branch == "" || strings.HasPrefix(branch, "-") {
			return fmt.Errorf("invalid head %q", st.head)
		}
	} else if !run.ValidObjectID(st.head) {
		return fmt.Errorf("invalid head %q", st.head)
	}
	if !run.ValidObjectID(st.commit) || st.snapshot != "" && !run.ValidObjectID(st.snapshot) {
		return errors.New("invalid commit")
	}
	return nil
}

// LeaveSource returns the work tree from the run's source EnterSource
// checked out to the HEAD it had: the snapshot's files that still hold
// what the snapshot gave them go back to the commit's (the command's
// changes to them are kept), and HEAD moves back, to its branch if it
// was on one, carrying what the command left in the work tree. When git
// refuses that move (the command changed a file that differs there), the
// work tree stays at the run's source and the error says how to go on.
// It is ErrNothingHere when EnterSource has not left the work tree at a
// run's source.
func (r *Repo) LeaveSource(ctx context.Context) error {
	st, err := r.readHere()
	if err != nil {
		return err
	}
	head, branch, err := r.headCommit()
	if err != nil {
		return err
	}
	// Only a work tree still at the run's commit holds its snapshot: one
	// that died before the checkout has nothing to undo.
	if branch == "" && head.String() == st.commit && st.snapshot != "" {
		if err := r.undoSnapshot(ctx, st); err != nil {
			return fmt.Errorf("restore work tree: %w", err)
		}
	}
	back, args := st.head, []string{"checkout", "-q", "--detach", st.head}
	if b, ok := strings.CutPrefix(st.head, "refs/heads/"); ok {
		back, args = b, []string{"checkout", "-q", b, "--"}
	}
	if _, err := runGit(ctx, r.WorkTree, r.gitEnv(), nil, args...); err != nil {
		return fmt.Errorf("return to %s: %w; the work tree still holds the run's source: keep what you need, then git runs rerun --restore again (or git checkout -f %s, which drops the changes)", back, err, back)
	}
	if err := os.Remove(filepath.Join(r.GitDir, hereFile)); err != nil {
		return fmt.Errorf("restore work tree: %w", err)
	}
	return nil
}

// A snapEntry is a file the snapshot changed from its commit.
type snapEntry struct {
	path   string
	status byte   // 'A', 'M', 'T' or 'D', as git diff-tree says
	mode   string // in the snapshot
	id     string // its blob in the snapshot; "" when it deleted the file
	old    string // its blob in the commit; "" when it added the file
}

// undoSnapshot gives back the commit's content to every file of the
// snapshot that still holds what the snapshot put there.
func (r *Repo) undoSnapshot(ctx context.Context, st hereState) error {
	entries, err := r.snapshotEntries(ctx, st)
	if err != nil {
		return err
	}
	ids, err := r.workTreeIDs(ctx, entries)
	if err != nil {
		return err
	}
	var restore []string
	for _, e := range entries {
		if ids[e.path] == e.old {
			continue // the commit's already: never restored, or put back
		}
		if ids[e.path] != e.id {
			if r.Warn != nil {
				r.Warn(fmt.Errorf("kept %s as the command left it", e.path))
			}
			continue
		}
		if e.status == 'A' {
			if err := removeAdded(r.WorkTree, e.path); err != nil {
				return err
			}
			continue
		}
		restore = append(restore, e.path)
	}
	if len(restore) == 0 {
		return nil
	}
	stdin := strings.NewReader(strings.Join(restore, "\x00"))
	_, err = runGit(ctx, r.WorkTree, r.gitEnv("GIT_LITERAL_PATHSPECS=1"), stdin,
		"restore", "--source="+st.commit, "--worktree", "--pathspec-from-file=-", "--pathspec-file-nul")
	return err
}

// snapshotEntries lists the files the snapshot changed from its commit.
func (r *Repo) snapshotEntries(ctx context.Context, st hereState) ([]snapEntry, error) {
	out, err := runGit(ctx, r.WorkTree, r.gitEnv(), nil, "diff-tree", "-r", "-z", "--no-renames", st.commit, st.snapshot)
	if err != nil {
		return nil, err
	}
	// ":100644 100644 <old> <new> M" NUL path NUL, repeated.
	fields := bytes.Split(out, []byte{0})
	var entries []snapEntry
	for i := 0; i+1 < len(fields); i += 2 {
		meta := strings.Fields(strings.TrimPrefix(string(fields[i]), ":"))
		if len(meta) != 5 || meta[4] == "" {
			return nil, fmt.Errorf("read snapshot's changes: unexpected %q", fields[i])
		}
		e := snapEntry{path: string(fields[i+1]), status: meta[4][0], mode: meta[1], id: meta[3], old: meta[2]}
		switch e.status {
		case 'D':
			e.id = ""
		case 'A':
			e.old = ""
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// workTreeIDs returns the blob ids the work tree's copies of entries
// would have, as git would hash them; "" for a file that is not there,
// or not of the snapshot's kind.
func (r *Repo) workTreeIDs(ctx context.Context, entries []snapEntry) (map[string]string, error) {
	ids := map[string]string{}
	var files []string
	for _, e := range entries {
		fi, err := os.Lstat(filepath.Join(r.WorkTree, filepath.FromSlash(e.path)))
		switch {
		case err != nil:
			ids[e.path] = ""
		case e.mode == "120000" && fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(r.WorkTree, filepath.FromSlash(e.path)))
			if err != nil {
				return nil, err
			}
			out, err := runGit(ctx, r.WorkTree, r.gitEnv(), strings.NewReader(target), "hash-object", "--stdin")
			if err != nil {
				return nil, err
			}
			ids[e.path] = strings.TrimSpace(string(out))
		case fi.Mode().IsRegular() && !strings.ContainsAny(e.path, "\n\r") && e.mode != "120000":
			files = append(files, e.path)
		default:
			ids[e.path] = "?" // another kind of file than the snapshot's
		}
	}
	if len(files) == 0 {
		return ids, nil
	}
	out, err := runGit(ctx, r.WorkTree, r.gitEnv(), strings.NewReader(strings.Join(files, "\n")+"\n"), "hash-object", "--stdin-paths")
	if err != nil {
		return nil, err
	}
	got := strings.Fields(string(out))
	if len(got) != len(files) {
		return nil, errors.New("hash work tree files: git answered for fewer files than asked")
	}
	for i, p := range files {
		ids[p] = got[i]
	}
	return ids, nil
}

// removeAdded removes a file the snapshot added, and the directories it
// leaves empty up to the top.
func removeAdded(top, p string) error {
	full := filepath.Join(top, filepath.FromSlash(p))
	if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for dir := filepath.Dir(full); dir != top && strings.HasPrefix(dir, top); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty: someone's files are in it
		}
	}
	return nil
}
