package gitstore

import (
	"context"
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/gitruns/gitruns/diff"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/storetest"
	"github.com/gitruns/gitruns/run/tracker"
)

// Repo is every kind of store the tracker knows of.
var (
	_ tracker.Store     = (*Repo)(nil)
	_ tracker.Syncer    = (*Repo)(nil)
	_ tracker.Worktrees = (*Repo)(nil)
	_ tracker.ScanMarks = (*Repo)(nil)
	_ diff.Code         = (*Repo)(nil)
	_ live.Preparer     = (*Repo)(nil)

	_ tracker.ExperimentStore = (*Repo)(nil)
)

// TestConformance runs the store suite against real repositories. After
// each test, git itself checks the repository (fsck --strict), and the
// runs must read the same after git packs every object and ref.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tracker.Store {
		dir := newRepoWithCommit(t)
		r := openRepo(t, dir)
		t.Cleanup(func() {
			if t.Failed() {
				return
			}
			fsck(t, dir)
			before, err := r.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			git(t, dir, "pack-refs", "--all", "--prune")
			git(t, dir, "gc", "--quiet", "--prune=now")
			fsck(t, dir)
			after, err := openRepo(t, dir).List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, after) {
				t.Errorf("after git gc the runs read\n%+v\nwant\n%+v", after, before)
			}
		})
		return r
	})
}

// TestExperimentConformance runs the experiment suite against real
// repositories, with git as referee after each test: fsck --strict, and
// the same experiments read after git packs every object and ref.
func TestExperimentConformance(t *testing.T) {
	open := func(t *testing.T) tracker.Store {
		dir := newRepoWithCommit(t)
		r := openRepo(t, dir)
		t.Cleanup(func() {
			if t.Failed() {
				return
			}
			fsck(t, dir)
			before, err := r.Experiments(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			git(t, dir, "pack-refs", "--all", "--prune")
			git(t, dir, "gc", "--quiet", "--prune=now")
			fsck(t, dir)
			after, err := openRepo(t, dir).Experiments(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !sameEntries(before, after) {
				t.Errorf("after git gc the experiments read\n%+v\nwant\n%+v", after, before)
			}
		})
		return r
	}
	corrupt := func(t *testing.T, s tracker.Store, id string) {
		r := s.(*Repo)
		blob, err := r.WriteBlob([]byte("format = 1\nid = \"" + id + "\"\nname = \"a\\u0000b\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		tree, err := r.WriteTree([]TreeEntry{{Name: ExperimentFile, Mode: filemode.Regular, Hash: blob}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.WriteCommit(CommitSpec{Tree: tree, Author: testSig, Committer: testSig, Message: "hostile\n"})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.UpdateRef(ExperimentRef(id), c, AnyHash); err != nil {
			t.Fatal(err)
		}
	}
	storetest.RunExperiments(t, open, corrupt)
}

// sameEntries compares listings of experiments, errors by their text.
func sameEntries(a, b []run.ExperimentEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Commit != y.Commit || (x.Err == nil) != (y.Err == nil) ||
			x.Err != nil && x.Err.Error() != y.Err.Error() || !reflect.DeepEqual(x.Experiment, y.Experiment) {
			return false
		}
	}
	return true
}
