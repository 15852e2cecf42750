package main

import (
	"fmt"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/tracker"
)

type bestCmd struct {
	Metric string `arg:"" name:"METRIC" help:"Metric to rank runs by (its last value)."`
	Min    bool   `xor:"dir" help:"Lower is better."`
	Max    bool   `xor:"dir" help:"Higher is better."`
	Where  string `placeholder:"EXPR" help:"Only runs matching EXPR (see git runs ls --help)."`
	JSON   bool   `help:"Print the best run's record as JSON."`
}

func (c *bestCmd) Help() string {
	return `Prints the run with the best last value of METRIC. Without --min or --max,
lower is better for metrics whose name says loss, error, err, mse, mae,
rmse, perplexity, ppl, wer or cer, and higher is better for the others.

  git runs best val/acc --where "params.model = 'rf'"
  git runs best loss`
}

func (c *bestCmd) Run(e *env) error {
	t, err := e.tracker()
	if err != nil {
		return err
	}
	q := tracker.Query{Where: c.Where}
	if err := checkQuery(q); err != nil {
		return err
	}
	if err := e.explainAll(t, q); err != nil {
		return err
	}
	minimize := c.Min || (!c.Max && tracker.LowerIsBetter(c.Metric))
	best, n, err := t.BestRun(e.ctx, c.Where, c.Metric, minimize)
	if err != nil {
		return err
	}
	if c.JSON {
		_, err := e.stdout.Write(append(codec.AppendJSON(nil, best.Record), '\n'))
		return err
	}
	dir := "highest"
	if minimize {
		dir = "lowest"
	}
	fmt.Fprintf(e.stdout, "%s  %s  %s=%s  (%s of %d runs with %s)\n", best.ID, best.Record.Name, c.Metric,
		run.FormatMetric(best.Record.Metrics[c.Metric].Last), dir, n, c.Metric)
	return nil
}
