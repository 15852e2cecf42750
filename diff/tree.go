package diff

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitruns/gitruns/gitstore"
)

// Limits above which a file's content is not diffed.
const (
	binaryProbe = 8 << 10 // a NUL byte this early marks a binary file, as in git
	bigFile     = 1 << 20 // larger files are named, not diffed
)

// filePair is one path whose entry differs between the two trees; a or b
// is nil when the path is a file on one side only.
type filePair struct {
	path string
	a, b *object.TreeEntry
}

// rootTree reads the tree of commit c; nil (empty) for the zero hash.
func rootTree(repo *gitstore.Repo, c plumbing.Hash) (*object.Tree, error) {
	if c.IsZero() {
		return nil, nil
	}
	return repo.Tree(c)
}

// changedFiles lists the files that differ between the trees of commits a
// and b, sorted by path.
func changedFiles(repo *gitstore.Repo, a, b plumbing.Hash) ([]filePair, error) {
	ta, err := rootTree(repo, a)
	if err != nil {
		return nil, err
	}
	tb, err := rootTree(repo, b)
	if err != nil {
		return nil, err
	}
	var pairs []filePair
	if err := walk("", ta, tb, &pairs); err != nil {
		return nil, err
	}
	slices.SortFunc(pairs, func(x, y filePair) int { return cmp.Compare(x.path, y.path) })
	return pairs, nil
}

// walk appends to out the files that differ between trees ta and tb (nil
// for a missing directory), found below prefix.
func walk(prefix string, ta, tb *object.Tree, out *[]filePair) error {
	inA, inB := names(ta), names(tb)
	if ta != nil {
		for i := range ta.Entries {
			ea := &ta.Entries[i]
			eb := inB[ea.Name]
			if err := walkEntry(prefix, ta, tb, ea, eb, out); err != nil {
				return err
			}
		}
	}
	if tb != nil {
		for i := range tb.Entries {
			eb := &tb.Entries[i]
			if inA[eb.Name] == nil {
				if err := walkEntry(prefix, ta, tb, nil, eb, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// names indexes the entries of t (nil for none) by name. The entries'
// order cannot be merged directly: git sorts a directory as if its name
// ended in "/", so a file and a directory of one name sort apart.
func names(t *object.Tree) map[string]*object.TreeEntry {
	if t == nil {
		return nil
	}
	m := make(map[string]*object.TreeEntry, len(t.Entries))
	for i := range t.Entries {
		m[t.Entries[i].Name] = &t.Entries[i]
	}
	return m
}

// walkEntry compares one name of two directories. Identical entries,
// whole subtrees included, are skipped by hash: that is what keeps the
// comparison proportional to the difference.
func walkEntry(prefix string, ta, tb *object.Tree, ea, eb *object.TreeEntry, out *[]filePair) error {
	if ea != nil && eb != nil && ea.Hash == eb.Hash && ea.Mode == eb.Mode {
		return nil
	}
	name := ea
	if name == nil {
		name = eb
	}
	p := prefix + name.Name
	aDir := ea != nil && ea.Mode == filemode.Dir
	bDir := eb != nil && eb.Mode == filemode.Dir
	if !aDir && !bDir {
		*out = append(*out, filePair{path: p, a: ea, b: eb})
		return nil
	}
	var sa, sb *object.Tree
	var err error
	if aDir {
		if sa, err = subtree(ta, ea); err != nil {
			return err
		}
	} else if ea != nil {
		// A file became a directory.
		*out = append(*out, filePair{path: p, a: ea})
	}
	if bDir {
		if sb, err = subtree(tb, eb); err != nil {
			return err
		}
	} else if eb != nil {
		*out = append(*out, filePair{path: p, b: eb})
	}
	return walk(p+"/", sa, sb, out)
}

func subtree(parent *object.Tree, e *object.TreeEntry) (*object.Tree, error) {
	t, err := parent.Tree(e.Name)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", e.Hash, err)
	}
	return t, nil
}

// content reads the content of a file entry as git diffs it: a blob's
// bytes, or for a submodule the line git shows. A nil entry is empty.
func content(repo *gitstore.Repo, e *object.TreeEntry) ([]byte, error) {
	switch {
	case e == nil:
		return nil, nil
	case e.Mode == filemode.Submodule:
		return []byte("Subproject commit " + e.Hash.String() + "\n"), nil
	}
	return repo.ReadBlob(e.Hash)
}

func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), binaryProbe)], 0) >= 0
}

// statFiles reads and line-diffs every pair. Blob reads are serialised
// by the repository, but inflating is not all of the work: the line diffs
// run in parallel.
func statFiles(repo *gitstore.Repo, pairs []filePair) ([]FileChange, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make([]FileChange, len(pairs))
	errs := make([]error, len(pairs))
	workers := min(runtime.GOMAXPROCS(0), len(pairs))
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(pairs) {
					return
				}
				out[k], errs[k] = statFile(repo, pairs[k])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func statFile(repo *gitstore.Repo, p filePair) (FileChange, error) {
	fc := FileChange{Path: p.path, Kind: Modified}
	switch {
	case p.a == nil:
		fc.Kind = Added
	case p.b == nil:
		fc.Kind = Removed
	}
	a, err := content(repo, p.a)
	if err != nil {
		return fc, fmt.Errorf("diff %s: %w", p.path, err)
	}
	b, err := content(repo, p.b)
	if err != nil {
		return fc, fmt.Errorf("diff %s: %w", p.path, err)
	}
	fc.Binary = isBinary(a) || isBinary(b)
	fc.Big = len(a) > bigFile || len(b) > bigFile
	if fc.Binary || fc.Big {
		return fc, nil
	}
	fc.Added, fc.Removed = countChanges(string(a), string(b))
	return fc, nil
}
