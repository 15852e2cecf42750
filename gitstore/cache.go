package gitstore

import (
	"bufio"
	"bytes"
	"context"
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
	"github.com/gitruns/gitruns/run/index"
)

// The record cache makes listing cheap: reading a record from git costs
// three object reads and a TOML parse, while the cache holds every listed
// record in one file in a compact binary form. It is keyed by run commit
// id, and a commit never changes, so an entry is never stale: at worst it
// is unused. Deleting the file is always safe; the next listing rebuilds
// it.

var cacheMagic = []byte("git-runs cache\x00\x01")

// listed is one run while a listing reads it.
type listed struct {
	id     string
	commit plumbing.Hash
	rec    *run.Record
	err    error
}

func (r *Repo) cachePath() string { return filepath.Join(r.privateDir(), "cache") }

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
func (r *Repo) writeCache(entries []listed, raw map[plumbing.Hash][]byte) error {
	buf := make([]byte, 0, len(entries)*256)
	buf = append(buf, cacheMagic...)
	for _, e := range entries {
		if e.rec == nil {
			continue
		}
		b, ok := raw[e.commit]
		if !ok {
			b = codec.AppendBinary(nil, e.rec)
		}
		buf = append(buf, e.commit[:]...)
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
func (r *Repo) readRecordsBatch(ctx context.Context, entries []listed, missed []int) {
	if CheckGit() != nil {
		return
	}
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
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
			w.WriteString(entries[i].commit.String() + ":" + RecordFile + "\n")
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
		if err != nil || size < 0 {
			break
		}
		if size > run.MaxRecordSize {
			// Refused unread, by its size: RecordAt will say so.
			if _, err := io.CopyN(io.Discard, br, int64(size)+1); err != nil {
				break
			}
			continue
		}
		body := make([]byte, size+1) // and the newline after it
		if _, err := io.ReadFull(br, body); err != nil {
			break
		}
		if rec, err := codec.DecodeTOML(body[:size]); err == nil && rec.ID == entries[i].id {
			entries[i].rec = rec
			batchRecords.Add(1)
		}
	}
	io.Copy(io.Discard, br)
	cmd.Wait()
}

// List returns every run in the repository, newest first. A run whose
// record cannot be read, or names another run than its ref, is listed with
// Err set rather than failing the whole listing, Err being one line that
// starts with the ref. ctx cancels a listing that reads many records.
func (r *Repo) List(ctx context.Context) ([]run.Entry, error) {
	x, err := r.RunIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]run.Entry, 0, x.Len())
	x.Newest(func(row index.Row) bool {
		out = append(out, r.IndexEntry(row))
		return true
	})
	return out, nil
}

// IndexEntry decodes a row of the run index. A run whose record the index
// could not keep is read again, for the error that says why.
func (r *Repo) IndexEntry(row index.Row) run.Entry {
	c := plumbing.Hash(row.Commit)
	en := run.Entry{ID: row.ID, Commit: c.String()}
	if row.Raw != nil {
		if rec, err := codec.DecodeBinary(row.Raw); err == nil && rec.ID == row.ID {
			en.Record = rec
			return en
		}
	}
	rec, err := r.recordAt(en.Commit)
	if err == nil {
		err = checkRecordID(rec, row.ID)
	}
	if err != nil {
		en.Err = fmt.Errorf("%s: %w", RefName(row.ID), err)
	} else {
		en.Record = rec
	}
	return en
}

// readMissed reads the records of entries[missed] from git.
func (r *Repo) readMissed(ctx context.Context, entries []listed, missed []int) error {
	if len(missed) >= batchReadMin {
		// Many records to read (a fresh clone, a big fetch): git's own
		// cat-file reads them several times faster than object-by-object
		// reads through go-git.
		r.readRecordsBatch(ctx, entries, missed)
	}
	for n, i := range missed {
		if n%256 == 0 && ctx.Err() != nil {
			return fmt.Errorf("list runs: %w", ctx.Err())
		}
		if e := &entries[i]; e.rec == nil && e.err == nil {
			e.rec, e.err = r.recordAt(e.commit.String())
			if e.err == nil {
				e.err = checkRecordID(e.rec, e.id)
			}
			if e.err != nil {
				e.rec, e.err = nil, fmt.Errorf("%s: %w", RefName(e.id), e.err)
			}
		}
	}
	return nil
}
