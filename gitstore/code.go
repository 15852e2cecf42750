package gitstore

import (
	"encoding/hex"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitruns/gitruns/run"
)

// The code runs ran, read by id for package diff (its Code interface, whose
// comment is the contract). Ids are strings so that no go-git type reaches
// the diff's API; each is checked before it is looked up, so that a
// malformed id is an error of its own and never passes for a missing
// object. Reads go through withStorage, which makes them safe from any
// goroutine.

// CodeTree returns the id of the root tree of commit, or an error wrapping
// run.ErrNotFound when the repository holds no commit of that id (an id
// naming a tree or a blob included).
func (r *Repo) CodeTree(commit string) (string, error) {
	h, err := parseHash(commit)
	if err != nil {
		return "", fmt.Errorf("read commit: %w", err)
	}
	c, err := r.ReadCommit(h)
	if err != nil {
		return "", err
	}
	return c.TreeHash.String(), nil
}

// CodeEntries returns the entries of tree id in the order the tree object
// holds them, which is git's, or an error wrapping run.ErrNotFound when
// the repository holds no tree of that id.
func (r *Repo) CodeEntries(tree string) ([]run.CodeEntry, error) {
	h, err := parseHash(tree)
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	t, err := object.GetTree(objectStore{r}, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, notFound(err))
	}
	// One string holds the ids of all entries, each ID a slice of it: one
	// allocation per tree instead of one per entry, which a diff walking
	// large directories notices.
	const idLen = 2 * len(plumbing.Hash{})
	hexIDs := make([]byte, 0, idLen*len(t.Entries))
	for _, e := range t.Entries {
		hexIDs = hex.AppendEncode(hexIDs, e.Hash[:])
	}
	ids := string(hexIDs)
	entries := make([]run.CodeEntry, len(t.Entries))
	for i, e := range t.Entries {
		entries[i] = run.CodeEntry{Name: e.Name, Mode: uint32(e.Mode), ID: ids[i*idLen : (i+1)*idLen]}
	}
	return entries, nil
}

// CodeBlob returns the content of blob id, or an error wrapping
// run.ErrNotFound when the repository holds no blob of that id.
func (r *Repo) CodeBlob(id string) ([]byte, error) {
	h, err := parseHash(id)
	if err != nil {
		return nil, fmt.Errorf("read blob: %w", err)
	}
	return r.ReadBlob(h)
}
