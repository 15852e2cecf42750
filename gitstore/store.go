package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
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

// snapshotNoteSize is the size of uncommitted files above which starting
// a run says how much its snapshot holds: every push of the run carries it.
const snapshotNoteSize = 1 << 20

// snapshotMaxFile is the size above which an untracked file is left out
// of a snapshot: git config runs.snapshotMaxFile, in bytes with git's k,
// m and g suffixes (-1 for no limit), else DefaultMaxUntracked.
func (r *Repo) snapshotMaxFile() int64 {
	return int64(r.configInt("runs.snapshotMaxFile", DefaultMaxUntracked))
}

// Private reports whether git config runs.private is true: runs recorded
// here then keep the host name, the user name and absolute paths out of
// their records (live.Private says what is left out).
func (r *Repo) Private() bool {
	v, ok := r.config("runs.private")
	if !ok {
		return false
	}
	b, _ := parseBool(v)
	return b
}

// RefName returns the ref of run id.
func RefName(id string) string { return RunsPrefix + id }

// LiveDir is where runs being recorded on this machine keep their
// journals and output files: runs/live in the common git directory, so
// that every worktree of the repository shares it (docs/FORMAT.md).
func (r *Repo) LiveDir() string { return filepath.Join(r.privateDir(), "live") }

// CaptureSource describes the code a run starting now runs: HEAD, its
// branch, and when the work tree differs from HEAD a snapshot commit of
// all of it.
func (r *Repo) CaptureSource(ctx context.Context) (run.Source, error) {
	r.startVars() // the snapshot's commit needs them: ask git meanwhile
	head, branch, err := r.headCommit()
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
	snap, err := r.snapshot(ctx, r.snapshotMaxFile)
	if err != nil {
		return run.Source{}, err
	}
	src.Skipped = snap.skipped
	if r.Warn != nil {
		for _, n := range snap.notes {
			r.Warn(errors.New(n))
		}
		if snap.dirty && snap.bytes > snapshotNoteSize {
			files := "files"
			if snap.files == 1 {
				files = "file"
			}
			r.Warn(fmt.Errorf("snapshot of uncommitted files: %d %s, %s", snap.files, files, run.FormatSize(snap.bytes)))
		}
	}
	tree, dirty := snap.tree, snap.dirty
	if !dirty {
		return src, nil
	}
	var parents []plumbing.Hash
	if !head.IsZero() {
		parents = []plumbing.Hash{head}
	}
	author, committer := r.signatures(time.Now())
	c, err := r.WriteCommit(CommitSpec{Tree: tree, Parents: parents, Author: author, Committer: committer, Message: snapshotTitle + "\n"})
	if err != nil {
		return run.Source{}, fmt.Errorf("write snapshot: %w", err)
	}
	src.Dirty = true
	src.Snapshot = c.String()
	return src, nil
}

// StoreFile copies the file at path into the repository as a blob and
// returns the blob's id.
func (r *Repo) StoreFile(p string) (string, error) {
	h, err := r.WriteBlobFile(p)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// Save writes the run's tree and commit and moves refs/runs/<id> from old
// to the new commit, as live.Store says.
func (r *Repo) Save(c *run.Contents, old string) (string, error) {
	rec := c.Record
	if !run.ValidID(rec.ID) {
		return "", fmt.Errorf("save run: invalid id %q", rec.ID)
	}
	oldHash := plumbing.ZeroHash
	if old != "" {
		var err error
		if oldHash, err = parseHash(old); err != nil {
			return "", fmt.Errorf("save run %s: %w", rec.ID, err)
		}
	}
	if oldHash.IsZero() {
		if _, err := r.ReadRef(DeletedPrefix + rec.ID); err == nil {
			return "", run.NotFound("no run %s: it was deleted", rec.ID)
		}
	}
	tree, err := r.writeRunTree(c)
	if err != nil {
		return "", err
	}
	commit, err := r.writeRunCommit(rec, c.Author, tree)
	if err != nil {
		return "", err
	}
	if err := r.moveRef(rec.ID, commit, oldHash); err != nil {
		return "", err
	}
	r.gc.mu.Lock()
	r.gc.wrote = true
	r.gc.mu.Unlock()
	if rec.Status != run.Running {
		r.MaybeGC()
	}
	return commit.String(), nil
}

// moveRef moves run id's ref from old to c, turning a lost
// compare-and-swap, or a lock another writer holds past the timeout, into
// run.ErrConflict, and a ref gone into run.ErrNotFound.
func (r *Repo) moveRef(id string, c, old plumbing.Hash) error {
	err := r.UpdateRef(RefName(id), c, old)
	switch {
	case errors.Is(err, errNotFound):
		return run.NotFound("no run %s: it was deleted", id)
	case errors.Is(err, ErrRefChanged):
		return fmt.Errorf("%w: %v", run.ErrConflict, err)
	case errors.Is(err, fs.ErrExist):
		// Another writer held the ref past git's lock timeout: by the
		// time it lets go, the run has likely moved.
		return run.Conflict("%v", err)
	}
	return err
}

// parseHash reads an object id given as 40 hex digits.
func parseHash(s string) (plumbing.Hash, error) {
	var h plumbing.Hash
	if !decodeHex(h[:], s) {
		return h, fmt.Errorf("invalid object id %q", s)
	}
	return h, nil
}

// writeRunTree writes the tree of a run commit holding c.
func (r *Repo) writeRunTree(c *run.Contents) (plumbing.Hash, error) {
	// The output log and the history can be megabytes each. At the end of
	// a run, while the user waits and the command no longer needs the
	// CPU, they are compressed and hashed on every core, the output on a
	// goroutine of its own beside the rest. A checkpoint is written while
	// the program still trains, on one core, leaving it the others.
	cores := runtime.GOMAXPROCS(0)
	if c.Checkpoint {
		cores = 1
	}
	type result struct {
		h   plumbing.Hash
		err error
	}
	var outc chan result
	if c.Output != nil {
		outc = make(chan result, 1)
		write := func() {
			data, err := c.Output()
			if err != nil {
				outc <- result{err: fmt.Errorf("read output: %w", err)}
				return
			}
			h, err := r.writeBlobOn(data, cores)
			outc <- result{h, err}
		}
		if cores > 1 {
			go write()
		} else {
			write()
		}
	}
	entries, err := r.writeRunFiles(c, cores)
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
func (r *Repo) writeRunFiles(c *run.Contents, cores int) ([]TreeEntry, error) {
	text, err := codec.EncodeTOML(c.Record)
	if err != nil {
		return nil, err
	}
	recBlob, err := r.WriteBlob(text)
	if err != nil {
		return nil, err
	}
	histBlob, err := r.writeBlobOn(codec.EncodeHistory(c.History), cores)
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
		h, err := parseHash(a.Blob)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("artifact %s: %w", a.Path, err)
		}
		d.files[name] = TreeEntry{Name: name, Mode: mode, Hash: h}
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

// writeRunCommit writes the commit of a run whose tree is tree: its
// parents are the code it ran, its author the user who ran it, at the
// time it started (docs/FORMAT.md).
func (r *Repo) writeRunCommit(rec *run.Record, author run.Person, tree plumbing.Hash) (plumbing.Hash, error) {
	var parents []plumbing.Hash
	for _, p := range []string{rec.Source.Commit, rec.Source.Snapshot} {
		if p == "" {
			continue
		}
		h, err := parseHash(p)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("write run %s: source: %w", rec.ID, err)
		}
		parents = append(parents, h)
	}
	a, c := r.runSignatures(author, rec.Started)
	return r.WriteCommit(CommitSpec{Tree: tree, Parents: parents, Author: a, Committer: c, Message: commitMessage(rec)})
}

// commitMessage is a one-line summary that reads well in git log, then
// the run's identity as trailers.
func commitMessage(rec *run.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %s", rec.Name, rec.Status)
	keys := make([]string, 0, len(rec.Metrics))
	for k := range rec.Metrics {
		if !run.IsSystemMetric(k) { // the program's results, not the machine's
			keys = append(keys, k)
		}
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
