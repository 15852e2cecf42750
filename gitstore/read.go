package gitstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// Head returns the commit run id is at, or an error wrapping
// run.ErrNotFound.
func (r *Repo) Head(id string) (string, error) {
	if !run.ValidID(id) {
		return "", run.NotFound("no run %q", id)
	}
	h, err := r.ReadRef(RefName(id))
	if errors.Is(err, errNotFound) {
		return "", run.NotFound("no run %s", id)
	}
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// Load returns the commit and record of run id. A record that cannot be
// read, or that names another run than its ref, is an error that names the
// ref, in one line.
func (r *Repo) Load(ctx context.Context, id string) (run.Entry, error) {
	c, err := r.Head(id)
	if err != nil {
		return run.Entry{}, err
	}
	rec, err := r.recordAt(c)
	if err == nil {
		err = checkRecordID(rec, id)
	}
	if err != nil {
		return run.Entry{}, fmt.Errorf("%s: %w", RefName(id), err)
	}
	return run.Entry{ID: id, Commit: c, Record: rec}, nil
}

// RecordAt reads the record stored in run commit c.
func (r *Repo) RecordAt(ctx context.Context, c string) (*run.Record, error) {
	rec, err := r.recordAt(c)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", c, err)
	}
	return rec, nil
}

// recordAt reads the record stored in run commit c, with errors that start
// with the file's name, for callers to prefix with the run's.
func (r *Repo) recordAt(c string) (*run.Record, error) {
	text, err := r.readRunFile(c, RecordFile, run.MaxRecordSize)
	if err != nil {
		return nil, err
	}
	rec, err := codec.DecodeTOML(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RecordFile, err)
	}
	return rec, nil
}

// checkRecordID refuses a record read from the ref of run id that claims
// another id: a fetched run could otherwise pass itself off as another, and
// listings would show one run twice.
func checkRecordID(rec *run.Record, id string) error {
	if rec.ID != id {
		return fmt.Errorf("%s: id %s does not match the ref", RecordFile, rec.ID)
	}
	return nil
}

// readRunFile reads the file at path in run commit c, of at most max bytes
// (any size when max < 0).
func (r *Repo) readRunFile(c, path string, max int64) ([]byte, error) {
	h, err := parseHash(c)
	if err != nil {
		return nil, err
	}
	return r.readPathMax(h, path, max)
}

// History reads the metric histories stored in run commit c.
func (r *Repo) History(ctx context.Context, c string) (run.History, error) {
	text, err := r.readRunFile(c, HistoryFile, run.MaxHistorySize)
	if errors.Is(err, errNoPath) {
		return run.History{}, nil
	}
	if err != nil {
		return nil, err
	}
	h, err := codec.DecodeHistory(text)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %s: %w", c, HistoryFile, err)
	}
	return h, nil
}

// Output reads the output log stored in run commit c; nil when the run
// kept none.
func (r *Repo) Output(ctx context.Context, c string) ([]byte, error) {
	b, err := r.readRunFile(c, OutputFile, run.MaxOutputSize)
	if errors.Is(err, errNoPath) {
		return nil, nil
	}
	return b, err
}

// Artifacts lists the files stored with run commit c.
func (r *Repo) Artifacts(ctx context.Context, c string) ([]run.ArtifactInfo, error) {
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
	var out []run.ArtifactInfo
	sizes := map[plumbing.Hash]int64{}
	if err := r.listArtifacts(e.Hash, "", 0, sizes, &out); err != nil {
		return nil, fmt.Errorf("read artifacts of %s: %w", c, err)
	}
	return out, nil
}

// listArtifacts appends the files of tree h, below dir, to out. A tree may
// name one subtree many times, so a few small trees from a fetched run can
// stand for billions of files: the walk stops at run.MaxArtifacts files and
// run.MaxArtifactDepth directories deep. Only regular files are
// artifacts; links and submodules are left out.
func (r *Repo) listArtifacts(h plumbing.Hash, dir string, depth int, sizes map[plumbing.Hash]int64, out *[]run.ArtifactInfo) error {
	if depth >= run.MaxArtifactDepth {
		return fmt.Errorf("directories nest deeper than %d", run.MaxArtifactDepth)
	}
	t, err := object.GetTree(objectStore{r}, h)
	if err != nil {
		return notFound(err)
	}
	for _, e := range t.Entries {
		name := dir + e.Name
		switch e.Mode {
		case filemode.Dir:
			if err := r.listArtifacts(e.Hash, name+"/", depth+1, sizes, out); err != nil {
				return err
			}
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			if len(*out) >= run.MaxArtifacts {
				return fmt.Errorf("more than %d files", run.MaxArtifacts)
			}
			size, ok := sizes[e.Hash]
			if !ok {
				err := r.withStorage(func(st *filesystem.Storage) error {
					var err error
					size, err = r.objectSize(st, e.Hash)
					return err
				})
				if err != nil {
					return notFound(err)
				}
				sizes[e.Hash] = size
			}
			*out = append(*out, run.ArtifactInfo{Path: name, Size: size})
		}
	}
	return nil
}

// OpenArtifact opens the artifact at path (below artifacts/) of run
// commit c.
func (r *Repo) OpenArtifact(ctx context.Context, c, path string) (io.ReadCloser, error) {
	clean, err := run.CleanArtifactPath(path)
	if err != nil {
		return nil, err
	}
	b, err := r.readRunFile(c, ArtifactsDir+"/"+clean, -1)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Amend rewrites run.toml of run id with edit, keeping the rest of its
// tree and its parents, with compare-and-swap against other writers. A
// run whose record says it is running is refused with run.ErrLive: its
// journal, wherever it is, is its truth.
func (r *Repo) Amend(id string, edit func(*run.Record) error) error {
	for try := 0; ; try++ {
		en, err := r.Load(context.Background(), id)
		if err != nil {
			return err
		}
		if en.Record.Status == run.Running {
			return fmt.Errorf("amend run %s: %w", id, run.ErrLive)
		}
		if err := edit(en.Record); err != nil {
			return err
		}
		c, old, err := r.amendedCommit(en)
		if err != nil {
			return err
		}
		err = r.moveRef(id, c, old)
		if errors.Is(err, run.ErrConflict) && try < 8 {
			continue
		}
		return err
	}
}

// amendedCommit writes a commit like en's but with en.Record as its
// run.toml, and returns it with en's commit.
func (r *Repo) amendedCommit(en run.Entry) (c, old plumbing.Hash, err error) {
	if old, err = parseHash(en.Commit); err != nil {
		return c, old, err
	}
	commit, err := r.ReadCommit(old)
	if err != nil {
		return c, old, err
	}
	tree, err := r.Tree(old)
	if err != nil {
		return c, old, err
	}
	text, err := codec.EncodeTOML(en.Record)
	if err != nil {
		return c, old, err
	}
	blob, err := r.WriteBlob(text)
	if err != nil {
		return c, old, err
	}
	entries := make([]TreeEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		if e.Name == RecordFile {
			e.Hash = blob
		}
		entries = append(entries, TreeEntry{Name: e.Name, Mode: e.Mode, Hash: e.Hash})
	}
	t, err := r.WriteTree(entries)
	if err != nil {
		return c, old, err
	}
	_, committer := r.signatures(time.Now())
	c, err = r.WriteCommit(CommitSpec{
		Tree: t, Parents: commit.ParentHashes,
		Author: commit.Author, Committer: committer,
		Message: commitMessage(en.Record),
	})
	return c, old, err
}

// Delete removes run id's ref, if it is still at commit old ("" for any):
// run.ErrConflict when it is elsewhere, run.ErrNotFound when it is gone.
// It leaves a tombstone (DeletedPrefix) that push and fetch carry.
func (r *Repo) Delete(id, old string) error {
	if !run.ValidID(id) {
		return run.NotFound("no run %q", id)
	}
	oldHash := AnyHash
	if old != "" {
		var err error
		if oldHash, err = parseHash(old); err != nil {
			return fmt.Errorf("delete run %s: %w", id, err)
		}
	}
	err := r.DeleteRef(RefName(id), oldHash)
	switch {
	case errors.Is(err, errNotFound):
		return run.NotFound("no run %s", id)
	case errors.Is(err, ErrRefChanged):
		return fmt.Errorf("%w: %v", run.ErrConflict, err)
	case err != nil:
		return err
	}
	return r.writeTombstone(id)
}
