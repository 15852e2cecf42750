package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type watchCmd struct {
	Target   string        `arg:"" optional:"" name:"RUN" help:"Run to follow (default: the newest running run)."`
	Interval time.Duration `default:"500ms" help:"How often to look for news."`
}

func (c *watchCmd) Help() string {
	return `Follows a run being recorded on this machine: prints its output as it
comes, and on standard error the latest value of each metric when they
change, until the run ends.

  git runs watch
  git runs watch brave-otter-42`
}

func (c *watchCmd) Run(e *env) error {
	t, rs, err := e.runs()
	if err != nil {
		return err
	}
	var en tracker.Run
	if c.Target == "" {
		found := false
		for _, x := range rs.All {
			if x.Record.Status == run.Running {
				en, found = x, true
				break
			}
		}
		if !found {
			return fmt.Errorf("no run is running; name one to follow")
		}
	} else if en, err = rs.Resolve(c.Target); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt)
	defer stop()
	// The run's output is a program's, replayed: its progress bars and
	// plain colours are kept on a terminal, nothing that hides text.
	var stdout io.Writer = e.stdout
	if e.ttyOut != nil {
		ow := newOutputWriter(e.ttyOut, e.color)
		defer ow.End()
		stdout = ow
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	last := map[string]int64{}
	fmt.Fprintf(e.stderr, "git-runs: watching %s (%s)\n", short(en.ID), en.Record.Name)
	return t.Follow(ctx, en, c.Interval, func(ev tracker.Event) error {
		if ev.Skipped > 0 {
			fmt.Fprintf(e.stderr, "git-runs: [%d bytes of output went by]\n", ev.Skipped)
		}
		out.Write(ev.Output)
		out.Flush()
		if ev.Record != nil {
			if line := metricNews(ev.Record, last); line != "" {
				fmt.Fprintf(e.stderr, "git-runs: %s\n", line)
			}
		}
		if ev.Ended && ev.Record != nil {
			rec := ev.Record
			status := string(rec.Status)
			if rec.ExitCode != nil {
				status += fmt.Sprintf(" (exit %d)", *rec.ExitCode)
			}
			fmt.Fprintf(e.stderr, "git-runs: run %s (%s) %s after %s\n", short(rec.ID), rec.Name, status, span(rec.Duration(time.Now())))
		}
		return nil
	})
}

// metricNews describes the metrics that have new points since last, and
// updates last.
func metricNews(rec *run.Record, last map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(rec.Metrics) {
		m := rec.Metrics[k]
		if m.Count != last[k] {
			parts = append(parts, fmt.Sprintf("%s=%s", k, run.FormatMetric(m.Last)))
			last[k] = m.Count
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "  ")
}
