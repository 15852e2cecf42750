package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// env is what every command receives: where to write, and the repository,
// opened on first use so that help and errors about flags need none.
type env struct {
	dir            string
	stdout, stderr io.Writer
	repo           *gitstore.Repo
	// live holds the runs that had journals here when runs() listed them,
	// by id, as their journals had them.
	live map[string]live.LiveRun
	// color tells whether the output is coloured: decided for the
	// terminal, before any pager stands between.
	color   bool
	noPager bool
	// ttyOut and ttyErr are standard output and error when they are
	// terminals, then written to through termWriters; else nil.
	ttyOut, ttyErr *os.File
	pager          *exec.Cmd
	pagerIn        io.WriteCloser
}

func (e *env) open() (*gitstore.Repo, error) {
	if e.repo != nil {
		return e.repo, nil
	}
	dir := e.dir
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("find current directory: %w", err)
		}
	}
	r, err := gitstore.Open(dir)
	if err != nil {
		return nil, err
	}
	e.repo = r
	return r, nil
}

func (e *env) close() {
	e.endPage()
	if e.repo != nil {
		e.repo.Close()
	}
}

func (e *env) warn(format string, args ...any) {
	fmt.Fprintf(e.stderr, "git-runs: "+format+"\n", args...)
}

// runs opens the repository, finishes runs whose process died, and lists
// every run, newest first. Unreadable runs are reported and left out.
func (e *env) runs() (*gitstore.Repo, []gitstore.Entry, error) {
	r, err := e.open()
	if err != nil {
		return nil, nil, err
	}
	lives, err := live.LiveRuns(r)
	if err != nil {
		return nil, nil, err
	}
	if _, err := live.Recover(r, lives); err != nil {
		e.warn("%v", err)
	}
	all, err := r.ListRuns()
	if err != nil {
		return nil, nil, err
	}
	// A run being recorded here is shown as its journal has it, ahead of
	// its last checkpoint, which big runs take minutes apart.
	e.live = map[string]live.LiveRun{}
	for _, l := range lives {
		e.live[l.ID] = l
	}
	ok := all[:0]
	for _, en := range all {
		if en.Err != nil {
			e.warn("skipping run %s: %v", en.ID, en.Err)
			continue
		}
		if l := e.live[en.ID]; l.Alive && l.Record != nil && en.Record.Status == run.Running {
			en.Record = l.Record
		}
		ok = append(ok, en)
	}
	return r, ok, nil
}

// history returns the metric histories of run en: from its journal while
// it is recorded here, else from its commit.
func (e *env) history(repo *gitstore.Repo, en gitstore.Entry) (run.History, error) {
	if l := e.live[en.ID]; l.Alive && l.History != nil && en.Record == l.Record {
		return l.History, nil
	}
	return repo.History(en.Commit)
}

// resolve finds the run that spec names.
func (e *env) resolve(spec string) (*gitstore.Repo, gitstore.Entry, error) {
	r, all, err := e.runs()
	if err != nil {
		return nil, gitstore.Entry{}, err
	}
	en, err := pick(all, spec)
	return r, en, err
}

func pick(all []gitstore.Entry, spec string) (gitstore.Entry, error) {
	ids := make([]string, len(all))
	names := make([]string, len(all))
	for i, en := range all {
		ids[i], names[i] = en.ID, en.Record.Name
	}
	i, err := run.Resolve(ids, names, spec)
	if err != nil {
		return gitstore.Entry{}, err
	}
	return all[i], nil
}

// target names the live run a logging command writes to: --run, else the
// run that git runs exec (or an SDK) put in GITRUNS_RUN.
func (e *env) attach(spec string) (*live.Run, error) {
	if spec == "" {
		spec = os.Getenv("GITRUNS_RUN")
		if spec == "" {
			return nil, errors.New("no run to log into: pass --run RUN, or run under git runs exec (which sets GITRUNS_RUN)")
		}
	}
	r, err := e.open()
	if err != nil {
		return nil, err
	}
	id := spec
	if !run.ValidID(spec) {
		_, en, err := e.resolve(spec)
		if err != nil {
			return nil, err
		}
		id = en.ID
	}
	lr, err := live.Attach(r, id)
	if errors.Is(err, live.ErrNotLive) {
		_, rec, lerr := r.Load(id)
		if lerr != nil {
			return nil, lerr
		}
		if rec.Status != run.Running {
			return nil, fmt.Errorf("run %s (%s) has %s; its params, metrics and artifacts cannot change", short(id), rec.Name, rec.Status)
		}
		return nil, fmt.Errorf("run %s (%s) is running, but not on this machine", short(id), rec.Name)
	}
	return lr, err
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
