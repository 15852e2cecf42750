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

// LiveRun is a run with a journal on this machine.
type LiveRun struct {
	ID    string
	Owner Owner
	Alive bool // the owning process still runs
	// Record and History are the run as its journal has it now, which
	// may be ahead of its last commit.
	Record  *run.Record
	History run.History
}

// LiveRuns lists the runs whose journals are in the store.
func LiveRuns(s Store) ([]LiveRun, error) {
	ents, err := os.ReadDir(journalDir(s))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list live runs: %w", err)
	}
	var out []LiveRun
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".journal")
		if !ok || !run.ValidID(id) {
			continue
		}
		st, _, err := readJournal(journalPath(s, id))
		if err != nil || !st.started {
			continue
		}
		out = append(out, LiveRun{ID: id, Owner: st.owner, Alive: ownerAlive(st.owner), Record: st.record(), History: st.history()})
	}
	return out, nil
}

func ownerAlive(o Owner) bool {
	if o.Host != hostname() {
		return true // not ours to judge: the owner runs elsewhere
	}
	return proc.Alive(o.PID, o.Start)
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
		st.apply(data[n:])
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
func RecoverCrashed(s Store) ([]string, error) {
	live, err := LiveRuns(s)
	if err != nil {
		return nil, err
	}
	return Recover(s, live)
}

// Recover is RecoverCrashed for the live runs that LiveRuns listed.
func Recover(s Store, live []LiveRun) ([]string, error) {
	var done []string
	var errs []error
	for _, l := range live {
		if l.Alive {
			continue
		}
		ok, err := recoverRun(s, l.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("recover run %s: %w", l.ID, err))
		}
		if ok {
			done = append(done, l.ID)
		}
	}
	return done, errors.Join(errs...)
}

func recoverRun(s Store, id string) (bool, error) {
	p := journalPath(s, id)
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
	head, _, err := s.Load(id)
	if err != nil && !errors.Is(err, run.ErrNotFound) {
		return false, err
	}
	if _, err := s.Save(st.contents(p), head); err != nil {
		return false, err
	}
	return true, removeJournal(p, st.output)
}

// Discard drops the journal of a live run, for a run being deleted: what
// it held is lost.
func Discard(s Store, id string) error {
	return removeJournal(journalPath(s, id), true)
}
