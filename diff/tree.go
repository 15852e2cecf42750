package diff

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/gitruns/gitruns/run"
)

// Limits above which a file's content is not diffed.
const (
	binaryProbe = 8 << 10 // a NUL byte this early marks a binary file, as in git
	bigFile     = 1 << 20 // larger files are named, not diffed
)

// Git's modes of tree entries, as run.CodeEntry.Mode holds them, of the
// two kinds that the walk and the diff treat apart from files.
const (
	modeDir       = 0o040000
	modeSubmodule = 0o160000
)

// filePair is one path whose entry differs between the two trees; a or b
// is nil when the path is a file on one side only.
type filePair struct {
	path string
	a, b *run.CodeEntry
}

// tree is one directory of a side's code, as Code.CodeEntries lists it.
// The zero tree is empty: a directory missing on one side, or no code.
type tree struct {
	entries []run.CodeEntry
	// byName indexes entries by name, made on the first lookup. Entries
	// cannot be merged in their order instead: git sorts a directory as
	// if its name ended in "/", so a file and a directory of one name
	// sort apart.
	byName map[string]*run.CodeEntry
}

// readTree reads the tree of id, "" meaning the empty tree.
func readTree(code Code, id string) (*tree, error) {
	if id == "" {
		return &tree{}, nil
	}
	entries, err := code.CodeEntries(id)
	if err != nil {
		return nil, err
	}
	return &tree{entries: entries}, nil
}

// entry returns the entry called name, nil when there is none.
func (t *tree) entry(name string) *run.CodeEntry {
	if t.byName == nil && len(t.entries) > 0 {
		t.byName = make(map[string]*run.CodeEntry, len(t.entries))
		for i := range t.entries {
			t.byName[t.entries[i].Name] = &t.entries[i]
		}
	}
	return t.byName[name]
}

// rootTree returns the id of the root tree of commit c; "" (empty) for no
// commit.
func rootTree(code Code, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	return code.CodeTree(c)
}

// changedFiles lists the files that differ between the trees of commits a
// and b, sorted by path.
func changedFiles(code Code, a, b string) ([]filePair, error) {
	ra, err := rootTree(code, a)
	if err != nil {
		return nil, err
	}
	rb, err := rootTree(code, b)
	if err != nil {
		return nil, err
	}
	if ra == rb {
		// The same code, as after a rerun of a clean commit: nothing to read.
		return nil, nil
	}
	ta, err := readTree(code, ra)
	if err != nil {
		return nil, err
	}
	tb, err := readTree(code, rb)
	if err != nil {
		return nil, err
	}
	w := walker{code: code}
	if err := w.walk("", ta, tb); err != nil {
		return nil, err
	}
	slices.SortFunc(w.out, func(x, y filePair) int { return cmp.Compare(x.path, y.path) })
	return w.out, nil
}

// walker collects the files that differ between two trees, reading
// subtrees as it descends into them.
type walker struct {
	code Code
	out  []filePair
}

// walk collects the files that differ between directories ta and tb,
// found below prefix.
func (w *walker) walk(prefix string, ta, tb *tree) error {
	for i := range ta.entries {
		ea := &ta.entries[i]
		if err := w.walkEntry(prefix, ea, tb.entry(ea.Name)); err != nil {
			return err
		}
	}
	for i := range tb.entries {
		eb := &tb.entries[i]
		if ta.entry(eb.Name) == nil {
			if err := w.walkEntry(prefix, nil, eb); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkEntry compares one name of two directories. Identical entries,
// whole subtrees included, are skipped by id before anything below them
// is read: that is what keeps the comparison proportional to the
// difference.
func (w *walker) walkEntry(prefix string, ea, eb *run.CodeEntry) error {
	if ea != nil && eb != nil && ea.ID == eb.ID && ea.Mode == eb.Mode {
		return nil
	}
	name := ea
	if name == nil {
		name = eb
	}
	p := prefix + name.Name
	aDir := ea != nil && ea.Mode == modeDir
	bDir := eb != nil && eb.Mode == modeDir
	if !aDir && !bDir {
		w.out = append(w.out, filePair{path: p, a: ea, b: eb})
		return nil
	}
	sa, sb := &tree{}, &tree{}
	var err error
	if aDir {
		if sa, err = readTree(w.code, ea.ID); err != nil {
			return fmt.Errorf("compare %s: %w", p, err)
		}
	} else if ea != nil {
		// A file became a directory.
		w.out = append(w.out, filePair{path: p, a: ea})
	}
	if bDir {
		if sb, err = readTree(w.code, eb.ID); err != nil {
			return fmt.Errorf("compare %s: %w", p, err)
		}
	} else if eb != nil {
		w.out = append(w.out, filePair{path: p, b: eb})
	}
	return w.walk(p+"/", sa, sb)
}

// content reads the content of a file entry as git diffs it: a blob's
// bytes (a link's target), or for a submodule the line git shows. A nil
// entry is empty.
func content(code Code, e *run.CodeEntry) ([]byte, error) {
	switch {
	case e == nil:
		return nil, nil
	case e.Mode == modeSubmodule:
		return []byte("Subproject commit " + e.ID + "\n"), nil
	}
	return code.CodeBlob(e.ID)
}

func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), binaryProbe)], 0) >= 0
}

// statFiles reads and line-diffs every pair, several at once: Code is safe
// for concurrent use, and even where a store serialises its reads (the git
// store does), reading is not all of the work: the line diffs run in
// parallel.
func statFiles(code Code, pairs []filePair) ([]FileChange, error) {
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
				out[k], errs[k] = statFile(code, pairs[k])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func statFile(code Code, p filePair) (FileChange, error) {
	fc := FileChange{Path: p.path, Kind: Modified}
	switch {
	case p.a == nil:
		fc.Kind = Added
	case p.b == nil:
		fc.Kind = Removed
	}
	a, err := content(code, p.a)
	if err != nil {
		return fc, fmt.Errorf("diff %s: %w", p.path, err)
	}
	b, err := content(code, p.b)
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
