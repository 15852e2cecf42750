package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

type showCmd struct {
	Target string `arg:"" name:"RUN" default:"@" help:"Run to show (default: the newest)."`
	JSON   bool   `help:"Print the record with its commit, metric histories, artifacts and children as JSON."`
	Output bool   `help:"Add the last lines of the run's output (all of it, as \"output\", with --json); git runs log prints it whole."`
}

func (c *showCmd) Help() string {
	return `Shows one run: status, experiment, when it started and how long it took,
the command, its source (the commit, and the snapshot of uncommitted
changes), host, params, metrics with their history drawn as sparklines,
tags and artifacts, and the run it is part of or the runs part of it (a
sweep's trials). --output adds the end of what the command printed.

  git runs show @
  git runs show brave-otter-42 --output
  git runs show @~1 --json`
}

func (c *showCmd) Run(e *env) error {
	t, en, err := e.resolve(c.Target)
	if err != nil {
		return err
	}
	fam, err := t.Family(e.ctx, en)
	if err != nil {
		return err
	}
	hist, err := t.History(e.ctx, en)
	if err != nil {
		return err
	}
	t.MarkSeen(en) // a fetched run is new until someone looks at it
	arts, err := t.Artifacts(e.ctx, en)
	if err != nil {
		return err
	}
	var out []byte
	if c.Output {
		if out, err = t.OutputSoFar(e.ctx, en); err != nil {
			return err
		}
	}
	if !c.JSON {
		e.page()
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	rec := en.Record
	if c.JSON {
		b := codec.AppendJSON(nil, rec)
		b = b[:len(b)-1] // reopen the object to add what only show has
		b = append(b, `,"commit":"`...)
		b = append(b, en.Commit...)
		b = append(b, `","history":`...)
		b = codec.AppendHistoryJSON(b, hist)
		b = append(b, `,"artifacts":`...)
		type art struct {
			Path string `json:"path"`
			Size int64  `json:"size"`
		}
		list := make([]art, len(arts))
		for i, a := range arts {
			list[i] = art{a.Path, a.Size}
		}
		j, _ := json.Marshal(list)
		b = append(b, j...)
		kids := []string{}
		for _, k := range fam.Children {
			kids = append(kids, k.ID)
		}
		j, _ = json.Marshal(kids)
		b = append(append(b, `,"children":`...), j...)
		if c.Output {
			j, _ = json.Marshal(string(out))
			b = append(append(b, `,"output":`...), j...)
		}
		b = append(b, "}\n"...)
		_, err := w.Write(b)
		return err
	}

	p := painter(e.color)
	now := time.Now()
	fmt.Fprintf(w, "%s %s  %s\n", p.paint("1", "run"), p.paint("1", rec.ID), rec.Name)
	status := p.status(rec.Status)
	if en.StaleFor > 0 {
		status += fmt.Sprintf(" (last checkpoint %s ago; its recorder may have died)", span(en.StaleFor.Truncate(time.Second)))
	}
	if rec.ExitCode != nil {
		status += fmt.Sprintf(" (exit %d)", *rec.ExitCode)
	}
	taken := "running for " + span(rec.Duration(now).Truncate(time.Millisecond))
	if !rec.Ended.IsZero() {
		taken = "took " + span(rec.Duration(now))
	}
	src := shortHash(rec.Source.Commit)
	if src == "" {
		src = "(no commit)"
	}
	if rec.Source.Branch != "" {
		src += " on " + rec.Source.Branch
	} else if rec.Source.Commit != "" {
		src += " (detached)"
	}
	if rec.Source.Dirty {
		src += ", with uncommitted changes in snapshot " + shortHash(rec.Source.Snapshot)
	}
	rows := [][]string{
		{p.dim("status"), status},
		{p.dim("experiment"), rec.Experiment},
		{p.dim("started"), fmt.Sprintf("%s (%s), %s", rec.Started.Local().Format("2006-01-02 15:04:05"), ago(rec.Started, now), taken)},
	}
	if len(rec.Command) > 0 {
		rows = append(rows, []string{p.dim("command"), shellJoin(rec.Command)})
	}
	rows = append(rows,
		[]string{p.dim("source"), src},
		[]string{p.dim("host"), hostLine(&rec.Host)},
		[]string{p.dim("commit"), orDash(en.Commit)},
	)
	for _, g := range rec.Host.GPUs {
		rows = append(rows, []string{p.dim("gpu"), fmt.Sprintf("%s, %d MiB, driver %s", g.Name, g.MemoryMiB, g.Driver)})
	}
	if rec.Signal != "" {
		rows = append(rows, []string{p.dim("signal"), rec.Signal})
	}
	if rec.RerunOf != "" {
		rows = append(rows, []string{p.dim("rerun of"), rec.RerunOf})
	}
	if parent := fam.Parent; parent != nil {
		rows = append(rows, []string{p.dim("parent"), fam.Abbrev(parent.ID) + " " + parent.Record.Name})
	}
	if kids := fam.Children; len(kids) > 0 {
		names := make([]string, 0, min(len(kids), 10))
		for _, k := range kids[:min(len(kids), 10)] {
			names = append(names, fam.Abbrev(k.ID)+" "+k.Record.Name)
		}
		if len(kids) > 10 {
			names = append(names, fmt.Sprintf("and %d more", len(kids)-10))
		}
		rows = append(rows, []string{p.dim("children"), fmt.Sprintf("%d: %s", len(kids), strings.Join(names, ", "))})
	}
	for _, k := range sortedKeys(rec.Env) {
		rows = append(rows, []string{p.dim("env"), k + "=" + rec.Env[k]})
	}
	if len(rec.Source.Skipped) > 0 {
		rows = append(rows, []string{p.dim("not in snapshot"), strings.Join(rec.Source.Skipped, ", ")})
	}
	table(w, rows)

	if len(rec.Params) > 0 {
		fmt.Fprintf(w, "\n%s\n", p.paint("1", "params"))
		var rows [][]string
		for _, k := range sortedKeys(rec.Params) {
			rows = append(rows, []string{"  " + k, run.FormatValue(rec.Params[k])})
		}
		table(w, rows)
	}
	if len(rec.Metrics) > 0 {
		fmt.Fprintf(w, "\n%s\n", p.paint("1", "metrics"))
		rows := [][]string{{p.dim("  key"), p.dim("last"), p.dim("step"), p.dim("min"), p.dim("max"), p.dim("count"), p.dim("history")}}
		for _, k := range sortedKeys(rec.Metrics) {
			m := rec.Metrics[k]
			rows = append(rows, []string{"  " + k, run.FormatMetric(m.Last), fmt.Sprint(m.Step), run.FormatMetric(m.Min), run.FormatMetric(m.Max), fmt.Sprint(m.Count), sparkline(hist[k], 40)})
		}
		table(w, rows)
	}
	if len(rec.Tags) > 0 {
		fmt.Fprintf(w, "\n%s\n", p.paint("1", "tags"))
		var rows [][]string
		for _, k := range sortedKeys(rec.Tags) {
			rows = append(rows, []string{"  " + k, rec.Tags[k]})
		}
		table(w, rows)
	}
	if len(arts) > 0 {
		fmt.Fprintf(w, "\n%s\n", p.paint("1", "artifacts"))
		var rows [][]string
		for _, a := range arts {
			rows = append(rows, []string{"  " + a.Path, run.FormatSize(a.Size)})
		}
		table(w, rows)
	}
	if c.Output {
		w.Flush()
		ow := bufio.NewWriter(e.programOutput())
		defer ow.Flush()
		outputSection(ow, p, out, rec.ID)
	}
	return nil
}

// hostLine says who ran the run where, with the machine's size.
func hostLine(h *run.Host) string {
	s := fmt.Sprintf("%s@%s (%s/%s", h.User, h.Hostname, h.OS, h.Arch)
	if h.CPUs > 0 {
		s += fmt.Sprintf(", %d CPUs", h.CPUs)
	}
	if h.MemoryMiB > 0 {
		s += ", " + run.FormatSize(h.MemoryMiB<<20) + " memory"
	}
	if h.Python != "" {
		s += ", Python " + h.Python
	}
	return s + ")"
}

// shellJoin quotes a command so that it could be pasted into a shell.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
