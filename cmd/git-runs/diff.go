package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gitruns/gitruns/diff"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type diffCmd struct {
	A        string `arg:"" name:"A" help:"First run."`
	B        string `arg:"" optional:"" name:"B" help:"Second run (or --worktree)."`
	Worktree bool   `help:"Compare A with the work tree as it is now: what changed since that run?"`
	Code     bool   `help:"Add the unified diff of the files that differ."`
	Output   bool   `help:"Add the diff of the two output logs."`
	MinMax   bool   `help:"Show each metric's min and max too."`
	JSON     bool   `help:"Print the differences as JSON."`
}

func (c *diffCmd) Help() string {
	return `Shows what differs between two runs: params (typed: 10 and "10" differ),
metrics (last values, change and change in percent), tags, status,
duration, experiment, host, and the source: the two code commits and the
files that differ between the exact sources they ran (snapshots
included, so uncommitted changes count).

  git runs diff @~1 @
  git runs diff brave-otter-42 --worktree --code`
}

func (c *diffCmd) Run(e *env) error {
	if (c.B == "") == !c.Worktree {
		return errors.New("diff: name two runs, or one run and --worktree")
	}
	t, rs, err := e.runs()
	if err != nil {
		return err
	}
	ea, err := rs.Resolve(c.A)
	if err != nil {
		return err
	}
	var eb tracker.Run
	var b *tracker.Run
	if !c.Worktree {
		if eb, err = rs.Resolve(c.B); err != nil {
			return err
		}
		b = &eb
	}
	d, err := t.Diff(e.ctx, ea, b, tracker.DiffOptions{Code: c.Code, Output: c.Output})
	if err != nil {
		return err
	}
	res, code, output := d.Result, d.Code, d.Output
	if c.JSON {
		out := struct {
			A      string       `json:"a"`
			B      string       `json:"b"`
			Result *diff.Result `json:"diff"`
			Code   string       `json:"code,omitempty"`
			Output string       `json:"output,omitempty"`
		}{ea.ID, eb.ID, res, code, output}
		if c.Worktree {
			out.B = diff.WorkTreeName
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}

	e.page()
	p := painter(e.color)
	nameB := diff.WorkTreeName
	if !c.Worktree {
		nameB = short(eb.ID) + " (" + eb.Record.Name + ")"
	}
	fmt.Fprintf(e.stdout, "%s %s (%s)  vs  %s\n", p.paint("1", "diff"), short(ea.ID), ea.Record.Name, nameB)
	section := func(title string) { fmt.Fprintf(e.stdout, "\n%s\n", p.paint("1", title)) }
	changes := func(title string, cs []diff.Change) {
		if len(cs) == 0 {
			return
		}
		section(title)
		var rows [][]string
		for _, ch := range cs {
			a, b := valueOr(ch.A), valueOr(ch.B)
			if ch.Key == diff.AttrDuration {
				a, b = seconds(ch.A), seconds(ch.B)
			}
			rows = append(rows, []string{changeMark(p, ch.Kind) + ch.Key, a, "→", b})
		}
		table(e.stdout, rows)
	}
	changes("params", res.Params)
	if len(res.Metrics) > 0 {
		section("metrics")
		head := []string{p.dim("  key"), p.dim("A"), p.dim("B"), p.dim("change")}
		if c.MinMax {
			head = append(head, p.dim("min A"), p.dim("min B"), p.dim("max A"), p.dim("max B"))
		}
		rows := [][]string{head}
		for _, m := range res.Metrics {
			row := []string{"  " + m.Key, summaryLast(m.A), summaryLast(m.B), metricDelta(m)}
			if c.MinMax {
				row = append(row, summaryField(m.A, false), summaryField(m.B, false), summaryField(m.A, true), summaryField(m.B, true))
			}
			rows = append(rows, row)
		}
		table(e.stdout, rows)
	}
	changes("tags", res.Tags)
	changes("attributes", res.Attributes)
	section("source")
	fmt.Fprintf(e.stdout, "  code %s → %s\n", orDash(shortHash(res.CodeA)), orDash(shortHash(res.CodeB)))
	if len(res.Files) == 0 {
		fmt.Fprintln(e.stdout, "  the exact sources are the same")
	}
	var rows [][]string
	for _, f := range res.Files {
		stat := fmt.Sprintf("+%d -%d", f.Added, f.Removed)
		switch {
		case f.Binary:
			stat = "binary"
		case f.Big:
			stat = "large"
		}
		rows = append(rows, []string{"  " + f.Kind, f.Path, stat})
	}
	table(e.stdout, rows)
	if code != "" {
		fmt.Fprintf(e.stdout, "\n%s", code)
	}
	if output != "" {
		fmt.Fprintf(e.stdout, "\n--- output of %s\n+++ output of %s\n%s", short(ea.ID), short(eb.ID), output)
	}
	return nil
}

func changeMark(p painter, kind string) string {
	switch kind {
	case diff.Added:
		return p.paint("32", "+ ")
	case diff.Removed:
		return p.paint("31", "- ")
	}
	return p.paint("33", "~ ")
}

func valueOr(v any) string {
	if v == nil {
		return "-"
	}
	if f, ok := v.(float64); ok {
		return run.FormatMetric(f)
	}
	return run.FormatValue(v)
}

func seconds(v any) string {
	f, ok := v.(float64)
	if !ok {
		return valueOr(v)
	}
	return span(time.Duration(f * float64(time.Second)).Truncate(time.Millisecond))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func summaryLast(s *run.Summary) string {
	if s == nil {
		return "-"
	}
	return run.FormatMetric(s.Last)
}

func summaryField(s *run.Summary, max bool) string {
	if s == nil {
		return "-"
	}
	if max {
		return run.FormatMetric(s.Max)
	}
	return run.FormatMetric(s.Min)
}

func metricDelta(m diff.MetricChange) string {
	if math.IsNaN(m.Delta) {
		return ""
	}
	if m.Delta == 0 {
		return "same"
	}
	s := run.FormatMetric(m.Delta)
	if m.Delta > 0 {
		s = "+" + s
	}
	if !math.IsNaN(m.Percent) && !math.IsInf(m.Percent, 0) {
		s += fmt.Sprintf(" (%+.1f%%)", m.Percent)
	}
	return s
}
