package live_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// deletedDuringSave is a git store whose first Save of a run finds that
// run deleted as git runs rm --force does it, between the recorder's look
// at its journal and the commit: the journal taken away, then the ref
// (none yet).
type deletedDuringSave struct {
	*gitstore.Repo
	rc   *live.Recorder
	once sync.Once
	rm   error
}

func (s *deletedDuringSave) Save(c *run.Contents, old string) (string, error) {
	s.once.Do(func() {
		if err := s.rc.Discard(c.Record.ID); err != nil {
			s.rm = err
			return
		}
		if err := s.Repo.Delete(c.Record.ID, ""); !errors.Is(err, run.ErrNotFound) {
			s.rm = err
		}
	})
	return s.Repo.Save(c, old)
}

// TestDeletedBeforeItsFirstCommit: a run deleted while its first commit
// is written stays deleted (rm had no ref to delete, and the commit would
// have brought the run back, running, for good).
func TestDeletedBeforeItsFirstCommit(t *testing.T) {
	dir, repo := newRepo(t)
	s := &deletedDuringSave{Repo: repo}
	rc := live.Recorder{Store: s, Dir: repo.LiveDir()}
	s.rc = &rc
	r, err := rc.Start(ctx, live.Options{Name: "doomed", Checkpoint: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LogMetric("loss", 0.3, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Checkpoint(); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("checkpoint of a run deleted under it: %v, want it told deleted", err)
	}
	if s.rm != nil {
		t.Fatalf("deleting as rm does: %v", s.rm)
	}
	if h, err := repo.Head(r.ID()); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("the run is back at %s (%v)", h, err)
	}
	if err := r.End(run.Finished); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("end of a deleted run: %v", err)
	}
	if _, err := repo.Head(r.ID()); !errors.Is(err, run.ErrNotFound) {
		t.Error("the end brought the run back")
	}
	if ids, err := rc.RecoverCrashed(); err != nil || len(ids) != 0 {
		t.Errorf("recovery after it: %v, %v", ids, err)
	}
	fsck(t, dir)
}
