package gitstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
)

// DeletedPrefix holds the tombstones of deleted runs, one ref per id. A
// tombstone travels with push and fetch like a run, so that a run deleted
// on one clone is deleted on every clone it reaches, rather than brought
// back by the next push of a clone that still had it.
const DeletedPrefix = "refs/runs-deleted/"

// writeTombstone records that run id was deleted: a commit with an empty
// tree, so that it holds none of the run's data (which git gc may then
// prune, secrets pushed by mistake included). An existing tombstone is
// kept.
func (r *Repo) writeTombstone(id string) error {
	if _, err := r.ReadRef(DeletedPrefix + id); err == nil {
		return nil
	}
	tree, err := r.WriteTree(nil)
	if err != nil {
		return fmt.Errorf("write tombstone of %s: %w", id, err)
	}
	author, committer := r.signatures(time.Now())
	c, err := r.WriteCommit(CommitSpec{
		Tree: tree, Author: author, Committer: committer,
		Message: fmt.Sprintf("run %s deleted\n\nRun-Id: %s\n", id, id),
	})
	if err != nil {
		return fmt.Errorf("write tombstone of %s: %w", id, err)
	}
	err = r.UpdateRef(DeletedPrefix+id, c, plumbing.ZeroHash)
	if errors.Is(err, ErrRefChanged) {
		return nil // another process wrote it first
	}
	return err
}

// Tombstones returns the ids of the runs deleted here or on a remote
// fetched from, with the commit of each tombstone.
func (r *Repo) Tombstones() (map[string]plumbing.Hash, error) {
	return r.idRefs(DeletedPrefix)
}

// idRefs lists the refs under prefix whose last part is a run id.
func (r *Repo) idRefs(prefix string) (map[string]plumbing.Hash, error) {
	refs, err := r.ListRefs(prefix)
	if err != nil {
		return nil, err
	}
	m := make(map[string]plumbing.Hash, len(refs))
	for _, ref := range refs {
		if id := strings.TrimPrefix(ref.Name, prefix); run.ValidID(id) {
			m[id] = ref.Hash
		}
	}
	return m, nil
}

// Removed returns the ids of the runs removed for good, here or on a
// remote fetched from: those with a tombstone, as importer.Removals
// says.
func (r *Repo) Removed() ([]string, error) {
	tombs, err := r.Tombstones()
	if err != nil {
		return nil, fmt.Errorf("list removed runs: %w", err)
	}
	ids := make([]string, 0, len(tombs))
	for id := range tombs {
		ids = append(ids, id)
	}
	return ids, nil
}
