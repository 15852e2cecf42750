package live

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/proc"
)

// staleRecovery is how old a recovery lock must be before another process
// may assume its holder died.
const staleRecovery = time.Minute

// Info is a run with a journal on this machine, as its journal has it.
type Info struct {
	ID    string
	Owner Owner
	Alive bool // the owning process still runs, or the run's lease lasts
	// Written is when the journal was last written to.
	Written time.Time
	// Record and History are the run as its journal has it now, which
	// may be ahead of its last commit.
	Record  *run.Record
	History run.History
}

// List returns the runs whose journals are in rc.Dir, in no set order.
func (rc Recorder) List() ([]Info, error) {
	return rc.ListExcept(nil)
}

// ListExcept is List, leaving out the runs for which known returns an
// Info: a process that records runs itself knows them better than their
// journals on disk, and need not read them.
func (rc Recorder) ListExcept(known func(id string) (Info, bool)) ([]Info, error) {
	ents, err := os.ReadDir(rc.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list live runs: %w", err)
	}
	var out []Info
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".journal")
		if !ok || !run.ValidID(id) {
			continue
		}
		if known != nil {
			if l, ok := known(id); ok {
				out = append(out, l)
				continue
			}
		}
		if l, ok := rc.info(id); ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// Info returns live run id as its journal has it; false when it has no
// journal here.
func (rc Recorder) Info(id string) (Info, bool) {
	if !run.ValidID(id) {
		return Info{}, false
	}
	return rc.info(id)
}

func (rc Recorder) info(id string) (Info, bool) {
	st, mtime, err := readJournal(rc.journalPath(id))
	if err != nil || !st.started {
		return Info{}, false
	}
	alive := ownerAlive(st.owner, mtime, time.Now())
	if st.ended && alive && !OwnerRuns(st.owner) {
		// A lease keeps a run for a server to take back and log into; a
		// run that ended has nothing more coming, and its owner died
		// before committing the end: commit it now.
		alive = false
	}
	return Info{ID: id, Owner: st.owner, Alive: alive, Written: mtime, Record: st.record(), History: st.history()}, true
}

// ownerAlive tells whether the run whose journal was last written at
// mtime still has someone to record it: its owner, or, for a leased run,
// a service that will take it back while the lease lasts.
func ownerAlive(o Owner, mtime, now time.Time) bool {
	if o.Host != hostname() {
		return true // not ours to judge: the owner runs elsewhere
	}
	if proc.Alive(o.PID, o.Start) {
		return true
	}
	return o.Lease > 0 && now.Sub(mtime) < time.Duration(o.Lease)*time.Millisecond
}

func readJournal(p string) (*state, time.Time, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	st := newState()
	// A final line without its newline is kept too: its writer is dead.
	n := st.replay(data)
	if n < len(data) {
		if st.apply(data[n:]) != nil {
			st.salvage(data[n:])
		}
	}
	var mtime time.Time
	if fi, err := os.Stat(p); err == nil {
		mtime = fi.ModTime()
	}
	return st, mtime, nil
}

// RecoverCrashed finishes every run whose owning process is gone: it
// commits everything the run's journal holds, with status crashed (or the
// status of an end entry the owner wrote but did not commit), and removes
// the journal. It returns the ids it finished. Commands that read runs
// call it first, so a dead run never stays "running".
func (rc Recorder) RecoverCrashed() ([]string, error) {
	lives, err := rc.List()
	if err != nil {
		return nil, err
	}
	return rc.Recover(lives)
}

// Recover is RecoverCrashed for the live runs that List returned.
func (rc Recorder) Recover(lives []Info) ([]string, error) {
	var done []string
	var errs []error
	for _, l := range lives {
		if l.Alive {
			continue
		}
		ok, err := rc.recoverRun(l.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("recover run %s: %w", l.ID, err))
		}
		if ok {
			done = append(done, l.ID)
		}
	}
	return done, errors.Join(errs...)
}

func (rc Recorder) recoverRun(id string) (bool, error) {
	p := rc.journalPath(id)
	lock := p + ".recover"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Stat(lock); serr == nil && time.Since(fi.ModTime()) > staleRecovery {
			os.Remove(lock)
		}
		return false, nil // another process is on it
	}
	if err != nil {
		return false, err
	}
	f.Close()
	defer os.Remove(lock)

	st, mtime, err := readJournal(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // finished meanwhile
	}
	if err != nil {
		return false, err
	}
	if !st.ended {
		st.rec.Status = run.Crashed
		end := mtime
		if last := time.UnixMilli(st.last); last.After(end) {
			end = last
		}
		st.rec.Ended = end.UTC().Truncate(time.Millisecond)
	}
	// A journal without a commit is a run that had not reached its first
	// checkpoint: it is committed now for the first time. A deleted run
	// has no journal left (Discard removes it before the ref goes).
	head, err := rc.Store.Head(id)
	if err != nil && !errors.Is(err, run.ErrNotFound) {
		return false, err
	}
	if _, err := rc.Store.Save(st.contents(p), head); err != nil {
		return false, err
	}
	return true, removeJournal(p, st.output)
}

// Discard drops the journal of a live run, for a run being deleted: what
// it held is lost, and its writers stop recording at their next commit.
// It must come before the run's ref is deleted, so that no recovery
// commits the run again in between.
func (rc Recorder) Discard(id string) error {
	return removeJournal(rc.journalPath(id), true)
}

// Checkpoint commits a run being recorded on this machine as its journal
// has it now, on behalf of its owner: before a push, say, so that what
// travels is up to date. A run that ended or is not live here is left
// alone.
func (rc Recorder) Checkpoint(id string) error {
	r, err := rc.Attach(id)
	if errors.Is(err, ErrNotLive) {
		return nil
	}
	if err != nil {
		return err
	}
	err = r.save(false)
	r.mu.Lock()
	r.close()
	r.mu.Unlock()
	return err
}

// OwnerRuns tells whether the process that owns a run still runs (or runs
// on another machine, where it is not ours to judge), leases aside.
func OwnerRuns(o Owner) bool {
	return o.Host != hostname() || proc.Alive(o.PID, o.Start)
}
