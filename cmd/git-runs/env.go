package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

// env is what every command receives: where to write, and the tracker of
// the repository, opened on first use so that help and errors about flags
// need none. This file is the one place that wires the library: every
// command goes through the tracker.
type env struct {
	dir            string
	stdout, stderr io.Writer
	ctx            context.Context
	repo           *gitstore.Repo
	t              *tracker.Tracker
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

// tracker opens the repository that contains the directory of the
// command, and its tracker.
func (e *env) tracker() (*tracker.Tracker, error) {
	if e.t != nil {
		return e.t, nil
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
	warn := func(err error) { e.warn("%v", err) }
	r.Warn = warn
	e.repo = r
	e.t = tracker.New(r, tracker.Options{Warn: warn})
	return e.t, nil
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

// runs lists every run, newest first, crashed runs recovered first.
func (e *env) runs() (*tracker.Tracker, *tracker.Runs, error) {
	t, err := e.tracker()
	if err != nil {
		return nil, nil, err
	}
	rs, err := t.Runs(e.ctx)
	return t, rs, err
}

// resolve finds the run that spec names.
func (e *env) resolve(spec string) (*tracker.Tracker, tracker.Run, error) {
	t, err := e.tracker()
	if err != nil {
		return nil, tracker.Run{}, err
	}
	r, err := t.Find(e.ctx, spec)
	return t, r, err
}

// target names the run a logging command writes to: --run, else the run
// that git runs exec (or an SDK) put in GITRUNS_RUN.
func target(spec string) (string, error) {
	if spec == "" {
		spec = os.Getenv("GITRUNS_RUN")
		if spec == "" {
			return "", errors.New("no run to log into: pass --run RUN, or run under git runs exec (which sets GITRUNS_RUN)")
		}
	}
	return spec, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// attach opens the live run a logging command writes to: --run, else
// GITRUNS_RUN.
func (e *env) attach(spec string) (*live.Run, error) {
	spec, err := target(spec)
	if err != nil {
		return nil, err
	}
	t, err := e.tracker()
	if err != nil {
		return nil, err
	}
	return t.Attach(e.ctx, spec)
}
