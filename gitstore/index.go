package gitstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/index"
)

// The run index (package run/index) lives in .git/runs/index/: segment
// files, and a state file naming the base and delta segments in use and
// the state of the refs they reflect: packed-refs by its size, time and
// inode, and the ids of the loose run refs. Whether the index is current
// is then told by one stat and one read of the loose refs directory,
// however many runs there are; which runs changed, by comparing the loose
// refs (and, only when packed-refs changed, every ref) with the index.
// Changes go into the delta, which is merged into a new base once it
// holds an eighth of the runs. docs/DESIGN.md says why.

const indexStateMagic = "git-runs index state 1"

func (r *Repo) indexDir() string { return filepath.Join(r.privateDir(), "index") }

// indexState is what the state file holds.
type indexState struct {
	base, delta string // file names in indexDir, "" for none
	packed      string // the stat of packed-refs, "" when there is none
	loose       []string
}

func (s *indexState) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nbase %s\ndelta %s\npacked %s\n", indexStateMagic, orNone(s.base), orNone(s.delta), orNone(s.packed))
	for _, id := range s.loose {
		b.WriteString(id + "\n")
	}
	return b.Bytes()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func readIndexState(path string) (*indexState, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 5 || lines[0] != indexStateMagic || lines[len(lines)-1] != "" {
		return nil, false
	}
	s := &indexState{}
	for i, key := range []string{"base ", "delta ", "packed "} {
		v, ok := strings.CutPrefix(lines[i+1], key)
		if !ok || strings.ContainsAny(v, "/\\") {
			return nil, false
		}
		if v == "-" {
			v = ""
		}
		*[]*string{&s.base, &s.delta, &s.packed}[i] = v
	}
	for _, id := range lines[4 : len(lines)-1] {
		if !run.ValidID(id) {
			return nil, false
		}
		s.loose = append(s.loose, id)
	}
	return s, true
}

// packedStat describes packed-refs well enough to tell a rewrite: git
// replaces it by rename, so a new inode, and its size and time change.
func (r *Repo) packedStat() (string, error) {
	fi, err := os.Stat(filepath.Join(r.CommonDir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	ino := uint64(0)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	return fmt.Sprintf("%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(), ino), nil
}

// looseRuns returns the loose run refs.
func (r *Repo) looseRuns() (map[string]plumbing.Hash, error) {
	for attempt := 0; ; attempt++ {
		var loose []Ref
		var buf [256]byte
		err := r.walkLoose(RunsPrefix, RunsPrefix, &loose, buf[:])
		var broken *brokenRefError
		if errors.As(err, &broken) && attempt < brokenRefAttempts {
			backoff(attempt)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		m := make(map[string]plumbing.Hash, len(loose))
		for _, l := range loose {
			if id := l.Name[len(RunsPrefix):]; run.ValidID(id) && !l.Hash.IsZero() {
				m[id] = l.Hash
			}
		}
		return m, nil
	}
}

// openedIndex is the index a Repo holds open, with the state it was
// found at, so that a long-lived process checks it and opens it once.
type openedIndex struct {
	x     *index.Index
	state string // the state file's content it was opened from
	files [2]string
}

// RunIndex returns the index of the repository's runs as the refs are
// now, bringing it up to date first: only the runs whose refs changed
// since it was last brought up to date are read. The index stays valid
// until the Repo is closed, even after another call returns a newer one.
func (r *Repo) RunIndex(ctx context.Context) (*index.Index, error) {
	x, err := r.runIndex(ctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, fs.ErrNotExist) {
		// Someone removed the index while we wrote it (it is safe to
		// delete at any time): write it again.
		x, err = r.runIndex(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("index runs: %w", err)
	}
	return x, nil
}

func (r *Repo) runIndex(ctx context.Context) (*index.Index, error) {
	statePath := filepath.Join(r.indexDir(), "state")
	if x, ok, err := r.currentIndex(statePath); err != nil || ok {
		return x, err
	}
	lock, err := r.createLock(statePath, 30*time.Second, true)
	if err != nil {
		return nil, err
	}
	defer lock.release()
	// Another process may have brought it up to date while we waited.
	if x, ok, err := r.currentIndex(statePath); err != nil || ok {
		return x, err
	}
	st, _ := readIndexState(statePath)
	old, err := r.openState(st)
	if err != nil {
		st, old = nil, index.New(nil, nil) // damaged: build anew
	}
	next, x, err := r.updateIndex(ctx, st, old)
	if err != nil {
		return nil, err
	}
	text := next.encode()
	if err := writeFileAtomic(statePath, text); err != nil {
		return nil, err
	}
	r.removeOldSegments(next)
	r.keepIndex(x, string(text), next)
	return x, nil
}

// currentIndex returns the index if the state file describes the refs
// as they are now.
func (r *Repo) currentIndex(statePath string) (*index.Index, bool, error) {
	data, err := os.ReadFile(statePath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	st, ok := readIndexState(statePath)
	if !ok || string(data) != string(st.encode()) {
		return nil, false, nil
	}
	packed, err := r.packedStat()
	if err != nil {
		return nil, false, err
	}
	loose, err := r.looseRuns()
	if err != nil {
		return nil, false, err
	}
	if packed != st.packed || len(loose) != len(st.loose) {
		return nil, false, nil
	}
	r.idxMu.Lock()
	held := r.idx
	r.idxMu.Unlock()
	var x *index.Index
	if held != nil && held.state == string(data) {
		x = held.x
	} else if x, err = r.openState(st); err != nil {
		return nil, false, nil
	}
	for id, h := range loose {
		if row, ok := x.Get(id); !ok || row.Commit != index.Commit(h) {
			return nil, false, nil
		}
	}
	if held == nil || held.x != x {
		r.keepIndex(x, string(data), st)
	}
	return x, true, nil
}

// keepIndex holds x as the Repo's index. The one it replaces stays open:
// callers may still read rows of it, and segments are small to keep.
func (r *Repo) keepIndex(x *index.Index, state string, st *indexState) {
	r.idxMu.Lock()
	defer r.idxMu.Unlock()
	if r.idx != nil {
		r.idxOld = append(r.idxOld, r.idx.x)
	}
	r.idx = &openedIndex{x: x, state: state, files: [2]string{st.base, st.delta}}
}

// openState opens the segments st names.
func (r *Repo) openState(st *indexState) (*index.Index, error) {
	if st == nil {
		return index.New(nil, nil), nil
	}
	var segs [2]*index.Segment
	for i, name := range []string{st.base, st.delta} {
		if name == "" {
			continue
		}
		s, err := index.Open(filepath.Join(r.indexDir(), name))
		if err != nil {
			segs[0].Close()
			return nil, err
		}
		segs[i] = s
	}
	return index.New(segs[0], segs[1]), nil
}

// removeOldSegments deletes the segment files st does not name. A process
// that has one open keeps reading it: the file goes when it is unmapped.
func (r *Repo) removeOldSegments(st *indexState) {
	entries, _ := os.ReadDir(r.indexDir())
	for _, e := range entries {
		n := e.Name()
		if (strings.HasPrefix(n, "base-") || strings.HasPrefix(n, "delta-")) && n != st.base && n != st.delta {
			os.Remove(filepath.Join(r.indexDir(), n))
		}
	}
	os.Remove(r.cachePath()) // the record cache of earlier versions
}

// change is a run whose ref is not where the index has it.
type change struct {
	id     string
	commit plumbing.Hash // zero when the run is gone
}

// updateIndex works out what changed since st and writes the segments
// that take it in.
func (r *Repo) updateIndex(ctx context.Context, st *indexState, old *index.Index) (*indexState, *index.Index, error) {
	packed, err := r.packedStat()
	if err != nil {
		return nil, nil, err
	}
	loose, err := r.looseRuns()
	if err != nil {
		return nil, nil, err
	}
	var changes []change
	if st != nil && st.packed == packed {
		changes, err = r.looseChanges(old, st.loose, loose)
	} else {
		// Every ref, and perhaps every record, is about to pass through
		// memory, most of it living to the end: collecting sooner keeps
		// the peak near what lives rather than a multiple of it.
		defer debug.SetGCPercent(debug.SetGCPercent(40))
		changes, err = r.allChanges(old)
	}
	if err != nil {
		return nil, nil, err
	}
	next := &indexState{base: "", delta: "", packed: packed}
	for id := range loose {
		next.loose = append(next.loose, id)
	}
	slices.Sort(next.loose)
	if st != nil {
		next.base, next.delta = st.base, st.delta
	}
	if len(changes) == 0 && st != nil {
		return next, old, nil
	}
	x, err := r.writeSegments(ctx, old, changes, next)
	return next, x, err
}

// looseChanges finds the runs that changed when only loose refs did: the
// loose refs now, and those loose before, which now read from packed-refs
// (or are gone).
func (r *Repo) looseChanges(old *index.Index, before []string, loose map[string]plumbing.Hash) ([]change, error) {
	var out []change
	for id, h := range loose {
		if row, ok := old.Get(id); !ok || row.Commit != index.Commit(h) {
			out = append(out, change{id, h})
		}
	}
	var gone []string
	for _, id := range before {
		if _, ok := loose[id]; !ok {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return out, nil
	}
	p, err := r.loadPacked()
	if err != nil {
		return nil, err
	}
	for _, id := range gone {
		h, _ := p.lookup(RefName(id))
		if row, ok := old.Get(id); ok != !h.IsZero() || ok && row.Commit != index.Commit(h) {
			out = append(out, change{id, h})
		}
	}
	return out, nil
}

// allChanges compares every run ref with the index.
func (r *Repo) allChanges(old *index.Index) ([]change, error) {
	all, err := r.ListRefs(RunsPrefix)
	if err != nil {
		return nil, err
	}
	// Refs come sorted by name, so by id.
	refs := all[:0]
	for _, ref := range all {
		if run.ValidID(ref.Name[len(RunsPrefix):]) && !ref.Hash.IsZero() {
			refs = append(refs, ref)
		}
	}
	// Ids are copied out of the names, which point into the whole text
	// of packed-refs: 78 MB at a million runs, freed once this returns.
	id := func(j int) string { return strings.Clone(refs[j].Name[len(RunsPrefix):]) }
	var out []change
	j := 0
	old.Oldest(func(row index.Row) bool {
		for ; j < len(refs) && id(j) < row.ID; j++ {
			out = append(out, change{id(j), refs[j].Hash})
		}
		if j < len(refs) && id(j) == row.ID {
			if index.Commit(refs[j].Hash) != row.Commit {
				out = append(out, change{row.ID, refs[j].Hash})
			}
			j++
		} else {
			out = append(out, change{row.ID, plumbing.ZeroHash})
		}
		return true
	})
	for ; j < len(refs); j++ {
		out = append(out, change{id(j), refs[j].Hash})
	}
	if len(refs) > bigPacked {
		r.refsMu.Lock()
		r.packed = nil // read again if asked: holding it doubles the peak
		r.refsMu.Unlock()
	}
	return out, nil
}

// bigPacked is the number of refs from which a full comparison lets go
// of the parsed packed-refs.
const bigPacked = 100_000

// writeSegments writes the changes into a new delta, or a new base when
// the delta would hold too much, and names the new files in next.
func (r *Repo) writeSegments(ctx context.Context, old *index.Index, changes []change, next *indexState) (*index.Index, error) {
	changed := make(map[string]plumbing.Hash, len(changes))
	for _, c := range changes {
		changed[c.id] = c.commit
	}
	baseLen := 0
	if old.Base != nil {
		baseLen = old.Base.Len()
	}
	deltaLen := len(changes)
	if old.Delta != nil {
		deltaLen += old.Delta.Len() + len(old.Delta.Removed())
	}
	compact := old.Base == nil || deltaLen > max(deltaMin, baseLen/8)
	if err := os.MkdirAll(r.indexDir(), 0o755); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("delta-%d-%d", time.Now().UnixNano(), os.Getpid())
	if compact {
		name = "base" + name[len("delta"):]
	}
	b, err := index.NewBuilder(filepath.Join(r.indexDir(), name))
	if err != nil {
		return nil, err
	}
	// What stays: every run of the old index (compacting) or of its delta
	// that did not change.
	keep := func(row index.Row) bool {
		if _, ok := changed[row.ID]; !ok {
			addRow(b, row)
		}
		return true
	}
	if compact {
		old.Oldest(keep)
	} else if old.Delta != nil {
		for i := range old.Delta.Len() {
			keep(old.Delta.Row(i))
		}
		for _, id := range old.Delta.Removed() {
			if _, ok := changed[id]; !ok {
				b.Remove(id)
			}
		}
	}
	var fresh []change
	for _, c := range changes {
		if !c.commit.IsZero() {
			fresh = append(fresh, c)
		} else if !compact {
			if _, inBase := old.Base.Find(c.id); inBase {
				b.Remove(c.id)
			}
		}
	}
	if err := r.addRecords(ctx, b, fresh); err != nil {
		b.Abort()
		return nil, err
	}
	if err := b.Finish(); err != nil {
		return nil, err
	}
	if compact {
		next.base, next.delta = name, ""
	} else {
		next.delta = name
	}
	return r.openState(next)
}

// addRow copies a row of another segment.
func addRow(b *index.Builder, row index.Row) {
	if row.Raw == nil {
		b.Add(row.ID, row.Commit, nil, nil)
		return
	}
	rec, err := codec.DecodeBinary(row.Raw)
	if err != nil {
		b.Add(row.ID, row.Commit, nil, nil)
		return
	}
	b.Add(row.ID, row.Commit, rec, row.Raw)
}

// addRecords reads the records of runs and adds them. Many are read
// through one git cat-file, decoded beside it; the rest, and what that
// could not read, through go-git. A record that cannot be read is added
// as unreadable: listings say why by reading it again.
func (r *Repo) addRecords(ctx context.Context, b *index.Builder, runs []change) error {
	done := make([]bool, len(runs))
	if len(runs) >= batchReadMin {
		err := r.streamRecords(ctx, runs, func(i int, rec *run.Record) {
			b.Add(runs[i].id, index.Commit(runs[i].commit), rec, codec.AppendBinary(nil, rec))
			done[i] = true
		})
		if err != nil {
			return err
		}
	}
	for i, c := range runs {
		if done[i] {
			continue
		}
		if i%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := r.recordAt(c.commit.String())
		if err == nil {
			err = checkRecordID(rec, c.id)
		}
		if err != nil {
			b.Add(c.id, index.Commit(c.commit), nil, nil)
			continue
		}
		b.Add(c.id, index.Commit(c.commit), rec, codec.AppendBinary(nil, rec))
	}
	return nil
}

// lookup returns the hash of ref name in packed-refs.
func (p *packedRefs) lookup(name string) (plumbing.Hash, bool) {
	i, ok := slices.BinarySearchFunc(p.refs, name, func(e packedRef, n string) int { return strings.Compare(e.Name, n) })
	if !ok {
		return plumbing.ZeroHash, false
	}
	return p.refs[i].Hash, true
}

// deltaMin is the number of changed runs a delta may hold whatever the
// size of the base: rewriting a small base costs less than reading a
// long delta.
var deltaMin = 4096
