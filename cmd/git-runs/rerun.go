package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type rerunCmd struct {
	Target string `arg:"" name:"RUN" help:"Run to repeat."`
	Here   bool   `help:"Run in the current work tree as it is, instead of the run's exact source."`
	Name   string `short:"n" help:"Name of the new run (default: a generated one)."`
	Yes    bool   `short:"y" help:"Run a run recorded elsewhere (fetched, or by another user or machine) without asking first."`
}

func (c *rerunCmd) Help() string {
	return `Runs a run's recorded command again, at its recorded source, in a
temporary linked worktree (your work tree is not touched), records it as a
new run that names the one it repeats (rerun_of), and prints how their
metrics differ. With --here it runs in the current work tree instead.

A run recorded elsewhere (fetched from a remote, or recorded by another
user or on another machine) names a command someone else chose: rerun
shows what it would run and asks first, or without a terminal to ask on
refuses unless --yes.

  git runs rerun brave-otter-42`
}

func (c *rerunCmd) Run(e *env) error {
	t, _, en, err := e.resolve(c.Target)
	if err != nil {
		return err
	}
	old := en.Record
	rec, res, err := t.Rerun(e.ctx, en, tracker.RerunOptions{
		Name: c.Name, Here: c.Here,
		Confirm: func(p tracker.RerunPlan) error {
			if p.Elsewhere == "" || c.Yes {
				return nil
			}
			return e.confirmRerun(en, p)
		},
		Starting: func(dir string) {
			if !c.Here {
				fmt.Fprintf(e.stderr, "git-runs: running %s again at %s in %s\n", old.Name, shortHash(firstNonEmpty(old.Source.Snapshot, old.Source.Commit)), dir)
			}
		},
	})
	if rec == nil {
		return err
	}
	code := res.ExitCode
	if err != nil {
		e.warn("%v", err)
		if code == 0 {
			code = 1
		}
	}
	printMetricChange(e, old, rec)
	return exitCode(code)
}

// confirmRerun shows what rerun would run and asks on the terminal
// whether to run it. Without a terminal to show it on and read the
// answer from, it refuses: nobody would see what runs.
func (e *env) confirmRerun(r tracker.Run, p tracker.RerunPlan) error {
	what := fmt.Sprintf("run %s (%s) was %s", short(r.ID), r.Record.Name, p.Elsewhere)
	if e.ttyErr == nil || !term.IsTerminal(int(os.Stdin.Fd())) {
		return fmt.Errorf("%s; pass --yes to run the command it records without asking", what)
	}
	dir := p.SourceDir
	if dir == "" {
		dir = "the top of its source"
	}
	fmt.Fprintf(e.stderr, "git-runs: %s; running it again runs:\n", what)
	table(e.stderr, [][]string{
		{"  command", shellJoin(p.Command)},
		{"  in", dir + " (" + p.Dir + ")"},
		{"  env", strings.Join(p.Env, " ")},
	})
	fmt.Fprint(e.stderr, "run it? [y/N] ")
	answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not run: not confirmed")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// printMetricChange shows each metric's last value in the old and the new
// run and how it moved.
func printMetricChange(e *env, old, cur *run.Record) {
	keys := map[string]bool{}
	for k := range old.Metrics {
		keys[k] = true
	}
	for k := range cur.Metrics {
		keys[k] = true
	}
	fmt.Fprintf(e.stdout, "\nrun %s (%s) repeats %s (%s): %s\n", short(cur.ID), cur.Name, short(old.ID), old.Name, cur.Status)
	if len(keys) == 0 {
		return
	}
	rows := [][]string{{"  metric", old.Name, cur.Name, "change"}}
	for _, k := range sortedKeys(keys) {
		a, aok := old.Metrics[k]
		b, bok := cur.Metrics[k]
		row := []string{"  " + k, "-", "-", ""}
		if aok {
			row[1] = run.FormatMetric(a.Last)
		}
		if bok {
			row[2] = run.FormatMetric(b.Last)
		}
		if aok && bok {
			row[3] = change(a.Last, b.Last)
		}
		rows = append(rows, row)
	}
	table(e.stdout, rows)
}

func change(a, b float64) string {
	d := b - a
	if d == 0 {
		return "same"
	}
	s := run.FormatMetric(d)
	if d > 0 {
		s = "+" + s
	}
	if a != 0 && a == a && d == d {
		s += fmt.Sprintf(" (%+.1f%%)", d/abs(a)*100)
	}
	return s
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
