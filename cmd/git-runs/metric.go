package main

import (
	"fmt"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

type metricCmd struct {
	Target  string   `name:"run" placeholder:"RUN" help:"Run to log into (default: GITRUNS_RUN); a run that has ended takes the points as a new commit."`
	Step    *int64   `help:"Step of these values (default: one more than the key's last step, from 0)."`
	Time    *int64   `placeholder:"MS" help:"When the values were logged, in Unix milliseconds (default: now)."`
	Metrics []string `arg:"" name:"KEY=VALUE" help:"Metric values to log: numbers, nan or inf."`
}

func (c *metricCmd) Help() string {
	return `Logs one point of each metric. Every point is kept, with its step and
time; a metric's last value is the one with the highest step.

A run that has ended (an evaluation after training) takes the points too,
as a new commit of the run on top of the one it ended with, which stays
in its history; the run's summaries take the points in.

  git runs metric loss=0.31 acc=0.9 --step 3
  git runs metric --run brave-otter-42 test/acc=0.87`
}

func (c *metricCmd) Run(e *env) error {
	type point struct {
		key string
		v   float64
	}
	points := make([]point, 0, len(c.Metrics))
	for _, kv := range c.Metrics {
		k, s, err := parseKV(kv)
		if err != nil {
			return err
		}
		if err := run.ValidateKey("metric", k); err != nil {
			return err
		}
		v, err := run.ParseMetricValue(s)
		if err != nil {
			return fmt.Errorf("metric %q: %w", k, err)
		}
		points = append(points, point{k, v})
	}
	step := live.NextStep
	if c.Step != nil {
		step = *c.Step
	}
	at := time.Now()
	if c.Time != nil {
		at = time.UnixMilli(*c.Time)
	}
	l, err := e.logger(c.Target)
	if err != nil {
		return err
	}
	for _, p := range points {
		if err := l.LogMetricAt(p.key, p.v, step, at); err != nil {
			return closeLogger(l, err)
		}
	}
	return closeLogger(l, nil)
}

// logger opens the run a logging command writes to (--run, else
// GITRUNS_RUN): live, or ended and taking additions.
func (e *env) logger(spec string) (tracker.Logger, error) {
	spec, err := target(spec)
	if err != nil {
		return nil, err
	}
	t, err := e.tracker()
	if err != nil {
		return nil, err
	}
	return t.Log(e.ctx, spec)
}

// closeLogger closes l whatever happened, keeping the first error. After
// an error nothing logged into a run that has ended is written: an
// Addition that failed is dropped whole.
func closeLogger(l tracker.Logger, err error) error {
	if err != nil {
		if a, ok := l.(*tracker.Addition); ok {
			a.Discard()
			return err
		}
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return err
}
