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
	Target  string `arg:"" optional:"" name:"RUN" help:"Run to repeat."`
	Here    bool   `help:"Run in your work tree itself, with the run's exact source checked out there and back afterwards."`
	Restore bool   `help:"Return the work tree to where it was, after a rerun --here that was interrupted."`
	Name    string `short:"n" help:"Name of the new run (default: a generated one)."`
	Yes     bool   `short:"y" help:"Run a run recorded elsewhere (fetched, or by another user or machine) without asking first."`
}

func (c *rerunCmd) Help() string {
	return `Runs a run's recorded command again, at its recorded source, in a
temporary linked worktree (your work tree is not touched), records it as a
new run that names the one it repeats (rerun_of), and prints how their
metrics differ.

What your work tree holds but git ignores (data/, checkpoints/, .venv/) is
linked into the temporary worktree, not copied: the command reads your
data, and what it writes there (checkpoints) lands in your work tree. The
links are never recorded.

With --here the command runs in your work tree itself: HEAD moves to the
run's commit, its uncommitted changes are put back on top, and afterwards
HEAD returns to your branch. It refuses when your work tree has
uncommitted changes. If git-runs dies meanwhile, git runs rerun --restore
returns the work tree.

A run recorded elsewhere (fetched from a remote, or recorded by another
user or on another machine) names a command someone else chose: rerun
shows what it would run and asks first, or without a terminal to ask on
refuses unless --yes.

  git runs rerun brave-otter-42
  git runs rerun --here brave-otter-42`
}

func (c *rerunCmd) Run(e *env) error {
	switch {
	case c.Restore && c.Target != "":
		return errors.New("rerun --restore takes no run: it returns the work tree from whichever rerun --here was interrupted")
	case c.Restore:
		return c.restore(e)
	case c.Target == "":
		return errors.New("rerun: name the run to repeat (git runs rerun RUN)")
	}
	t, en, err := e.resolve(c.Target)
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
		Starting: func(p tracker.RerunPlan) {
			at := shortHash(firstNonEmpty(old.Source.Snapshot, old.Source.Commit))
			if c.Here {
				fmt.Fprintf(e.stderr, "git-runs: running %s again at %s here; if this is interrupted, git runs rerun --restore returns the work tree\n", old.Name, at)
				return
			}
			fmt.Fprintf(e.stderr, "git-runs: running %s again at %s in %s%s\n", old.Name, at, p.Dir, linkedNote(p.Linked))
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
	if res.Missing != "" && !c.Here {
		e.warn("the command did not find %s; if your work tree has it outside git, git runs rerun --here %s runs it there", res.Missing, c.Target)
	}
	printMetricChange(e, old, rec)
	return exitCode(code)
}

// restore returns the work tree from an interrupted rerun --here.
func (c *rerunCmd) restore(e *env) error {
	t, err := e.tracker()
	if err != nil {
		return err
	}
	if err := t.LeaveSource(e.ctx); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "returned the work tree to where it was before rerun --here")
	return nil
}

// linkedNote says, in a few words, what ignored files the worktree links.
func linkedNote(linked []string) string {
	switch {
	case len(linked) == 0:
		return ""
	case len(linked) <= 4:
		return ", with " + strings.Join(linked, ", ") + " linked from your work tree"
	}
	return fmt.Sprintf(", with %s and %d more linked from your work tree", strings.Join(linked[:3], ", "), len(linked)-3)
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
	rows := [][]string{
		{"  command", shellJoin(p.Command)},
		{"  in", dir + " (" + p.Dir + ")"},
		{"  env", strings.Join(p.Env, " ")},
	}
	if len(p.Linked) > 0 {
		// It reads and writes these files of yours through the links.
		rows = append(rows, []string{"  linked", strings.Join(p.Linked, " ") + " (from your work tree)"})
	}
	table(e.stderr, rows)
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
