package main

import (
	"bufio"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/query"
	"github.com/gitruns/gitruns/run/tracker"
)

type lsCmd struct {
	Where   string   `short:"w" placeholder:"EXPR" help:"Only runs matching EXPR, e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"."`
	Sort    string   `short:"s" placeholder:"KEY" help:"Sort by KEY (metrics.acc, params.lr, started, …); runs without it come last."`
	Desc    bool     `help:"Sort in descending order."`
	Columns []string `placeholder:"KEYS" help:"Show these keys (comma-separated) as columns instead of the params and metrics that differ."`
	JSON    bool     `help:"Print an array of records (the keys of run.toml) instead of a table."`
	Limit   int      `short:"n" help:"Show at most N runs (0: all)."`
}

func (c *lsCmd) Help() string {
	return `Lists runs newest first: short id, name, status, when it started, how long
it ran, the code commit (* when the work tree was dirty), and the params
and metrics whose values differ across the listed runs.

EXPR is MLflow's search syntax, extended: comparisons (= != < <= > >=,
LIKE, ILIKE, IN, NOT IN) of metrics.KEY (last value; metrics.KEY.min,
.max, .count, .step too), params.KEY (typed: params.lr < 0.01), tags.KEY
and attributes (status, name, experiment, started, ended, duration,
commit, branch, dirty, run_id), joined with and, or, not and parentheses.
Back-quote keys with odd characters: metrics.` + "`val/acc`" + `. Times can be
relative: started > -7d. A run without the key does not match.

  git runs ls --where "metrics.acc > 0.9 and params.model = 'rf'" --sort metrics.acc --desc
  git runs ls --columns params.lr,metrics.loss.min -n 10`
}

// maxDiffColumns bounds the param and metric columns of each kind that ls
// adds, to keep a line within a terminal.
const maxDiffColumns = 5

func (c *lsCmd) Run(e *env) error {
	_, rs, err := e.runs()
	if err != nil {
		return err
	}
	shown, err := rs.Query(tracker.Query{Where: c.Where, Sort: c.Sort, Desc: c.Desc, Limit: c.Limit})
	if err != nil {
		return err
	}
	keys, err := columnKeys(c.Columns)
	if err != nil {
		return err
	}
	if !c.JSON && len(shown) > 0 {
		e.page()
	}
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	defer w.Flush()
	if c.JSON {
		return writeJSONArray(w, shown)
	}
	if len(shown) > 0 {
		table(w, lsRows(e, rs, shown, keys))
	}
	return nil
}

// columnKeys parses the keys of --columns, given comma-separated.
func columnKeys(cols []string) ([]query.Key, error) {
	var keys []query.Key
	for _, col := range cols {
		for _, name := range strings.Split(col, ",") {
			k, err := query.ParseKey(strings.TrimSpace(name))
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// writeJSONArray writes the records of runs as a JSON array, a record a
// line, without holding the whole text in memory.
func writeJSONArray(w io.Writer, runs []tracker.Run) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, '[')
	for i, r := range runs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = codec.AppendJSON(buf, r.Record)
		if len(buf) > 48<<10 {
			w.Write(buf)
			buf = buf[:0]
		}
	}
	if len(runs) > 0 {
		buf = append(buf, '\n')
	}
	buf = append(buf, "]\n"...)
	_, err := w.Write(buf)
	return err
}

// lsRows lays out the table of ls: fixed columns, then the keys asked
// for, or the params and metrics that differ across the runs shown.
func lsRows(e *env, rs *tracker.Runs, shown []tracker.Run, keys []query.Key) [][]string {
	p := painter(e.color)
	var params, metrics []string
	if len(keys) == 0 {
		params, metrics = tracker.Differing(shown, maxDiffColumns)
	}
	head := []string{"ID", "NAME", "STATUS", "STARTED", "DURATION", "COMMIT"}
	for _, k := range keys {
		head = append(head, k.String())
	}
	head = append(head, params...)
	for _, k := range metrics {
		if slices.Contains(params, k) {
			k = "metrics." + k
		}
		head = append(head, k)
	}
	for i := range head {
		head[i] = p.dim(head[i])
	}
	rows := [][]string{head}
	now := time.Now()
	for _, r := range shown {
		rec := r.Record
		name := rec.Name
		if parent, ok := rs.Parent(r); ok {
			name += p.dim(" ⊂ " + parent.Record.Name)
		}
		if r.FetchedFrom != "" {
			name += p.paint("36", " ⇣"+r.FetchedFrom)
		}
		row := []string{rs.Abbrev(r.ID), name, p.runStatus(r), ago(rec.Started, now), span(rec.Duration(now).Truncate(time.Millisecond)), tracker.ShortCommit(rec.Source)}
		for _, k := range keys {
			if v, ok := k.Value(rec); ok {
				row = append(row, cell(v))
			} else {
				row = append(row, p.dim("-"))
			}
		}
		for _, k := range params {
			if v, ok := rec.Params[k]; ok {
				row = append(row, run.FormatPlain(v))
			} else {
				row = append(row, p.dim("-"))
			}
		}
		for _, k := range metrics {
			if m, ok := rec.Metrics[k]; ok {
				row = append(row, run.FormatMetric(m.Last))
			} else {
				row = append(row, p.dim("-"))
			}
		}
		rows = append(rows, row)
	}
	return rows
}
