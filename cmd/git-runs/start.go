package main

import (
	"context"
	"fmt"

	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/proc"
)

type startCmd struct {
	startFlags
	PID    int    `help:"Process whose exit means the run crashed, if the run has not ended by then (default: the calling process)."`
	Parent string `placeholder:"RUN" help:"Start it as part of RUN (a trial of a sweep): in RUN's experiment unless -e says otherwise, on the code RUN ran, with its tag mlflow.parentRunId naming RUN."`
}

func (c *startCmd) Help() string {
	return `Starts a run and prints its id. Log into it with param, metric, tag and
artifact (--run ID, or GITRUNS_RUN=ID), and finish it with end. If the
calling process (or --pid) exits without ending the run, the next git-runs
command that reads runs marks it crashed.

  export GITRUNS_RUN=$(git runs start -p lr=0.01)
  git runs metric loss=0.5 --step 1
  git runs end
  git runs start --parent "$SWEEP" -p lr=0.1`
}

func (c *startCmd) Run(e *env) error {
	opts, err := c.options()
	if err != nil {
		return err
	}
	opts.OwnerPID = c.PID
	if opts.OwnerPID == 0 {
		opts.OwnerPID = proc.CallerPID()
	}
	t, err := e.tracker()
	if err != nil {
		return err
	}
	start := t.Start
	if c.Parent != "" {
		if opts.Experiment == "default" {
			opts.Experiment = "" // the parent's
		}
		start = func(ctx context.Context, o live.Options) (*live.Run, error) { return t.StartChild(ctx, c.Parent, o) }
	}
	r, err := start(e.ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, r.ID())
	return r.Close()
}
