package gitstore

import (
	"context"
	"reflect"
	"testing"

	"github.com/gitruns/gitruns/diff"
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
