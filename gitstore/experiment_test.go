package gitstore

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

// clone is one clone of a shared project: its directory, store and
// tracker.
type clone struct {
	dir string
	r   *Repo
	t   *tracker.Tracker
}

func newClone(t *testing.T) *clone {
	t.Helper()
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	return &clone{dir: dir, r: r, t: tracker.New(r, tracker.Options{Warn: func(err error) { t.Errorf("warned: %v", err) }})}
}

// bareRemote makes an empty bare repository for clones to share.
func bareRemote(t *testing.T) string {
	t.Helper()
	bare := filepath.Join(tempDir(t), "srv.git")
	git(t, tempDir(t), "init", "-q", "--bare", bare)
	return bare
}

func (c *clone) push(t *testing.T, remote string) *run.PushReport {
	t.Helper()
	rep, err := c.t.Push(context.Background(), remote, nil, tracker.PushOptions{})
	if err != nil {
		t.Fatalf("push from %s: %v", c.dir, err)
	}
	for _, e := range rep.Experiments {
		if e.Status == "rejected" {
			t.Fatalf("push from %s: experiment %s rejected: %s", c.dir, e.ID, e.Reason)
		}
	}
	return rep
}

func (c *clone) fetch(t *testing.T, remote string) *run.FetchResult {
	t.Helper()
	res, err := c.t.Fetch(context.Background(), remote, nil)
	if err != nil {
		t.Fatalf("fetch into %s: %v", c.dir, err)
	}
	return res
}

func (c *clone) rename(t *testing.T, id, name string) run.Experiment {
	t.Helper()
	e, err := c.t.EditExperiment(context.Background(), id, func(e *run.Experiment) error {
		e.Name = name
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExperimentTravels creates an experiment without runs on one clone,
// pushes it through a bare repository and fetches it into another: it
// arrives whole, at the same commit, and survives git gc there.
func TestExperimentTravels(t *testing.T) {
	ctx := context.Background()
	bare := bareRemote(t)
	a, b := newClone(t), newClone(t)
	e, err := a.t.CreateExperiment(ctx, "churn model", map[string]string{"team": "growth"})
	if err != nil {
		t.Fatal(err)
	}
	rep := a.push(t, bare)
	if len(rep.Experiments) != 1 || rep.Experiments[0].ID != e.ID || rep.Experiments[0].Status != "sent" {
		t.Errorf("push reports experiments %+v, want %s sent", rep.Experiments, e.ID)
	}
	ref := ExperimentRef(e.ID)
	if there := forEachRef(t, bare, ExperimentsPrefix)[ref]; there == "" || there != forEachRef(t, a.dir, ExperimentsPrefix)[ref] {
		t.Fatalf("the remote holds %q", there)
	}
	if noted := forEachRef(t, a.dir, trackingExperiments(bare))[trackingExperiments(bare)+e.ID]; noted != forEachRef(t, a.dir, ExperimentsPrefix)[ref] {
		t.Errorf("the push noted %q as the remote's", noted)
	}

	res := b.fetch(t, bare)
	if !slices.Equal(res.Experiments, []string{e.ID}) || len(res.New) != 0 {
		t.Errorf("fetch result %+v, want experiment %s alone", res, e.ID)
	}
	got, err := b.t.Experiment(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != e.Name || got.Tags["team"] != "growth" || !got.Created.Equal(e.Created) || !got.Updated.Equal(e.Updated) {
		t.Errorf("fetched %+v, want %+v", got, e)
	}
	if again := b.fetch(t, bare); len(again.Experiments) != 0 {
		t.Errorf("a second fetch changed experiments %v", again.Experiments)
	}
	git(t, b.dir, "gc", "--quiet", "--prune=now")
	fsck(t, b.dir)
	if got, err := openRepo(t, b.dir).Experiments(ctx); err != nil || len(got) != 1 || got[0].Err != nil || got[0].Experiment.Name != e.Name {
		t.Errorf("after gc: %+v, %v", got, err)
	}
	if byName, err := b.t.ExperimentByName(ctx, "churn model"); err != nil || byName.ID != e.ID {
		t.Errorf("by name after the trip: %+v, %v", byName, err)
	}
	fsck(t, a.dir)
	fsck(t, bare)
}

// TestConcurrentRenamesConverge renames one experiment on two clones at
// once; after each pushes (the second merging the first's edit on its
// way) and fetches, both clones and the remote hold the same commit,
// with the later name and the other as a former name.
func TestConcurrentRenamesConverge(t *testing.T) {
	ctx := context.Background()
	bare := bareRemote(t)
	a, b := newClone(t), newClone(t)
	e, err := a.t.CreateExperiment(ctx, "shared", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.push(t, bare)
	b.fetch(t, bare)
	a.rename(t, e.ID, "name from a")
	time.Sleep(3 * time.Millisecond) // b's edit is the later one
	b.rename(t, e.ID, "name from b")

	a.push(t, bare)
	rep := b.push(t, bare) // refused as non-fast-forward, fetched, merged, sent
	if rep.Merged == nil || !slices.Contains(rep.Merged.Experiments, e.ID) {
		t.Errorf("b's push merged %+v, want experiment %s", rep.Merged, e.ID)
	}
	a.fetch(t, bare)
	b.fetch(t, bare)
	a.push(t, bare)
	b.push(t, bare)

	ref := ExperimentRef(e.ID)
	ha, hb, hs := forEachRef(t, a.dir, ref)[ref], forEachRef(t, b.dir, ref)[ref], forEachRef(t, bare, ref)[ref]
	if ha == "" || ha != hb || ha != hs {
		t.Fatalf("experiment at %s on a, %s on b, %s on the remote", ha, hb, hs)
	}
	parents := strings.Fields(git(t, a.dir, "rev-list", "--parents", "-n", "1", ref))
	if len(parents) != 3 {
		t.Errorf("the experiment's commit has parents %v, want a merge of two", parents[1:])
	}
	for _, c := range []*clone{a, b} {
		got, err := c.t.Experiment(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "name from b" || !got.Claims("name from a") || !got.Claims("shared") {
			t.Errorf("%s reads %+v, want b's name with a's and the first as former names", c.dir, got)
		}
		fsck(t, c.dir)
	}
}

// TestMergeOfDivergedExperimentsIsOneCommit merges two copies that share
// no history, in both orders, and gets one commit; on equal update
// times the copy with the smaller commit id wins.
func TestMergeOfDivergedExperimentsIsOneCommit(t *testing.T) {
	r := openRepo(t, newRepoWithCommit(t))
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	write := func(name string) plumbing.Hash {
		c, err := r.writeExperimentCommit(&run.Experiment{ID: "42", Name: name, Created: at, Updated: at}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	x, y := write("x"), write("y")
	m1, err := r.mergeDiverged("42", x, y)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := r.mergeDiverged("42", y, x)
	if err != nil || m1 != m2 {
		t.Fatalf("merges %s and %s, %v; want one commit", m1, m2, err)
	}
	want := "x"
	if y.String() < x.String() {
		want = "y"
	}
	e, err := r.experimentAt("42", m1)
	if err != nil || e.Name != want || len(e.Former) != 1 {
		t.Errorf("merged %+v, %v; want %q with the other as a former name", e, err, want)
	}
	if next, err := r.mergedExperiment("42", x, m1); err != nil || next != m1 {
		t.Errorf("a copy and a merge of it give %s, %v; want the merge", next, err)
	}
	if next, err := r.mergedExperiment("42", m1, y); err != nil || next != m1 {
		t.Errorf("a merge and a copy in it give %s, %v; want the merge", next, err)
	}
}

// TestRemoteSetUpBeforeExperiments fetches from a remote set up to fetch
// runs and tombstones only: the fetch sets it up to bring experiments
// too, so that a plain git fetch brings them and the next listing merges
// them.
func TestRemoteSetUpBeforeExperiments(t *testing.T) {
	ctx := context.Background()
	bare := bareRemote(t)
	a, b := newClone(t), newClone(t)
	git(t, b.dir, "remote", "add", "origin", bare)
	git(t, b.dir, "config", "--unset-all", "remote.origin.fetch")
	for _, spec := range fetchRefspecs("origin")[:2] {
		git(t, b.dir, "config", "--add", "remote.origin.fetch", spec)
	}
	b.fetch(t, "origin")
	if got := git(t, b.dir, "config", "--get-all", "remote.origin.fetch"); !strings.Contains(got, trackingExperiments("origin")) {
		t.Fatalf("after a fetch the remote fetches\n%s", got)
	}
	e, err := a.t.CreateExperiment(ctx, "later", nil)
	if err != nil {
		t.Fatal(err)
	}
	a.push(t, bare)
	git(t, b.dir, "fetch", "-q", "origin")
	if got, err := b.t.ExperimentByName(ctx, "later"); err != nil || got.ID != e.ID {
		t.Errorf("after a plain git fetch: %+v, %v", got, err)
	}
}
