package live_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/memstore"
)

// memRecorder returns a recorder into a new in-memory store.
func memRecorder(t testing.TB) (live.Recorder, *memstore.Store) {
	s := memstore.New(t.TempDir())
	return live.Recorder{Store: s, Dir: s.LiveDir()}, s
}

func committed(t *testing.T, s *memstore.Store, id string) (*run.Record, run.History) {
	t.Helper()
	en, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.History(context.Background(), en.Commit)
	if err != nil {
		t.Fatal(err)
	}
	return en.Record, h
}

// TestPrintedCopyDoesNotMoveSteps: exec reads loss=0.5 from the output
// and the program logs loss=0.4 itself (git runs metric): the logged
// value wins, at step 0 whichever reached the journal first.
func TestPrintedCopyDoesNotMoveSteps(t *testing.T) {
	rc, s := memRecorder(t)
	owner, err := rc.Start(ctx, live.Options{Name: "both"})
	must(t, err)
	must(t, owner.LogOutputMetricAt("loss", 0.5, live.NextStep, time.Now()))
	must(t, owner.Flush()) // the printed copy is in the journal first
	other, err := rc.Attach(owner.ID())
	must(t, err)
	must(t, other.LogMetric("loss", 0.4, live.NextStep))
	must(t, other.LogMetric("loss", 0.3, live.NextStep))
	must(t, other.Close())
	must(t, owner.LogOutputMetricAt("loss", 0.35, live.NextStep, time.Now()))
	must(t, owner.End(run.Finished))
	rec, h := committed(t, s, owner.ID())
	if got := h["loss"]; len(got) != 2 || got[0].Step != 0 || got[0].Value != 0.4 || got[1].Step != 1 || got[1].Value != 0.3 {
		t.Errorf("loss history %+v, want the logged points at steps 0 and 1", got)
	}
	if m := rec.Metrics["loss"]; m.Last != 0.3 || m.Step != 1 || m.Count != 2 {
		t.Errorf("loss summary %+v", m)
	}
}

// TestTornLineKeepsTheNextEntry: a writer killed in the middle of a line
// leaves it without its end; the next writer's line, appended to it, is
// still read.
func TestTornLineKeepsTheNextEntry(t *testing.T) {
	rc, s := memRecorder(t)
	r, err := rc.Start(ctx, live.Options{Name: "torn"})
	must(t, err)
	f, err := os.OpenFile(rc.Dir+"/"+r.ID()+".journal", os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString("M\tloss\t3\t17") // cut short: no value, no line end
	must(t, err)
	f.Close()
	must(t, r.LogMetric("acc", 0.75, live.NextStep))
	must(t, r.SetTag("after", "tear"))
	must(t, r.End(run.Finished))
	rec, h := committed(t, s, r.ID())
	if got := h["acc"]; len(got) != 1 || got[0].Value != 0.75 {
		t.Errorf("acc history %+v, want the point logged after the torn line", got)
	}
	if _, ok := h["loss"]; ok {
		t.Errorf("the torn point was recorded: %+v", h["loss"])
	}
	if rec.Tags["after"] != "tear" {
		t.Errorf("tags %v", rec.Tags)
	}
}

// TestNoStepAfterTheLast: a point after step 2^63-1 has no step to go to:
// it is refused with an error, never accepted and dropped.
func TestNoStepAfterTheLast(t *testing.T) {
	rc, s := memRecorder(t)
	r, err := rc.Start(ctx, live.Options{Name: "far"})
	must(t, err)
	must(t, r.LogMetric("x", 1, math.MaxInt64))
	if err := r.LogMetric("x", 2, live.NextStep); err == nil || !strings.Contains(err.Error(), "no step after") {
		t.Errorf("a point after the last step: %v, want an error", err)
	}
	must(t, r.LogMetric("x", 3, 5)) // an explicit step is still fine
	must(t, r.End(run.Finished))
	if _, h := committed(t, s, r.ID()); len(h["x"]) != 2 || h["x"][0].Step != math.MaxInt64 {
		t.Errorf("history %+v", h["x"])
	}
}

// blockingStore holds every Save until released, to see what waits for a
// commit.
type blockingStore struct {
	*memstore.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingStore) Save(c *run.Contents, old string) (string, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.Store.Save(c, old)
}

// TestLoggingDoesNotWaitForACommit: while a commit of the run is being
// written (held here), a training loop's LogMetric calls go on.
func TestLoggingDoesNotWaitForACommit(t *testing.T) {
	mem := memstore.New(t.TempDir())
	bs := &blockingStore{Store: mem, entered: make(chan struct{}), release: make(chan struct{})}
	r, err := live.Recorder{Store: bs, Dir: mem.LiveDir()}.Start(ctx, live.Options{Name: "busy", Checkpoint: time.Hour})
	must(t, err)
	saved := make(chan error, 1)
	go func() { saved <- r.Checkpoint() }()
	<-bs.entered
	logged := make(chan error, 1)
	go func() {
		for i := range 1000 {
			if err := r.LogMetric("loss", 1/float64(i+1), live.NextStep); err != nil {
				logged <- err
				return
			}
		}
		logged <- r.Flush()
	}()
	select {
	case err := <-logged:
		must(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("LogMetric waited for the commit")
	}
	close(bs.release)
	must(t, <-saved)
	must(t, r.End(run.Finished))
	if _, h := committed(t, mem, r.ID()); len(h["loss"]) != 1000 {
		t.Errorf("%d points committed, want 1000", len(h["loss"]))
	}
}

// TestFailedFlushKeepsPoints: a journal write that fails (here the file
// size limit, as a full disk would) keeps the points: the failure is
// reported, by Flush or, for the background flush, by the next call, and
// once writing works again every point is committed. It runs in a child
// process, as the limit applies to the whole process.
func TestFailedFlushKeepsPoints(t *testing.T) {
	if os.Getenv("GITRUNS_TEST_FSIZE") != "" {
		failedFlushChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedFlushKeepsPoints$", "-test.v")
	cmd.Env = append(os.Environ(), "GITRUNS_TEST_FSIZE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func failedFlushChild(t *testing.T) {
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails instead of killing us
	rc, s := memRecorder(t)
	r, err := rc.Start(ctx, live.Options{Name: "full", Checkpoint: time.Hour})
	must(t, err)
	fi, err := os.Stat(rc.Dir + "/" + r.ID() + ".journal")
	must(t, err)
	var old syscall.Rlimit
	must(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	limit := func(n uint64) {
		t.Helper()
		must(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: old.Max}))
	}
	limit(uint64(fi.Size()))
	for i := range 5 {
		must(t, r.LogMetric("loss", float64(i), live.NextStep))
	}
	if err := r.Flush(); err == nil {
		t.Fatal("Flush past the size limit succeeded")
	}
	must(t, r.LogMetric("loss", 5, live.NextStep))
	r.BackgroundFlush()
	err = r.LogMetric("loss", 6, live.NextStep)
	if err == nil || !errors.Is(err, syscall.EFBIG) {
		t.Errorf("LogMetric after a failed background flush: %v, want its error", err)
	}
	limit(old.Cur)
	must(t, r.LogMetric("loss", 7, live.NextStep))
	must(t, r.End(run.Finished))
	_, h := committed(t, s, r.ID())
	var got []string
	for _, p := range h["loss"] {
		got = append(got, fmt.Sprint(p.Step, ":", p.Value))
	}
	if want := "0:0 1:1 2:2 3:3 4:4 5:5 6:7"; strings.Join(got, " ") != want {
		t.Errorf("loss points %v, want %s (the refused one left out)", got, want)
	}
}
