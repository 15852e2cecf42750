package gitstore

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/live"
)

// RunsPrefix is where run refs live: refs/runs/<id>.
const RunsPrefix = "refs/runs/"

// File names in a run commit's tree; docs/FORMAT.md is their contract.
const (
	RecordFile    = "run.toml"
	HistoryFile   = "metrics.tsv"
	OutputFile    = "output.log"
	ArtifactsDir  = "artifacts"
	snapshotTitle = "git-runs: snapshot of uncommitted changes"
)

// DefaultMaxUntracked is the size above which an untracked file is left
// out of a run's work-tree snapshot: such files are data and checkpoints,
// which would bloat the repository and every push of the run.
const DefaultMaxUntracked = 10 << 20

var (
	_ live.Store    = (*Repo)(nil)
	_ live.Preparer = (*Repo)(nil)
)

// RefName returns the ref of run id.
func RefName(id string) string { return RunsPrefix + id }

// CaptureSource implements run.Store: HEAD, its branch, and when the work
// tree differs from HEAD a snapshot commit of all of it.
func (r *Repo) CaptureSource() (run.Source, error) {
	head, branch, err := r.Head()
	if err != nil {
		return run.Source{}, err
	}
	src := run.Source{Branch: branch}
	if !head.IsZero() {
		src.Commit = head.String()
	}
	if r.WorkTree == "" {
		return src, nil
	}
	tree, dirty, skipped, err := r.SnapshotWorkTree(DefaultMaxUntracked)
	if err != nil {
		return run.Source{}, err
	}
	src.Skipped = skipped
	if !dirty {
		return src, nil
	}
	var parents []plumbing.Hash
	if !head.IsZero() {
		parents = []plumbing.Hash{head}
	}
	sig := r.signature(time.Now())
	c, err := r.WriteCommit(CommitSpec{Tree: tree, Parents: parents, Author: sig, Committer: sig, Message: snapshotTitle + "\n"})
	if err != nil {
		return run.Source{}, fmt.Errorf("write snapshot: %w", err)
	}
	src.Dirty = true
	src.Snapshot = c.String()
	return src, nil
}

// StoreFile implements run.Store.
func (r *Repo) StoreFile(p string) (string, error) {
	h, err := r.WriteBlobFile(p)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (r *Repo) signature(t time.Time) object.Signature {
	name, email := r.Identity()
	return object.Signature{Name: name, Email: email, When: t}
}

// Save implements run.Store: it writes the run's tree and commit and moves
// refs/runs/<id> from old to the new commit.
func (r *Repo) Save(c *run.Contents, old string) (string, error) {
	rec := c.Record
	tree, err := r.writeRunTree(c)
	if err != nil {
		return "", err
	}
	commit, err := r.writeRunCommit(rec, tree)
	if err != nil {
		return "", err
	}
	if err := r.moveRef(rec.ID, commit, old); err != nil {
		return "", err
	}
	if rec.Status != run.Running {
		r.MaybeGC()
	}
	return commit.String(), nil
}

func (r *Repo) moveRef(id string, c plumbing.Hash, old string) error {
	oldHash := plumbing.ZeroHash
	if old != "" {
		oldHash = plumbing.NewHash(old)
	}
	err := r.UpdateRef(RefName(id), c, oldHash)
	if errors.Is(err, ErrRefChanged) {
		return fmt.Errorf("%w: %v", run.ErrConflict, err)
	}
	return err
}

func (r *Repo) writeRunTree(c *run.Contents) (plumbing.Hash, error) {
	// The output log and the history can be megabytes each, compressed
	// and hashed while the user waits for the run to end, when its
	// command no longer needs the CPU: the output is written on a core of
	// its own beside the rest.
	type result struct {
		h   plumbing.Hash
		err error
	}
	var outc chan result
	if c.Output != nil {
		outc = make(chan result, 1)
		go func() {
			data, err := c.Output()
			if err != nil {
				outc <- result{err: fmt.Errorf("read output: %w", err)}
				return
			}
			h, err := r.WriteBlob(data)
			outc <- result{h, err}
		}()
	}
	entries, err := r.writeRunFiles(c)
	if outc != nil {
		out := <-outc
		if err == nil {
			err = out.err
		}
		entries = append(entries, TreeEntry{Name: OutputFile, Mode: filemode.Regular, Hash: out.h})
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return r.WriteTree(entries)
}

// writeRunFiles writes the record, the history and the artifacts' tree of
// a run and returns their tree entries.
func (r *Repo) writeRunFiles(c *run.Contents) ([]TreeEntry, error) {
	text, err := codec.EncodeTOML(c.Record)
	if err != nil {
		return nil, err
	}
	recBlob, err := r.WriteBlob(text)
	if err != nil {
		return nil, err
	}
	histBlob, err := r.WriteBlob(codec.EncodeHistory(c.History))
	if err != nil {
		return nil, err
	}
	entries := []TreeEntry{
		{Name: RecordFile, Mode: filemode.Regular, Hash: recBlob},
		{Name: HistoryFile, Mode: filemode.Regular, Hash: histBlob},
	}
	if len(c.Artifacts) > 0 {
		t, err := r.writeArtifactTree(c.Artifacts)
		if err != nil {
			return nil, err
		}
		entries = append(entries, TreeEntry{Name: ArtifactsDir, Mode: filemode.Dir, Hash: t})
	}
	return entries, nil
}

// writeArtifactTree builds the nested trees holding arts, by path.
func (r *Repo) writeArtifactTree(arts []run.Artifact) (plumbing.Hash, error) {
	type dir struct {
		files map[string]TreeEntry
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string]TreeEntry{}, dirs: map[string]*dir{}} }
	root := newDir()
	for _, a := range arts {
		segs := strings.Split(a.Path, "/")
		d := root
		for _, s := range segs[:len(segs)-1] {
			if d.dirs[s] == nil {
				d.dirs[s] = newDir()
			}
			d = d.dirs[s]
		}
		mode := filemode.Regular
		if a.Exec {
			mode = filemode.Executable
		}
		name := segs[len(segs)-1]
		d.files[name] = TreeEntry{Name: name, Mode: mode, Hash: plumbing.NewHash(a.Blob)}
	}
	var write func(d *dir, at string) (plumbing.Hash, error)
	write = func(d *dir, at string) (plumbing.Hash, error) {
		var entries []TreeEntry
		for name, sub := range d.dirs {
			if _, clash := d.files[name]; clash {
				return plumbing.ZeroHash, fmt.Errorf("artifact %s is both a file and a directory", path.Join(at, name))
			}
			h, err := write(sub, path.Join(at, name))
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries = append(entries, TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		for _, e := range d.files {
			entries = append(entries, e)
		}
		return r.WriteTree(entries)
	}
	return write(root, "")
}

func (r *Repo) writeRunCommit(rec *run.Record, tree plumbing.Hash) (plumbing.Hash, error) {
	var parents []plumbing.Hash
	if rec.Source.Commit != "" {
		parents = append(parents, plumbing.NewHash(rec.Source.Commit))
	}
	if rec.Source.Snapshot != "" {
		parents = append(parents, plumbing.NewHash(rec.Source.Snapshot))
	}
	author := r.signature(rec.Started)
	committer := r.signature(time.Now())
	return r.WriteCommit(CommitSpec{Tree: tree, Parents: parents, Author: author, Committer: committer, Message: commitMessage(rec)})
}

// commitMessage is a one-line summary that reads well in git log, then
// the run's identity as trailers.
func commitMessage(rec *run.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %s", rec.Name, rec.Status)
	keys := make([]string, 0, len(rec.Metrics))
	for k := range rec.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 3 {
			b.WriteString(", …")
			break
		}
		fmt.Fprintf(&b, ", %s=%s", k, run.FormatMetric(rec.Metrics[k].Last))
	}
	fmt.Fprintf(&b, "\n\nRun-Id: %s\nExperiment: %s\n", rec.ID, rec.Experiment)
	return b.String()
}

// Load implements run.Store.
func (r *Repo) Load(id string) (string, *run.Record, error) {
	h, err := r.ReadRef(RefName(id))
	if errors.Is(err, ErrNotFound) {
		return "", nil, run.NotFound("no run %q", id)
	}
	if err != nil {
		return "", nil, err
	}
	rec, err := r.RecordAt(h)
	if err != nil {
		return "", nil, err
	}
	return h.String(), rec, nil
}

// RecordAt reads the record stored in run commit c.
func (r *Repo) RecordAt(c plumbing.Hash) (*run.Record, error) {
	text, err := r.ReadPath(c, RecordFile)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", c, err)
	}
	rec, err := codec.DecodeTOML(text)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", c, err)
	}
	return rec, nil
}

// Output reads the output log stored in run commit c; nil when the run
// kept none.
func (r *Repo) Output(c plumbing.Hash) ([]byte, error) {
	b, err := r.ReadPath(c, OutputFile)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// History reads the metric histories stored in run commit c.
func (r *Repo) History(c plumbing.Hash) (run.History, error) {
	text, err := r.ReadPath(c, HistoryFile)
	if errors.Is(err, ErrNotFound) {
		return run.History{}, nil
	}
	if err != nil {
		return nil, err
	}
	return codec.DecodeHistory(text)
}

// Amend implements run.Store: it rewrites run.toml of a run, keeping the
// rest of its tree and its parents.
func (r *Repo) Amend(id string, edit func(*run.Record) error) error {
	for try := 0; ; try++ {
		head, rec, err := r.Load(id)
		if err != nil {
			return err
		}
		if err := edit(rec); err != nil {
			return err
		}
		h := plumbing.NewHash(head)
		commit, err := r.ReadCommit(h)
		if err != nil {
			return err
		}
		tree, err := r.Tree(h)
		if err != nil {
			return err
		}
		text, err := codec.EncodeTOML(rec)
		if err != nil {
			return err
		}
		blob, err := r.WriteBlob(text)
		if err != nil {
			return err
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
			return err
		}
		c, err := r.WriteCommit(CommitSpec{
			Tree: t, Parents: commit.ParentHashes,
			Author: commit.Author, Committer: r.signature(time.Now()),
			Message: commitMessage(rec),
		})
		if err != nil {
			return err
		}
		err = r.moveRef(id, c, head)
		if errors.Is(err, run.ErrConflict) && try < 8 {
			continue
		}
		return err
	}
}

// SavedAt implements run.Store: the time the run's loose ref was last
// written. A packed ref has no time of its own.
func (r *Repo) SavedAt(id string) (time.Time, bool) {
	fi, err := os.Stat(filepath.Join(r.CommonDir, filepath.FromSlash(RefName(id))))
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

// Delete removes run id's ref, if it is still at commit old ("" for any).
func (r *Repo) Delete(id, old string) error {
	oldHash := AnyHash
	if old != "" {
		oldHash = plumbing.NewHash(old)
	}
	err := r.DeleteRef(RefName(id), oldHash)
	if errors.Is(err, ErrNotFound) {
		return run.NotFound("no run %q", id)
	}
	if errors.Is(err, ErrRefChanged) {
		return fmt.Errorf("%w: %v", run.ErrConflict, err)
	}
	return err
}

// ArtifactInfo describes a file stored with a run.
type ArtifactInfo struct {
	Path string // below artifacts/
	Size int64
}

// Artifacts lists the files stored with run commit c.
func (r *Repo) Artifacts(c plumbing.Hash) ([]ArtifactInfo, error) {
	t, err := r.Tree(c)
	if err != nil {
		return nil, err
	}
	sub, err := t.Tree(ArtifactsDir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read artifacts of %s: %w", c, err)
	}
	var out []ArtifactInfo
	err = sub.Files().ForEach(func(f *object.File) error {
		out = append(out, ArtifactInfo{Path: f.Name, Size: f.Size})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read artifacts of %s: %w", c, err)
	}
	return out, nil
}
