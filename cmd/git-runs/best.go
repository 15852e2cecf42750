package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
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

// lowerIsBetter guesses the direction of a metric from its name.
func lowerIsBetter(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"loss", "error", "err", "mse", "mae", "rmse", "perplexity", "ppl", "wer", "cer"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func (c *bestCmd) Run(e *env) error {
	_, all, err := e.runs()
	if err != nil {
		return err
	}
	if all, err = where(all, c.Where); err != nil {
		return err
	}
	minimize := c.Min || (!c.Max && lowerIsBetter(c.Metric))
	var best gitstore.Entry
	found, n := false, 0
	for _, en := range all {
		m, ok := en.Record.Metrics[c.Metric]
		if !ok || math.IsNaN(m.Last) {
			continue
		}
		n++
		if !found || (minimize && m.Last < best.Record.Metrics[c.Metric].Last) || (!minimize && m.Last > best.Record.Metrics[c.Metric].Last) {
			best, found = en, true
		}
	}
	if !found {
		return fmt.Errorf("no run has metric %q", c.Metric)
	}
	if c.JSON {
		b := codec.AppendJSON(nil, best.Record)
		_, err := e.stdout.Write(append(b, '\n'))
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
