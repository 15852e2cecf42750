package gitstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// recordN records n finished runs with a param and a metric each.
func recordN(t *testing.T, r *Repo, n int, tag string) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		lr, err := live.Recorder{Store: r, Dir: r.LiveDir()}.Start(context.Background(), live.Options{
			Params: map[string]any{"i": i}, Tags: map[string]string{"batch": tag}})
		if err != nil {
			t.Fatal(err)
		}
		lr.LogMetric("acc", float64(i)/float64(n), live.NextStep)
		if err := lr.End(run.Finished); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, lr.ID())
	}
	return ids
}

// sameAsGit checks that r lists exactly the runs git has, at their
// commits, newest first, each with its record.
func sameAsGit(t *testing.T, r *Repo, dir string) []run.Entry {
	t.Helper()
	entries, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	refs := forEachRef(t, dir, RunsPrefix)
	if len(entries) != len(refs) {
		t.Fatalf("listed %d runs, git has %d", len(entries), len(refs))
	}
	for i, en := range entries {
		if refs[RefName(en.ID)] != en.Commit {
			t.Fatalf("run %s listed at %s, git has it at %s", en.ID, en.Commit, refs[RefName(en.ID)])
		}
		if i > 0 && entries[i-1].ID <= en.ID {
			t.Fatalf("not newest first at %d", i)
		}
		if en.Err != nil || en.Record == nil || en.Record.ID != en.ID {
			t.Fatalf("run %s: %v", en.ID, en.Err)
		}
	}
	return entries
}

// TestIndexFollowsGit changes refs with git itself, behind the index's
// back, in each way the index must notice cheaply: a fetch (new loose
// refs), pack-refs and gc (packed-refs rewritten, loose refs gone), a ref
// moved and one deleted by another process.
func TestIndexFollowsGit(t *testing.T) {
	defer func(old int) { deltaMin = old }(deltaMin)
	deltaMin = 8 // so that the steps below compact as well as add deltas
	src := newRepoWithCommit(t)
	rs := openRepo(t, src)
	recordN(t, rs, 12, "first")
	dir := tempDir(t)
	git(t, dir, "clone", "-q", src, ".")
	fetch := func() { git(t, dir, "fetch", "-q", "origin", "+refs/runs/*:refs/runs/*") }
	fetch()
	r := openRepo(t, dir)
	sameAsGit(t, r, dir)

	recordN(t, rs, 3, "second")
	fetch()
	if got := len(sameAsGit(t, r, dir)); got != 15 {
		t.Fatalf("after fetch: %d runs, want 15", got)
	}
	git(t, dir, "pack-refs", "--all")
	sameAsGit(t, r, dir)
	recordN(t, rs, 2, "third")
	fetch()
	git(t, dir, "gc", "-q")
	sameAsGit(t, r, dir)

	// Another process moves one run to another run's commit (so that its
	// record names another id) and deletes a packed one.
	entries := sameAsGit(t, r, dir)
	git(t, dir, "update-ref", RefName(entries[0].ID), entries[1].Commit)
	git(t, dir, "update-ref", "-d", RefName(entries[5].ID))
	got, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 16 || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "does not match") {
		t.Fatalf("after update-ref: %d runs, first error %v", len(got), got[0].Err)
	}
	for _, en := range got {
		if en.ID == entries[5].ID {
			t.Fatalf("deleted run %s still listed", en.ID)
		}
	}
	git(t, dir, "update-ref", RefName(entries[0].ID), entries[0].Commit)
	sameAsGit(t, r, dir)

	// A second Repo, as another process, sees the same.
	r2 := openRepo(t, dir)
	sameAsGit(t, r2, dir)
	recordN(t, r2, 2, "here")
	sameAsGit(t, r, dir)
	fsck(t, dir)
}

// TestIndexIsDerived damages and deletes the index: listings are right
// all the same, and the index is rebuilt.
func TestIndexIsDerived(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	recordN(t, r, 20, "x")
	sameAsGit(t, r, dir)
	idx := r.indexDir()
	segs, _ := filepath.Glob(filepath.Join(idx, "base-*"))
	if len(segs) != 1 {
		t.Fatalf("index files: %v", segs)
	}
	for _, damage := range []func(){
		func() { os.WriteFile(segs[0], []byte("junk"), 0o666) },
		func() { os.Truncate(segs[0], 100) },
		func() {
			os.WriteFile(filepath.Join(idx, "state"), []byte("git-runs index state 1\nbase ../../HEAD\n"), 0o666)
		},
		func() { os.RemoveAll(idx) },
	} {
		damage()
		// A new Repo, as a new process would: the damaged file is read.
		sameAsGit(t, openRepo(t, dir), dir)
		segs, _ = filepath.Glob(filepath.Join(idx, "base-*"))
	}
	if data, err := os.ReadFile(filepath.Join(dir, ".git", "HEAD")); err != nil || !strings.HasPrefix(string(data), "ref:") {
		t.Fatalf("HEAD: %q %v", data, err)
	}
}

// TestIndexLookups checks the index against the records it came from.
func TestIndexLookups(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	ids := recordN(t, r, 30, "a")
	ids = append(ids, recordN(t, r, 5, "b")...)
	x, err := r.RunIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 35 {
		t.Fatalf("Len = %d", x.Len())
	}
	for _, id := range ids {
		row, ok := x.Get(id)
		if !ok {
			t.Fatalf("run %s not in the index", id)
		}
		en := r.IndexEntry(row)
		want, err := r.Load(context.Background(), id)
		if err != nil || en.Commit != want.Commit || fmt.Sprint(en.Record) != fmt.Sprint(want.Record) {
			t.Fatalf("run %s: index has %v, git %v (%v)", id, en.Record, want.Record, err)
		}
	}
}
