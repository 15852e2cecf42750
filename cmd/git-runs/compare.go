package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
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

type compareRow struct {
	Key    string `json:"key"`
	Values []any  `json:"values"` // nil where a run lacks the key
	Differ bool   `json:"differ"`
}

func (c *compareCmd) Run(e *env) error {
	_, all, err := e.runs()
	if err != nil {
		return err
	}
	picked, err := selectRuns(all, c.Runs, c.Where)
	if err != nil {
		return err
	}
	if len(picked) == 0 {
		return errors.New("compare: name runs, or select them with --where")
	}
	rows := compareRows(picked)
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
		ids := make([]string, len(picked))
		for i, en := range picked {
			ids[i] = en.ID
		}
		for i := range rows {
			for j, v := range rows[i].Values {
				if f, ok := v.(float64); ok {
					rows[i].Values[j] = run.JSONNumber(f)
				}
			}
		}
		enc := json.NewEncoder(e.stdout)
		return enc.Encode(struct {
			Runs []string     `json:"runs"`
			Rows []compareRow `json:"rows"`
		}{ids, rows})
	case c.Format == "csv":
		w := csv.NewWriter(e.stdout)
		head := []string{"key"}
		for _, en := range picked {
			head = append(head, en.ID)
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
	e.page()
	p := painter(e.color)
	abbrev := abbreviations(picked)
	head := []string{""}
	for _, en := range picked {
		head = append(head, p.dim(abbrev[en.ID]))
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

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		return run.FormatMetric(x)
	case string:
		return x
	}
	return run.FormatPlain(v)
}

// compareRows lays runs side by side: attributes, then params, then metrics.
func compareRows(runs []gitstore.Entry) []compareRow {
	now := time.Now()
	attr := func(key string, f func(*run.Record) any) compareRow {
		r := compareRow{Key: key}
		for _, en := range runs {
			r.Values = append(r.Values, f(en.Record))
		}
		return r
	}
	rows := []compareRow{
		attr("name", func(r *run.Record) any { return r.Name }),
		attr("status", func(r *run.Record) any { return string(r.Status) }),
		attr("experiment", func(r *run.Record) any { return r.Experiment }),
		attr("started", func(r *run.Record) any { return r.Started.Local().Format("2006-01-02 15:04") }),
		attr("duration", func(r *run.Record) any { return span(r.Duration(now).Truncate(time.Millisecond)) }),
		attr("commit", func(r *run.Record) any {
			s := shortHash(r.Source.Commit)
			if r.Source.Dirty {
				s += "*"
			}
			return s
		}),
	}
	params := map[string]bool{}
	metrics := map[string]bool{}
	for _, en := range runs {
		for k := range en.Record.Params {
			params[k] = true
		}
		for k := range en.Record.Metrics {
			metrics[k] = true
		}
	}
	for _, k := range sortedKeys(params) {
		rows = append(rows, attr("params."+k, func(r *run.Record) any { return r.Params[k] }))
	}
	for _, k := range sortedKeys(metrics) {
		rows = append(rows, attr("metrics."+k, func(r *run.Record) any {
			if m, ok := r.Metrics[k]; ok {
				return m.Last
			}
			return nil
		}))
	}
	for i := range rows {
		vs := rows[i].Values
		for _, v := range vs[1:] {
			if (v == nil) != (vs[0] == nil) || (v != nil && !run.SameValue(v, vs[0])) {
				rows[i].Differ = true
				break
			}
		}
	}
	return rows
}
