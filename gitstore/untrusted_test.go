package gitstore

import (
	"context"
	"fmt"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/gitruns/gitruns/run"
)

// allocated returns the bytes fn allocates on the heap.
func allocated(fn func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	fn()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// record returns a canonical run.toml for id with the given name.
func record(id, name string) string {
	return fmt.Sprintf("format = 1\nid = %q\nname = %q\nstatus = \"finished\"\n", id, name)
}

// putRun writes a run commit of files under refs/runs/id.
func putRun(t *testing.T, r *Repo, id string, files []TreeEntry) plumbing.Hash {
	t.Helper()
	tr, err := r.WriteTree(files)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.WriteCommit(CommitSpec{Tree: tr, Author: testSig, Committer: testSig, Message: "run\n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef(RefName(id), c, zero); err != nil {
		t.Fatal(err)
	}
	return c
}

func blob(t *testing.T, r *Repo, content string) plumbing.Hash {
	t.Helper()
	h, err := r.WriteBlob([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A record under another run's ref is refused, by the ref, in listings
// (from git and from the cache) and in loads; the run it imitates lists
// once.
func TestListRefusesRecordOfAnotherID(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	real, fake := run.NewID(), run.NewID()
	c := putRun(t, r, real, []TreeEntry{{Name: RecordFile, Mode: filemode.Regular, Hash: blob(t, r, record(real, "real"))}})
	// The same commit under a second ref, as a fetched run could be.
	if err := r.UpdateRef(RefName(fake), c, zero); err != nil {
		t.Fatal(err)
	}
	for pass := 0; pass < 2; pass++ { // from git, then from the cache
		entries, err := r.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ok, bad := 0, 0
		for _, e := range entries {
			switch {
			case e.ID == real && e.Err == nil && e.Record.ID == real:
				ok++
			case e.ID == fake && e.Err != nil:
				bad++
				want := RefName(fake) + ": run.toml: id " + real + " does not match the ref"
				if e.Err.Error() != want {
					t.Errorf("error %q, want %q", e.Err, want)
				}
			default:
				t.Errorf("pass %d: unexpected entry %+v", pass, e)
			}
		}
		if ok != 1 || bad != 1 {
			t.Fatalf("pass %d: %d good and %d refused entries, want 1 and 1", pass, ok, bad)
		}
	}
	if _, err := r.Load(context.Background(), fake); err == nil || !strings.Contains(err.Error(), "does not match the ref") {
		t.Fatalf("Load: %v", err)
	}
}

// Oversized files of a run are refused by their size, before they are
// read: a fetched run.toml of 100 MB once made every listing take seconds
// and a gigabyte, a metrics.tsv of a gigabyte of newlines every show.
func TestOversizedRunFilesAreNotRead(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	id := run.NewID()
	big := record(id, "n") + "x = \"" + strings.Repeat("x", 8<<20) + "\"\n"
	hist := "key\tstep\ttimestamp\tvalue\n" + strings.Repeat("\n", run.MaxHistorySize)
	c := putRun(t, r, id, []TreeEntry{
		{Name: RecordFile, Mode: filemode.Regular, Hash: blob(t, r, big)},
		{Name: HistoryFile, Mode: filemode.Regular, Hash: blob(t, r, hist)},
		{Name: OutputFile, Mode: filemode.Regular, Hash: blob(t, r, strings.Repeat("o", run.MaxOutputSize+1))},
	})
	for _, batch := range []int{1, 1 << 30} {
		defer func(old int) { batchReadMin = old }(batchReadMin)
		batchReadMin = batch
		var entries []run.Entry
		var err error
		if n := allocated(func() { entries, err = r.List(context.Background()) }); n > 4<<20 {
			t.Errorf("listing allocated %d bytes", n)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Err == nil || !strings.Contains(entries[0].Err.Error(), "more than 1048576") ||
			!strings.HasPrefix(entries[0].Err.Error(), RefName(id)+": ") {
			t.Fatalf("entries %+v", entries)
		}
	}
	var err error
	if n := allocated(func() { _, err = r.History(context.Background(), c.String()) }); n > 4<<20 {
		t.Errorf("History allocated %d bytes", n)
	}
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("History: %v", err)
	}
	if _, err := r.Output(context.Background(), c.String()); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Output: %v", err)
	}
}

// A few trees that each name the one below many times stand for more files
// than fit in memory; the listing stops at the limit.
func TestArtifactsOfRepeatedTrees(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	id := run.NewID()
	h := blob(t, r, "x")
	mode := filemode.Regular
	for level := 0; level < 6; level++ { // 100^6 files
		var entries []TreeEntry
		for i := 0; i < 100; i++ {
			entries = append(entries, TreeEntry{Name: fmt.Sprintf("f%02d", i), Mode: mode, Hash: h})
		}
		tr, err := r.WriteTree(entries)
		if err != nil {
			t.Fatal(err)
		}
		h, mode = tr, filemode.Dir
	}
	c := putRun(t, r, id, []TreeEntry{
		{Name: RecordFile, Mode: filemode.Regular, Hash: blob(t, r, record(id, "n"))},
		{Name: ArtifactsDir, Mode: filemode.Dir, Hash: h},
	})
	_, err := r.Artifacts(context.Background(), c.String())
	if err == nil || !strings.Contains(err.Error(), "more than 100000 files") {
		t.Fatalf("Artifacts: %v", err)
	}
}
