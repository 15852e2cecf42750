package gitstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
)

// The record cache makes listing cheap: reading a record from git costs
// three object reads and a TOML parse, while the cache holds every listed
// record in one file in a compact binary form. It is keyed by run commit
// id, and a commit never changes, so an entry is never stale: at worst it
// is unused. Deleting the file is always safe; the next listing rebuilds
// it.

var cacheMagic = []byte("git-runs cache\x00\x01")

// Entry is one listed run.
type Entry struct {
	ID     string        // from the ref name
	Commit plumbing.Hash // the run commit
	Record *run.Record   // nil when Err is set
	Err    error         // the record could not be read
}

func (r *Repo) cachePath() string { return filepath.Join(r.PrivateDir(), "cache") }

// loadCache reads the cache file into a map from commit id to encoded
// record. A missing or damaged cache is an empty one.
func (r *Repo) loadCache() map[plumbing.Hash][]byte {
	data, err := os.ReadFile(r.cachePath())
	if err != nil || !bytes.HasPrefix(data, cacheMagic) {
		return nil
	}
	data = data[len(cacheMagic):]
	m := make(map[plumbing.Hash][]byte, len(data)/200)
	for len(data) > 0 {
		if len(data) < len(plumbing.ZeroHash) {
			return m
		}
		var h plumbing.Hash
		copy(h[:], data)
		data = data[len(h):]
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return m // a torn tail: keep what came before
		}
		m[h] = data[k : k+int(n)]
		data = data[k+int(n):]
	}
	return m
}

// writeCache replaces the cache file atomically, so that concurrent
// readers see the old or the new file, never a mix.
func (r *Repo) writeCache(entries []Entry, raw map[plumbing.Hash][]byte) error {
	buf := make([]byte, 0, len(entries)*256)
	buf = append(buf, cacheMagic...)
	for _, e := range entries {
		if e.Record == nil {
			continue
		}
		b, ok := raw[e.Commit]
		if !ok {
			b = e.Record.AppendBinary(nil)
		}
		buf = append(buf, e.Commit[:]...)
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	return writeFileAtomic(r.cachePath(), buf)
}

// ListRuns returns every run in the repository, newest first. A run whose
// record cannot be read is listed with Err set rather than failing the
// whole listing.
func (r *Repo) ListRuns() ([]Entry, error) {
	refs, err := r.ListRefs(RunsPrefix)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	cache := r.loadCache()
	entries := make([]Entry, 0, len(refs))
	misses := 0
	for i := len(refs) - 1; i >= 0; i-- {
		id := refs[i].Name[len(RunsPrefix):]
		if !run.ValidID(id) {
			continue // not ours: someone else's ref under refs/runs
		}
		e := Entry{ID: id, Commit: refs[i].Hash}
		if b, ok := cache[e.Commit]; ok {
			if rec, err := run.DecodeBinary(b); err == nil {
				e.Record = rec
			}
		}
		if e.Record == nil {
			misses++
			e.Record, e.Err = r.RecordAt(e.Commit)
		}
		entries = append(entries, e)
	}
	// Rewrite when something was read from git, or when a quarter of the
	// cache is for commits no longer listed (deleted or superseded runs).
	if misses > 0 || len(cache) > len(entries)+len(entries)/4+16 {
		// The cache only saves time: a read-only repository or a full
		// disk must not stop a listing.
		_ = r.writeCache(entries, cache)
	}
	return entries, nil
}
