package tracker_test

import (
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/memstore"
	"github.com/gitruns/gitruns/run/tracker"
)

// versioned is a memstore that says nothing changed, ever: as a git
// repository does while no ref or journal is written.
type versioned struct{ *memstore.Store }

func (versioned) RunsVersion() string { return "unchanged" }

// TestRecentRunsTurnsStaleWithoutAChange: a running run recorded
// elsewhere whose commits stop shows as stale once it is due, though the
// store's version never moves: a cached listing must not show it running
// for ever.
func TestRecentRunsTurnsStaleWithoutAChange(t *testing.T) {
	s := versioned{memstore.New(t.TempDir())}
	tr := tracker.New(s, tracker.Options{})
	// Due stale (2 minutes, the least) in 300 ms from now.
	last := time.Now().Add(-2*time.Minute + 300*time.Millisecond)
	rec := &run.Record{ID: run.NewIDAt(last), Name: "elsewhere", Status: run.Running, Started: last, Updated: last,
		CheckpointInterval: time.Second}
	if _, err := s.Save(&run.Contents{Record: rec}, ""); err != nil {
		t.Fatal(err)
	}
	rs, err := tr.RecentRuns(ctx, time.Hour)
	must(t, err)
	if got := rs.All[0].Record.Status; got != run.Running {
		t.Fatalf("before it is due: %s, want running", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs, err := tr.RecentRuns(ctx, time.Hour)
		must(t, err)
		if rs.All[0].Record.Status == run.Stale {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after it was due the cached listing still shows %s", rs.All[0].Record.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
