package gitstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// addMetric extends run id with one point of key.
func addMetric(t *testing.T, r *Repo, id, key string, v float64) string {
	t.Helper()
	c, err := r.Extend(context.Background(), id, func(x *run.Contents) error {
		x.History[key] = append(x.History[key], run.Point{Step: int64(len(x.History[key])), Time: time.Now().UnixMilli(), Value: v})
		x.Record.Metrics[key] = run.Summarize(x.History[key])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestExtendChainsCommits: an addition to a finished run is a commit whose
// parents are the run's code, then the commit it ended with, as git sees
// it; the chain survives git gc, and git fsck --strict finds nothing.
func TestExtendChainsCommits(t *testing.T) {
	ctx := context.Background()
	dir := newRepoWithCommit(t)
	head := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	r := openRepo(t, dir)
	id := saveFinished(t, r, 1)
	en, _ := r.Load(ctx, id)
	en.Record.Source.Commit = head // the code commit, as recording gives it
	ended, err := r.Save(&run.Contents{Record: en.Record, History: run.History{}}, en.Commit)
	if err != nil {
		t.Fatal(err)
	}
	first := addMetric(t, r, id, "test/acc", 0.8)
	second := addMetric(t, r, id, "test/acc", 0.9)
	if got := strings.Fields(git(t, dir, "rev-parse", RefName(id)+"^@")); len(got) != 2 || got[0] != head || got[1] != first {
		t.Errorf("parents of the second addition %q, want the code %s, then the first addition %s", got, head, first)
	}
	if got := strings.Fields(git(t, dir, "rev-parse", first+"^@")); len(got) != 2 || got[0] != head || got[1] != ended {
		t.Errorf("parents of the first addition %q, want the code %s, then the commit the run ended with %s", got, head, ended)
	}
	if got := git(t, dir, "cat-file", "-p", second+":metrics.tsv"); !strings.Contains(got, "test/acc\t0\t") || !strings.Contains(got, "test/acc\t1\t") {
		t.Errorf("metrics.tsv of the last addition:\n%s", got)
	}
	if got := git(t, dir, "cat-file", "-p", ended+":metrics.tsv"); strings.Contains(got, "test/acc") {
		t.Errorf("the commit the run ended with changed:\n%s", got)
	}
	fsck(t, dir)
	git(t, dir, "gc", "--quiet", "--prune=now")
	fsck(t, dir)
	for at, want := range map[string]string{second: first, first: ended, ended: ""} {
		if e, err := openRepo(t, dir).Earlier(ctx, at); err != nil || e != want {
			t.Errorf("after gc Earlier(%s) = %q, %v; want %q", at, e, err, want)
		}
	}
}

// TestExtendKeepsSourceParents: a dirty run's addition keeps its code
// commit first and its snapshot second, and names the commit it extends
// last, so that git diff <run>^1 <run>^2 still shows the uncommitted
// changes it ran.
func TestExtendKeepsSourceParents(t *testing.T) {
	ctx := context.Background()
	dir := newRepoWithCommit(t)
	writeFile(t, filepath.Join(dir, "train.py"), "print('dirty')\n")
	r := openRepo(t, dir)
	src, err := r.CaptureSource(ctx)
	if err != nil || !src.Dirty {
		t.Fatalf("capture: %+v, %v", src, err)
	}
	id := saveFinished(t, r, 2)
	en, _ := r.Load(ctx, id)
	rec := en.Record
	rec.Source = src
	ended, err := r.Save(&run.Contents{Record: rec, History: run.History{}}, en.Commit)
	if err != nil {
		t.Fatal(err)
	}
	added := addMetric(t, r, id, "f1", 0.5)
	parents := strings.Fields(git(t, dir, "rev-parse", added+"^@"))
	if len(parents) != 3 || parents[0] != src.Commit || parents[1] != src.Snapshot || parents[2] != ended {
		t.Errorf("parents %v, want code %s, snapshot %s, then %s", parents, src.Commit, src.Snapshot, ended)
	}
	if diff := git(t, dir, "diff", RefName(id)+"^1", RefName(id)+"^2"); !strings.Contains(diff, "+print('dirty')") {
		t.Errorf("git diff run^1 run^2:\n%s", diff)
	}
	fsck(t, dir)
}

// TestMergeTakesAnAddition: a clone adds an evaluation metric to a
// finished run while another tags the run as it ended; each fetches the
// other's copy, and both end with the metric and the tag, no conflict.
func TestMergeTakesAnAddition(t *testing.T) {
	ctx := context.Background()
	aDir := newRepoWithCommit(t)
	a := openRepo(t, aDir)
	id := saveFinished(t, a, 3)
	bare := filepath.Join(tempDir(t), "srv.git")
	git(t, aDir, "init", "-q", "--bare", bare)
	if _, err := a.Push(ctx, bare, nil, nil); err != nil {
		t.Fatal(err)
	}
	bDir := newRepoWithCommit(t)
	b := openRepo(t, bDir)
	if _, err := b.Fetch(ctx, bare, nil); err != nil {
		t.Fatal(err)
	}
	addMetric(t, a, id, "test/acc", 0.91)
	err := b.Amend(id, func(rec *run.Record) error {
		rec.Tags["verdict"] = "ship"
		rec.TagTimes = map[string]time.Time{"verdict": time.Now().UTC().Truncate(time.Millisecond)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := a.Push(ctx, bare, nil, nil); err != nil || rep.Runs != 1 {
		t.Fatalf("push of the addition: %v %+v", err, rep)
	}
	// b's push leases on the copy it fetched: refused, it fetches and
	// merges the addition, and pushes the merge.
	res, err := b.Fetch(ctx, bare, nil)
	if err != nil || len(res.Conflicts) != 0 || len(res.Updated) != 1 {
		t.Fatalf("fetch of the addition into b: %v %+v, want it merged", err, res)
	}
	en, err := b.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if en.Record.Metrics["test/acc"].Last != 0.91 || en.Record.Tags["verdict"] != "ship" {
		t.Errorf("merged record: metrics %v, tags %v", en.Record.Metrics, en.Record.Tags)
	}
	if e, err := b.Earlier(ctx, en.Commit); err != nil || e == "" {
		t.Errorf("the merged run extends %q, %v: its chain was lost", e, err)
	}
	if rep, err := b.Push(ctx, bare, nil, nil); err != nil || rep.Runs != 1 {
		t.Fatalf("push of the merge: %v %+v", err, rep)
	}
	res, err = a.Fetch(ctx, bare, nil)
	if err != nil || len(res.Conflicts) != 0 {
		t.Fatalf("fetch of the merge into a: %v %+v", err, res)
	}
	ea, _ := a.Load(ctx, id)
	if ea.Commit != en.Commit {
		t.Errorf("clones end on %s and %s", ea.Commit, en.Commit)
	}
	fsck(t, aDir)
	fsck(t, bDir)
}

// TestMergeTwoAdditionsConflict: additions made on both clones to the
// same ended run cannot both be kept: a conflict, each keeping its own.
func TestMergeTwoAdditionsConflict(t *testing.T) {
	ctx := context.Background()
	aDir := newRepoWithCommit(t)
	a := openRepo(t, aDir)
	id := saveFinished(t, a, 4)
	bare := filepath.Join(tempDir(t), "srv.git")
	git(t, aDir, "init", "-q", "--bare", bare)
	if _, err := a.Push(ctx, bare, nil, nil); err != nil {
		t.Fatal(err)
	}
	bDir := newRepoWithCommit(t)
	b := openRepo(t, bDir)
	if _, err := b.Fetch(ctx, bare, nil); err != nil {
		t.Fatal(err)
	}
	addMetric(t, a, id, "test/acc", 0.9)
	mine := addMetric(t, b, id, "test/f1", 0.7)
	if _, err := a.Push(ctx, bare, nil, nil); err != nil {
		t.Fatal(err)
	}
	res, err := b.Fetch(ctx, bare, nil)
	if err != nil || len(res.Conflicts) != 1 || res.Conflicts[0].Why != "their metrics differ" {
		t.Fatalf("fetch: %v %+v, want one conflict", err, res)
	}
	if head, _ := b.Head(id); head != mine {
		t.Errorf("b's run moved to %s in a conflict", head)
	}
}
