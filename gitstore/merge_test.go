package gitstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// saveFinished records a finished run with one tag, as the recorder would.
func saveFinished(t *testing.T, r *Repo, n int) string {
	t.Helper()
	started := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	id := run.NewIDAt(started)
	rec := &run.Record{
		Format: run.Format, ID: id, Name: fmt.Sprintf("r%d", n), Status: run.Finished,
		Started: started, Ended: started.Add(time.Minute), Updated: started.Add(time.Minute),
		Params: map[string]any{"n": int64(n)}, Tags: map[string]string{"set": "at-start"},
		Metrics: map[string]run.Summary{},
	}
	if _, err := r.Save(&run.Contents{Record: rec, History: run.History{}}, ""); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFetchMergesManyNewRunsAtOnce fetches more runs than bulkNew: they
// land in packed-refs in one write, git agrees, and a second fetch finds
// nothing new.
func TestFetchMergesManyNewRunsAtOnce(t *testing.T) {
	ctx := context.Background()
	srcDir := newRepoWithCommit(t)
	src := openRepo(t, srcDir)
	n := bulkNew + 6
	for i := 0; i < n; i++ {
		saveFinished(t, src, i)
	}
	bare := filepath.Join(tempDir(t), "srv.git")
	git(t, srcDir, "init", "-q", "--bare", bare)
	rep, err := src.Push(ctx, bare, nil, nil)
	if err != nil || rep.Runs != n {
		t.Fatalf("push: %v, %d runs sent, want %d", err, rep.Runs, n)
	}
	// What was pushed is noted as the remote's, in one write.
	tracked := forEachRef(t, srcDir, trackingRuns(bare))
	if len(tracked) != n {
		t.Errorf("%d runs noted as pushed, want %d", len(tracked), n)
	}
	for name, h := range forEachRef(t, srcDir, RunsPrefix) {
		if tracked[trackingRuns(bare)+strings.TrimPrefix(name, RunsPrefix)] != h {
			t.Errorf("%s at %s, not noted as pushed", name, h)
		}
	}
	fsck(t, srcDir)
	dstDir := newRepoWithCommit(t)
	dst := openRepo(t, dstDir)
	res, err := dst.Fetch(ctx, bare, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != n || len(res.Updated) != 0 {
		t.Fatalf("fetch: %d new, %d updated, want %d new", len(res.New), len(res.Updated), n)
	}
	packed, err := os.ReadFile(filepath.Join(dstDir, ".git", "packed-refs"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(packed), " "+RunsPrefix); got != n {
		t.Errorf("packed-refs holds %d runs, want %d", got, n)
	}
	if got, want := forEachRef(t, dstDir, "refs/runs/"), forEachRef(t, srcDir, "refs/runs/"); len(got) != n || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runs after fetch differ from the source's:\n%v\n%v", got, want)
	}
	fsck(t, dstDir)
	res, err = dst.Fetch(ctx, bare, nil)
	if err != nil || len(res.New)+len(res.Updated)+len(res.Deleted) != 0 {
		t.Fatalf("second fetch: %v %+v, want nothing", err, res)
	}
}

// TestMergeTagsFromBothSides tags one run on two clones and merges: the
// run here gets a new commit holding both tags, and merging again
// changes nothing.
func TestMergeTagsFromBothSides(t *testing.T) {
	ctx := context.Background()
	aDir := newRepoWithCommit(t)
	a := openRepo(t, aDir)
	id := saveFinished(t, a, 1)
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
	tag := func(r *Repo, k string) {
		t.Helper()
		err := r.Amend(id, func(rec *run.Record) error {
			rec.Tags[k] = "yes"
			rec.TagTimes = map[string]time.Time{k: time.Now().UTC().Truncate(time.Millisecond)}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tag(a, "from-a")
	tag(b, "from-b")
	if rep, err := b.Push(ctx, bare, nil, nil); err != nil || rep.Runs != 1 {
		t.Fatalf("push from b: %v %+v", err, rep)
	}
	// a's push leases on what it last saw there: refused as stale.
	rep, err := a.Push(ctx, bare, nil, nil)
	if err != nil || len(rep.Results) != 1 || rep.Results[0].Status != "rejected" || !a.Stale(rep.Results[0].Reason) {
		t.Fatalf("push from a over b's edit: %v %+v, want a stale rejection", err, rep)
	}
	res, err := a.Fetch(ctx, bare, nil)
	if err != nil || len(res.Updated) != 1 {
		t.Fatalf("fetch into a: %v %+v, want 1 updated", err, res)
	}
	en, err := a.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if en.Record.Tags["from-a"] != "yes" || en.Record.Tags["from-b"] != "yes" || en.Record.Tags["set"] != "at-start" {
		t.Errorf("merged tags %v, want from-a, from-b and set", en.Record.Tags)
	}
	if res, err := a.Merge(ctx, bare); err != nil || len(res.New)+len(res.Updated) != 0 {
		t.Errorf("merging again: %v %+v, want nothing", err, res)
	}
	if rep, err := a.Push(ctx, bare, nil, nil); err != nil || rep.Runs != 1 {
		t.Fatalf("push of the merge: %v %+v", err, rep)
	}
	fsck(t, aDir)
}
