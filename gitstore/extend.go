package gitstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// extendTries bounds how often Extend reads the run again after losing
// the compare-and-swap to another writer.
const extendTries = 16

// Extend writes a new commit of run id, which has ended, on top of the
// one it is at: edit changes the run's record, histories and artifacts as
// that commit holds them, and the new commit keeps the rest of its tree
// (the output) and has the source's parents, then the commit it extends
// (docs/FORMAT.md, "Later commits"). The ref moves by compare-and-swap; a
// lost swap reads the run again and calls edit again.
func (r *Repo) Extend(ctx context.Context, id string, edit func(*run.Contents) error) (string, error) {
	for try := 0; ; try++ {
		en, err := r.Load(ctx, id)
		if err != nil {
			return "", err
		}
		if en.Record.Status == run.Running {
			return "", fmt.Errorf("extend run %s: %w", id, run.ErrLive)
		}
		old, err := parseHash(en.Commit)
		if err != nil {
			return "", err
		}
		src := en.Record.Source
		c, err := r.contentsAt(ctx, en)
		if err != nil {
			return "", fmt.Errorf("extend run %s: %w", id, err)
		}
		before := slices.Clone(c.Artifacts)
		if err := edit(c); err != nil {
			return "", err
		}
		if err := checkExtended(id, c.Record); err != nil {
			return "", err
		}
		c.Record.Source = src // the code it ran is what its parents say
		commit, err := r.extendedCommit(old, c, sameArtifacts(before, c.Artifacts))
		if err != nil {
			return "", fmt.Errorf("extend run %s: %w", id, err)
		}
		err = r.moveRef(id, commit, old)
		if errors.Is(err, run.ErrConflict) && try < extendTries {
			continue
		}
		if err != nil {
			return "", err
		}
		r.gc.mu.Lock()
		r.gc.wrote = true
		r.gc.mu.Unlock()
		r.MaybeGC()
		return commit.String(), nil
	}
}

// checkExtended refuses an edited record that is no longer the ended run
// of id: an edit adds to a run, it does not make another of it.
func checkExtended(id string, rec *run.Record) error {
	switch {
	case rec.ID != id:
		return fmt.Errorf("extend run %s: the edit changed its id to %q", id, rec.ID)
	case rec.Status == run.Running || !rec.Status.Valid():
		return fmt.Errorf("extend run %s: the edit left it %q, not ended", id, rec.Status)
	}
	return nil
}

// contentsAt reads what run commit en.Commit holds but its output: the
// record, the histories and the artifacts with their blobs.
func (r *Repo) contentsAt(ctx context.Context, en run.Entry) (*run.Contents, error) {
	h, err := r.History(ctx, en.Commit)
	if err != nil {
		return nil, err
	}
	arts, err := r.artifactBlobs(en.Commit)
	if err != nil {
		return nil, err
	}
	return &run.Contents{Record: en.Record, History: h, Artifacts: arts}, nil
}

// artifactBlobs lists the regular files below artifacts/ of run commit c
// with their blobs, within the limits Artifacts keeps to.
func (r *Repo) artifactBlobs(c string) ([]run.Artifact, error) {
	h, err := parseHash(c)
	if err != nil {
		return nil, err
	}
	t, err := r.Tree(h)
	if err != nil {
		return nil, err
	}
	e := findEntry(t, ArtifactsDir)
	if e == nil {
		return nil, nil
	}
	if e.Mode != filemode.Dir {
		return nil, fmt.Errorf("read artifacts of %s: %s is not a directory", c, ArtifactsDir)
	}
	var out []run.Artifact
	var walk func(h plumbing.Hash, dir string, depth int) error
	walk = func(h plumbing.Hash, dir string, depth int) error {
		if depth >= run.MaxArtifactDepth {
			return fmt.Errorf("directories nest deeper than %d", run.MaxArtifactDepth)
		}
		t, err := object.GetTree(objectStore{r}, h)
		if err != nil {
			return notFound(err)
		}
		for _, e := range t.Entries {
			switch e.Mode {
			case filemode.Dir:
				if err := walk(e.Hash, dir+e.Name+"/", depth+1); err != nil {
					return err
				}
			case filemode.Regular, filemode.Executable, filemode.Deprecated:
				if len(out) >= run.MaxArtifacts {
					return fmt.Errorf("more than %d files", run.MaxArtifacts)
				}
				out = append(out, run.Artifact{Path: dir + e.Name, Blob: e.Hash.String(), Exec: e.Mode == filemode.Executable})
			}
		}
		return nil
	}
	if err := walk(e.Hash, "", 0); err != nil {
		return nil, fmt.Errorf("read artifacts of %s: %w", c, err)
	}
	return out, nil
}

// sameArtifacts tells whether an edit left the artifacts as they were, in
// which case the commit keeps the artifacts' tree as it is (with any link
// or submodule a fetched run had there).
func sameArtifacts(a, b []run.Artifact) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(x, y run.Artifact) int { return strings.Compare(x.Path, y.Path) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, key)
	slices.SortFunc(b, key)
	return slices.Equal(a, b)
}

// extendedCommit writes the commit that extends run commit old with c:
// old's tree with c's record, history and (unless keepArts) artifacts,
// old's author, and as parents old's source parents, then old.
func (r *Repo) extendedCommit(old plumbing.Hash, c *run.Contents, keepArts bool) (plumbing.Hash, error) {
	commit, err := r.ReadCommit(old)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tree, err := r.Tree(old)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	written := *c
	if keepArts {
		written.Artifacts = nil
	}
	files, err := r.writeRunFiles(&written, 1)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	entries := make([]TreeEntry, 0, len(tree.Entries)+1)
	for _, e := range tree.Entries {
		switch e.Name {
		case RecordFile, HistoryFile:
			continue
		case ArtifactsDir:
			if !keepArts {
				continue
			}
		}
		entries = append(entries, TreeEntry{Name: e.Name, Mode: e.Mode, Hash: e.Hash})
	}
	entries = append(entries, files...)
	t, err := r.WriteTree(entries)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	n := sourceParents(c.Record)
	if len(commit.ParentHashes) < n {
		return plumbing.ZeroHash, fmt.Errorf("commit %s has %d parents, fewer than its source names", old, len(commit.ParentHashes))
	}
	parents := append(slices.Clone(commit.ParentHashes[:n]), old)
	_, committer := r.signatures(time.Now())
	return r.WriteCommit(CommitSpec{
		Tree: t, Parents: parents,
		Author: commit.Author, Committer: committer,
		Message: commitMessage(c.Record),
	})
}

// sourceParents is how many of a run commit's parents are the code it
// ran: the code commit and the snapshot, each when there is one.
func sourceParents(rec *run.Record) int {
	n := 0
	if rec.Source.Commit != "" {
		n++
	}
	if rec.Source.Snapshot != "" {
		n++
	}
	return n
}

// Earlier returns the run commit that run commit c extends: the parent
// after the source's, "" when c has none (it is the run as it ended, or as
// a checkpoint left it).
func (r *Repo) Earlier(ctx context.Context, c string) (string, error) {
	h, err := parseHash(c)
	if err != nil {
		return "", err
	}
	commit, err := r.ReadCommit(h)
	if err != nil {
		return "", err
	}
	text, err := r.readPathMax(h, RecordFile, run.MaxRecordSize)
	if err != nil {
		return "", fmt.Errorf("read run commit %s: %w", c, err)
	}
	rec, err := codec.DecodeTOML(text)
	if err != nil {
		return "", fmt.Errorf("read run commit %s: %s: %w", c, RecordFile, err)
	}
	n := sourceParents(rec)
	switch len(commit.ParentHashes) {
	case n:
		return "", nil
	case n + 1:
		return commit.ParentHashes[n].String(), nil
	}
	return "", fmt.Errorf("run commit %s has %d parents; its source names %d", c, len(commit.ParentHashes), n)
}
