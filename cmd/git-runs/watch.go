package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/outlog"
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
	repo, all, err := e.runs()
	if err != nil {
		return err
	}
	var en gitstore.Entry
	if c.Target == "" {
		found := false
		for _, x := range all {
			if x.Record.Status == run.Running {
				en, found = x, true
				break
			}
		}
		if !found {
			return fmt.Errorf("no run is running; name one to follow")
		}
	} else if en, err = pick(all, c.Target); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	w := live.Watch(repo, en.ID)
	var shown int64
	last := map[string]int64{}
	fmt.Fprintf(e.stderr, "git-runs: watching %s (%s)\n", short(en.ID), en.Record.Name)
	for {
		rec, live, err := w.Poll()
		if err != nil {
			return err
		}
		if prefix := w.OutputPrefix(); live && prefix != "" {
			data, from, next, err := outlog.ReadFrom(prefix, shown)
			if err == nil {
				if from > shown {
					fmt.Fprintf(e.stderr, "git-runs: [%d bytes of output went by]\n", from-shown)
				}
				out.Write(data)
				shown = next
			}
		}
		if !live {
			// The run ended between two looks: the rest of its output is
			// in the commit.
			if c, err := repo.ReadRef(gitstore.RefName(en.ID)); err == nil {
				if log, err := repo.Output(c); err == nil && log != nil {
					data, _ := outlog.Since(log, shown)
					out.Write(data)
				}
			}
		}
		out.Flush()
		if rec != nil {
			if line := metricNews(rec, last); line != "" {
				fmt.Fprintf(e.stderr, "git-runs: %s\n", line)
			}
		}
		if !live {
			if rec != nil {
				status := string(rec.Status)
				if rec.ExitCode != nil {
					status += fmt.Sprintf(" (exit %d)", *rec.ExitCode)
				}
				fmt.Fprintf(e.stderr, "git-runs: run %s (%s) %s after %s\n", short(rec.ID), rec.Name, status, span(rec.Duration(time.Now())))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.Interval):
		}
	}
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
