package live

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/gitruns/gitruns/run"
)

// DefaultCheckpoint is how often a live run is committed, at the most:
// see checkpointDue.
const DefaultCheckpoint = 30 * time.Second

// maxCheckpoint bounds how far checkpointDue spaces the commits of a run
// with the default interval.
const maxCheckpoint = 30 * time.Minute

// saveAttempts bounds how often a commit is tried again after other
// processes committed the run in between.
const saveAttempts = 8

// checkpointDue is how long after a commit of a live run the next one is
// due. An interval other than the default is kept as asked. With the
// default, a run whose commits are big is committed less often: each
// checkpoint writes the whole history and output log again, and the one
// it replaces stays in the repository as unreachable objects until git
// prunes them, two weeks later by default. A run with a million points
// and a full 10 MiB output log would leave about 2 GB of them an hour at
// 30 s; spaced by a minute per MiB of content, it leaves about 40 MiB.
func checkpointDue(interval time.Duration, size int64) time.Duration {
	if interval != DefaultCheckpoint {
		return interval
	}
	return min(max(interval, time.Duration(size)*time.Minute/(1<<20)), maxCheckpoint)
}

// commitSize estimates the bytes of history and output a commit of the
// run writes: a line of metrics.tsv takes about 32 bytes.
func (r *Run) commitSize() int64 {
	var n int64
	for _, m := range []map[string]*series{r.st.logged, r.st.parsed} {
		for _, s := range m {
			n += 32 * int64(len(s.points))
		}
	}
	if r.st.output {
		prefix := outputPrefix(r.path)
		for _, ext := range []string{".head", ".tail0", ".tail1"} {
			if fi, err := os.Stat(prefix + ext); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

// save commits the state the journal describes, retrying when another
// process committed the run in between. Only the final save of a run (by
// Finish) commits an ended run: a process still attached to a run that
// another one ended has nothing to add. The store writes the commit
// without r.mu held, so that logging goes on meanwhile.
func (r *Run) save(final bool) error {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	for try := 1; ; try++ {
		r.mu.Lock()
		c, head, err := r.snapshot(final)
		r.mu.Unlock()
		if err != nil || c == nil {
			return err
		}
		commit, err := r.rc.Store.Save(c, head)
		r.mu.Lock()
		err = r.saved(commit, err, try, final)
		r.mu.Unlock()
		if !errors.Is(err, errSaveAgain) {
			return err
		}
	}
}

// errSaveAgain tells save that another process committed the run first.
var errSaveAgain = errors.New("save again")

// snapshot returns what a commit of the run holds now, and the commit it
// replaces; nil contents when there is nothing to commit. The contents
// share their points with r.st, which only appends to them, so they may
// be written out after r.mu is released.
func (r *Run) snapshot(final bool) (*run.Contents, string, error) {
	switch {
	case r.deleted != nil:
		return nil, "", r.deleted
	case r.closed:
		return nil, "", nil // ended or let go meanwhile: nothing to add
	}
	if err := r.sync(); err != nil {
		return nil, "", err
	}
	if r.st.ended && !final {
		return nil, "", nil
	}
	if unlinked(r.f) {
		// rm took the journal away before deleting the run: it must stay
		// deleted, whatever this process still had to say.
		return nil, "", r.markDeleted()
	}
	c := r.st.contents(r.path)
	c.Checkpoint = !final
	if !final {
		// Other machines take a run whose last commit is several intervals
		// old for stale: they need the interval that was in force.
		c.Record.CheckpointInterval = r.interval().Round(time.Second) + time.Second
	}
	return c, r.head, nil
}

// saved takes the outcome of a commit: on success, it notes the new head
// in the journal (unless final: the journal goes next), so that every
// process knows when the run was last committed; after a lost
// compare-and-swap it reads the new head and asks for another try.
func (r *Run) saved(commit string, err error, try int, final bool) error {
	switch {
	case err == nil && unlinked(r.f):
		// rm took the journal away while this commit was written, after
		// the check in snapshot: a run never committed before has no ref
		// for rm to delete, so this commit would bring it back.
		if derr := r.rc.Store.Delete(r.id, commit); derr != nil && !errors.Is(derr, run.ErrNotFound) {
			return derr
		}
		return r.markDeleted()
	case err == nil:
		r.head, r.lastSave = commit, time.Now()
		if final {
			return nil
		}
		return r.write(appendSaved(nil, r.lastSave.UnixMilli(), commit))
	case errors.Is(err, run.ErrNotFound):
		return r.markDeleted()
	case !errors.Is(err, run.ErrConflict) || try >= saveAttempts:
		return err
	}
	// Another process committed this run; what it wrote came from the same
	// journal, so read on and commit again on top of it.
	head, herr := r.rc.Store.Head(r.id)
	if errors.Is(herr, run.ErrNotFound) {
		if r.head == "" {
			return errSaveAgain // not committed yet: the ref was only locked
		}
		return r.markDeleted()
	}
	if herr != nil {
		return herr
	}
	r.head = head
	return errSaveAgain
}

// markDeleted notes that the run was deleted while this process recorded
// it, drops what is left of its journal and output here, and returns the
// error every later call reports.
func (r *Run) markDeleted() error {
	if r.deleted == nil {
		r.deleted = run.NotFound("run %s was deleted while it was being recorded; nothing more is recorded", r.id)
		r.buf, r.pts = nil, nil
		removeJournal(r.path, r.st.output) // gone already, unless the run was deleted by other means than rm
	}
	return r.deleted
}

// unlinked reports whether the open file f has been removed from its
// directory.
func unlinked(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0
}

// interval is how long the run waits between commits now; r.mu is held.
func (r *Run) interval() time.Duration {
	interval := r.st.checkpoint
	if interval <= 0 {
		interval = DefaultCheckpoint
	}
	return checkpointDue(interval, r.commitSize())
}

// saveIfDue commits the run if its last commit, by any process, is older
// than its checkpoint interval, counting from its start when it has none.
func (r *Run) saveIfDue() error {
	r.mu.Lock()
	if err := r.sync(); err != nil {
		r.mu.Unlock()
		return err
	}
	interval := r.interval()
	last := max(r.lastSave.UnixMilli(), r.st.savedAt, r.st.rec.Started.UnixMilli())
	due := time.Since(time.UnixMilli(last)) >= interval && !r.st.ended
	r.mu.Unlock()
	if !due {
		return nil
	}
	return r.save(false)
}

// checkpointer commits the run every interval (spaced further for big
// runs, see checkpointDue) until it ends.
func (r *Run) checkpointer(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			r.mu.Lock()
			since := max(r.lastSave.UnixMilli(), r.st.rec.Started.UnixMilli())
			due := !r.closed && time.Since(time.UnixMilli(since)) >= checkpointDue(every, r.commitSize())-every/10
			r.mu.Unlock()
			if due {
				r.save(false) // a failed checkpoint is tried again at the next tick, and at End
			}
		}
	}
}

// CheckpointIfDue commits the run if its last commit is older than its
// checkpoint interval.
func (r *Run) CheckpointIfDue() error { return r.saveIfDue() }
