package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// Experiments are refs too: refs/runs-experiments/<id> points at a commit
// whose tree holds one file, experiment.toml. Each save is a commit whose
// parent is the one before, so that an experiment's history is a chain
// and a push of an edit is a fast-forward; a merge of two clones' edits
// is a commit with both as parents (docs/FORMAT.md, "Experiments").

// ExperimentsPrefix holds the experiments, one ref per id.
const ExperimentsPrefix = "refs/runs-experiments/"

// ExperimentFile is the one file of an experiment commit's tree.
const ExperimentFile = "experiment.toml"

// ExperimentRef returns the ref of experiment id.
func ExperimentRef(id string) string { return ExperimentsPrefix + id }

// maxCachedExperiments bounds the experiments kept decoded in memory: far
// more than any project has, and a bound on what a remote with millions
// of experiment refs can make a listing keep.
const maxCachedExperiments = 4096

// experimentCache keeps experiments as decoded, by commit: a commit never
// changes, so an entry is never stale, and a listing reads from git only
// the experiments that moved since the last one.
type experimentCache struct {
	mu sync.Mutex
	m  map[plumbing.Hash]*run.Experiment
}

func (c *experimentCache) get(h plumbing.Hash) (*run.Experiment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	return e, ok
}

func (c *experimentCache) put(h plumbing.Hash, e *run.Experiment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedExperiments {
		c.m = map[plumbing.Hash]*run.Experiment{}
	}
	c.m[h] = e
}

// Experiments lists the experiments stored here, each with its commit. One
// whose experiment.toml cannot be read, or names another id than its
// ref, is listed with Err set, in one line that names the ref.
func (r *Repo) Experiments(ctx context.Context) ([]run.ExperimentEntry, error) {
	refs, err := r.experimentRefs(ExperimentsPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]run.ExperimentEntry, 0, len(refs))
	for _, id := range slices.Sorted(maps.Keys(refs)) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := refs[id]
		en := run.ExperimentEntry{ID: id, Commit: h.String()}
		e, err := r.experimentAt(id, h)
		if err != nil {
			en.Err = fmt.Errorf("%s: %w", ExperimentRef(id), err)
		} else {
			c := e.Clone()
			en.Experiment = &c
		}
		out = append(out, en)
	}
	return out, nil
}

// experimentRefs lists the refs under prefix whose last part is an
// experiment id. Others are not git-runs' and are left alone.
func (r *Repo) experimentRefs(prefix string) (map[string]plumbing.Hash, error) {
	refs, err := r.ListRefs(prefix)
	if err != nil {
		return nil, err
	}
	m := make(map[string]plumbing.Hash, len(refs))
	for _, ref := range refs {
		if id := strings.TrimPrefix(ref.Name, prefix); run.ValidExperimentID(id) {
			m[id] = ref.Hash
		}
	}
	return m, nil
}

// experimentAt reads experiment id as commit h holds it, with errors that
// start with the file's name. The result is shared with the cache: callers
// clone it before handing it out.
func (r *Repo) experimentAt(id string, h plumbing.Hash) (*run.Experiment, error) {
	if e, ok := r.exps.get(h); ok && e.ID == id {
		return e, nil
	}
	text, err := r.readPathMax(h, ExperimentFile, run.MaxExperimentSize)
	if err != nil {
		return nil, err
	}
	e, err := codec.DecodeExperiment(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ExperimentFile, err)
	}
	if e.ID != id {
		// A fetched experiment could otherwise pass itself off as another.
		return nil, fmt.Errorf("%s: id %s does not match the ref", ExperimentFile, e.ID)
	}
	r.exps.put(h, e)
	return e, nil
}

// SaveExperiment writes e as a commit on top of old, the commit experiment
// e.ID is at ("" for none yet: a commit without parents), and moves its ref
// there with compare-and-swap: run.ErrExists when old is "" and the
// experiment exists, run.ErrConflict when it is no longer at old,
// run.ErrNotFound when old is set and the experiment is not stored.
func (r *Repo) SaveExperiment(ctx context.Context, e *run.Experiment, old string) (string, error) {
	if !run.ValidExperimentID(e.ID) {
		return "", fmt.Errorf("save experiment: invalid id %q", e.ID)
	}
	oldHash := plumbing.ZeroHash
	var parents []plumbing.Hash
	if old != "" {
		var err error
		if oldHash, err = parseHash(old); err != nil {
			return "", fmt.Errorf("save experiment %s: %w", e.ID, err)
		}
		parents = []plumbing.Hash{oldHash}
	}
	c, err := r.writeExperimentCommit(e, parents)
	if err != nil {
		return "", err
	}
	if err := r.moveExperimentRef(e.ID, c, oldHash); err != nil {
		return "", err
	}
	saved := e.Clone()
	r.exps.put(c, &saved)
	return c.String(), nil
}

// writeExperimentCommit writes the blob, tree and commit of e, with
// parents, by the identity that records runs here.
func (r *Repo) writeExperimentCommit(e *run.Experiment, parents []plumbing.Hash) (plumbing.Hash, error) {
	text, err := codec.EncodeExperiment(e)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("save experiment %s: %w", e.ID, err)
	}
	tree, err := r.experimentTree(text)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("save experiment %s: %w", e.ID, err)
	}
	author, committer := r.signatures(time.Now())
	c, err := r.WriteCommit(CommitSpec{Tree: tree, Parents: parents, Author: author, Committer: committer, Message: experimentMessage(e, "")})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("save experiment %s: %w", e.ID, err)
	}
	return c, nil
}

func (r *Repo) experimentTree(text []byte) (plumbing.Hash, error) {
	blob, err := r.WriteBlob(text)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return r.WriteTree([]TreeEntry{{Name: ExperimentFile, Mode: filemode.Regular, Hash: blob}})
}

// experimentMessage is a line that reads well in git log, what happened
// when it is more than a save, and the id as a trailer.
func experimentMessage(e *run.Experiment, what string) string {
	var b strings.Builder
	b.WriteString("experiment " + e.Name)
	if e.Deleted {
		b.WriteString(" (deleted)")
	}
	if what != "" {
		b.WriteString(": " + what)
	}
	b.WriteString("\n\nExperiment-Id: " + e.ID + "\n")
	return b.String()
}

// moveExperimentRef moves experiment id's ref from old (zero: none) to c,
// turning the ref's errors into the store's.
func (r *Repo) moveExperimentRef(id string, c, old plumbing.Hash) error {
	err := r.UpdateRef(ExperimentRef(id), c, old)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRefChanged) && old.IsZero():
		return run.Exists("experiment %s already exists", id)
	case errors.Is(err, errNotFound):
		return run.NotFound("no experiment %s", id)
	case errors.Is(err, ErrRefChanged):
		return run.Conflict("save experiment %s: %v", id, err)
	case errors.Is(err, fs.ErrExist):
		// Another writer held the ref past git's lock timeout: by the
		// time it lets go, the experiment has likely moved.
		return run.Conflict("save experiment %s: %v", id, err)
	}
	return fmt.Errorf("save experiment %s: %w", id, err)
}
