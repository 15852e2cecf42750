package live_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// TestLeasedRunOutlivesItsOwner: a leased run whose owner died stays
// alive while its journal is fresh (a restarted server takes it back),
// and is recovered once the lease has run out.
func TestLeasedRunOutlivesItsOwner(t *testing.T) {
	dir, repo := newRepo(t)
	dead := exec.Command("true")
	must(t, dead.Run())
	rc := recorderOf(repo)
	r, err := rc.Start(ctx, live.Options{OwnerPID: dead.Process.Pid, Lease: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.LogMetric("loss", 1, live.NextStep))
	must(t, r.Flush())
	if done, err := rc.RecoverCrashed(); err != nil || len(done) != 0 {
		t.Fatalf("recovered %v (%v) within the lease", done, err)
	}
	adopted, err := rc.Adopt(r.ID())
	if err != nil {
		t.Fatal(err)
	}
	must(t, adopted.LogMetric("loss", 0.5, live.NextStep))
	must(t, adopted.Close())

	// Past the lease: the journal is old.
	old := time.Now().Add(-2 * time.Hour)
	must(t, os.Chtimes(filepath.Join(repo.LiveDir(), r.ID()+".journal"), old, old))
	done, err := rc.RecoverCrashed()
	if err != nil || len(done) != 1 {
		t.Fatalf("recovered %v (%v) after the lease", done, err)
	}
	en, err := repo.Load(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if en.Record.Status != run.Crashed || en.Record.Metrics["loss"].Count != 2 {
		t.Errorf("after the lease: %s with %+v", en.Record.Status, en.Record.Metrics)
	}
	fsck(t, dir)
}

// TestLeasedRunEndedIsCommitted: a leased run whose owner wrote its end
// and died before committing it is committed at once, lease or not:
// nothing more is coming to it.
func TestLeasedRunEndedIsCommitted(t *testing.T) {
	dir, repo := newRepo(t)
	dead := exec.Command("true")
	must(t, dead.Run())
	rc := recorderOf(repo)
	r, err := rc.Start(ctx, live.Options{OwnerPID: dead.Process.Pid, Lease: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.LogMetric("loss", 1, live.NextStep))
	must(t, r.Flush())
	// The end, as the owner writes it just before its final commit.
	f, err := os.OpenFile(filepath.Join(repo.LiveDir(), r.ID()+".journal"), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString("X\t" + strconv.FormatInt(time.Now().UnixMilli(), 10) + "\tfinished\t-\n")
	must(t, err)
	must(t, f.Close())

	done, err := rc.RecoverCrashed()
	if err != nil || len(done) != 1 {
		t.Fatalf("recovered %v (%v), want the ended run", done, err)
	}
	en, err := repo.Load(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if en.Record.Status != run.Finished {
		t.Errorf("status %s, want finished", en.Record.Status)
	}
	fsck(t, dir)
}
