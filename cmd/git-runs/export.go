package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/tracker"
)

type exportCmd struct {
	Where  string `placeholder:"EXPR" help:"Only runs matching EXPR."`
	Format string `default:"csv" enum:"csv,jsonl" help:"csv or jsonl."`
	Runs   bool   `help:"One row per run (params and metric summaries) instead of every metric point."`
}

func (c *exportCmd) Help() string {
	return `Writes metric histories in long form, one row per point (run, name, key,
step, timestamp in Unix milliseconds, value), or with --runs one row per
run with its attributes, params and metric summaries: ready for pandas.

  git runs export > points.csv
  git runs export --runs --where "attributes.status = 'finished'" > runs.csv
  pd.read_csv("points.csv").pivot_table(index="step", columns="run", values="value")`
}

func (c *exportCmd) Run(e *env) error {
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
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	defer w.Flush()
	// Runs are written as they are read, but for the CSV of runs, whose
	// columns are those of every run.
	each := func(f func(tracker.Run) error) error {
		_, err := t.Scan(e.ctx, q, f)
		return err
	}
	switch {
	case c.Runs && c.Format == "jsonl":
		return each(func(r tracker.Run) error {
			_, err := w.Write(append(codec.AppendJSON(nil, r.Record), '\n'))
			return err
		})
	case c.Runs:
		var all []tracker.Run
		if err := each(func(r tracker.Run) error { all = append(all, r); return nil }); err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		head, rows := tracker.Table(all, time.Now())
		cw.Write(head)
		cw.WriteAll(rows)
		return cw.Error()
	case c.Format == "jsonl":
		enc := json.NewEncoder(w)
		return each(func(r tracker.Run) error {
			return t.Points(e.ctx, []tracker.Run{r}, func(r tracker.Run, k string, p run.Point) error {
				return enc.Encode(pointJSON{Run: r.ID, Name: r.Record.Name, Key: k, Step: p.Step, Timestamp: p.Time, Value: run.JSONNumber(p.Value)})
			})
		})
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"run", "name", "key", "step", "timestamp", "value"})
	err = each(func(r tracker.Run) error {
		return t.Points(e.ctx, []tracker.Run{r}, func(r tracker.Run, k string, p run.Point) error {
			return cw.Write([]string{r.ID, r.Record.Name, k, strconv.FormatInt(p.Step, 10), strconv.FormatInt(p.Time, 10), tracker.CSVFloat(p.Value)})
		})
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

type pointJSON struct {
	Run       string `json:"run"`
	Name      string `json:"name"`
	Key       string `json:"key"`
	Step      int64  `json:"step"`
	Timestamp int64  `json:"timestamp"`
	Value     any    `json:"value"`
}
