package gitstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
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
			b = codec.AppendBinary(nil, e.Record)
		}
		buf = append(buf, e.Commit[:]...)
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	return writeFileAtomic(r.cachePath(), buf)
}

// batchReadMin is the number of records missing from the cache from which
// a listing reads them with one git cat-file process.
var batchReadMin = 256

// batchRecords counts the records read by readRecordsBatch, for tests to
// see that the batch path ran.
var batchRecords atomic.Int64

// readRecordsBatch fills in the records of entries[missed] with one
// `git cat-file --batch`. Whatever it cannot read is left for RecordAt.
func (r *Repo) readRecordsBatch(entries []Entry, missed []int) {
	if CheckGit() != nil {
		return
	}
	cmd := exec.Command("git", "cat-file", "--batch")
	cmd.Dir = r.gitCwd()
	cmd.Env = r.gitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return
	}
	if err := cmd.Start(); err != nil {
		return
	}
	go func() {
		w := bufio.NewWriterSize(stdin, 64<<10)
		for _, i := range missed {
			w.WriteString(entries[i].Commit.String() + ":" + RecordFile + "\n")
		}
		w.Flush()
		stdin.Close()
	}()
	br := bufio.NewReaderSize(stdout, 256<<10)
	for _, i := range missed {
		header, err := br.ReadString('\n')
		if err != nil {
			break
		}
		f := strings.Fields(header)
		if len(f) != 3 || f[1] != "blob" {
			continue // "<name> missing": RecordAt will say why
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			break
		}
		body := make([]byte, size+1) // and the newline after it
		if _, err := io.ReadFull(br, body); err != nil {
			break
		}
		if rec, err := codec.DecodeTOML(body[:size]); err == nil {
			entries[i].Record = rec
			batchRecords.Add(1)
		}
	}
	io.Copy(io.Discard, br)
	cmd.Wait()
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
	var missed []int
	for i := len(refs) - 1; i >= 0; i-- {
		id := refs[i].Name[len(RunsPrefix):]
		if !run.ValidID(id) {
			continue // not ours: someone else's ref under refs/runs
		}
		e := Entry{ID: id, Commit: refs[i].Hash}
		if b, ok := cache[e.Commit]; ok {
			if rec, err := codec.DecodeBinary(b); err == nil {
				e.Record = rec
			}
		}
		if e.Record == nil {
			missed = append(missed, len(entries))
		}
		entries = append(entries, e)
	}
	misses := len(missed)
	if misses >= batchReadMin {
		// Many records to read (a fresh clone, a big fetch): git's own
		// cat-file reads them several times faster than object-by-object
		// reads through go-git.
		r.readRecordsBatch(entries, missed)
	}
	for _, i := range missed {
		if entries[i].Record == nil && entries[i].Err == nil {
			entries[i].Record, entries[i].Err = r.RecordAt(entries[i].Commit)
		}
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
