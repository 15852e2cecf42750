package main

import (
	"fmt"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

type metricCmd struct {
	Target  string   `name:"run" placeholder:"RUN" help:"Run to log into (default: GITRUNS_RUN)."`
	Step    *int64   `help:"Step of these values (default: one more than the key's last step, from 0)."`
	Metrics []string `arg:"" name:"KEY=VALUE" help:"Metric values to log: numbers, nan or inf."`
}

func (c *metricCmd) Help() string {
	return `Logs one point of each metric. Every point is kept, with its step and
time; a metric's last value is the one with the highest step.

  git runs metric loss=0.31 acc=0.9 --step 3`
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
	r, err := e.attach(c.Target)
	if err != nil {
		return err
	}
	for _, p := range points {
		if err := r.LogMetric(p.key, p.v, step); err != nil {
			return closeAfter(r, err)
		}
	}
	return closeAfter(r, nil)
}
