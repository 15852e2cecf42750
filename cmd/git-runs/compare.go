package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type compareCmd struct {
	Runs     []string `arg:"" optional:"" name:"RUN" help:"Runs to compare (or use --where)."`
	Where    string   `placeholder:"EXPR" help:"Compare the runs matching EXPR."`
	OnlyDiff bool     `help:"Hide rows whose values agree across the runs."`
	JSON     bool     `help:"Print the rows as JSON."`
	Format   string   `default:"table" enum:"table,csv" help:"table or csv."`
}

func (c *compareCmd) Help() string {
	return `Shows runs side by side: a column per run, a row per attribute, param and
metric (its last value). Rows whose values differ are marked with *.

  git runs compare @ @~1 @~2
  git runs compare --where "params.model = 'rf'" --only-diff`
}

func (c *compareCmd) Run(e *env) error {
	_, rs, err := e.runs()
	if err != nil {
		return err
	}
	picked, err := rs.Select(c.Runs, c.Where)
	if err != nil {
		return err
	}
	if err := e.explain(rs, tracker.Query{Where: c.Where}); err != nil {
		return err
	}
	if len(picked) == 0 {
		return errors.New("compare: name runs, or select them with --where")
	}
	rows := tracker.Compare(picked, time.Now())
	if c.OnlyDiff {
		kept := rows[:0]
		for _, r := range rows {
			if r.Differ || r.Key == "name" {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	switch {
	case c.JSON:
		return compareJSON(e, picked, rows)
	case c.Format == "csv":
		return compareCSV(e, picked, rows)
	}
	e.page()
	p := painter(e.color)
	head := []string{""}
	for _, r := range picked {
		head = append(head, p.dim(rs.Abbrev(r.ID)))
	}
	lines := [][]string{head}
	for _, r := range rows {
		mark := "  "
		if r.Differ {
			mark = p.paint("33", "* ")
		}
		line := []string{mark + r.Key}
		for _, v := range r.Values {
			line = append(line, cell(v))
		}
		lines = append(lines, line)
	}
	table(e.stdout, lines)
	return nil
}

func compareJSON(e *env, picked []tracker.Run, rows []tracker.CompareRow) error {
	ids := make([]string, len(picked))
	for i, r := range picked {
		ids[i] = r.ID
	}
	for i := range rows {
		for j, v := range rows[i].Values {
			rows[i].Values[j] = jsonCell(v)
		}
	}
	return json.NewEncoder(e.stdout).Encode(struct {
		Runs []string             `json:"runs"`
		Rows []tracker.CompareRow `json:"rows"`
	}{ids, rows})
}

func compareCSV(e *env, picked []tracker.Run, rows []tracker.CompareRow) error {
	w := csv.NewWriter(e.stdout)
	head := []string{"key"}
	for _, r := range picked {
		head = append(head, r.ID)
	}
	w.Write(head)
	for _, r := range rows {
		rec := []string{r.Key}
		for _, v := range r.Values {
			rec = append(rec, cell(v))
		}
		w.Write(rec)
	}
	w.Flush()
	return w.Error()
}

// cell renders a value of a compared key in a table.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		return run.FormatMetric(x)
	case string:
		return x
	case time.Duration:
		return span(x)
	}
	return run.FormatPlain(v)
}

// jsonCell renders a value of a compared key in JSON: floats that JSON
// cannot write as strings, durations as they read in the table.
func jsonCell(v any) any {
	switch x := v.(type) {
	case float64:
		return run.JSONNumber(x)
	case time.Duration:
		return span(x)
	}
	return v
}
