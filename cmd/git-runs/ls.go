package main

import (
	"bufio"
	"slices"
	"strings"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/query"
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
	repo, all, err := e.runs()
	if err != nil {
		return err
	}
	shown, err := where(all, c.Where)
	if err != nil {
		return err
	}
	if c.Sort != "" {
		if shown, err = sortEntries(shown, c.Sort, c.Desc); err != nil {
			return err
		}
	}
	if c.Limit > 0 && len(shown) > c.Limit {
		shown = shown[:c.Limit]
	}
	if !c.JSON && len(shown) > 0 {
		e.page()
	}
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	defer w.Flush()
	if c.JSON {
		buf := make([]byte, 0, 64<<10)
		buf = append(buf, '[')
		for i, en := range shown {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
			buf = codec.AppendJSON(buf, en.Record)
			if len(buf) > 48<<10 {
				w.Write(buf)
				buf = buf[:0]
			}
		}
		if len(shown) > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, "]\n"...)
		_, err := w.Write(buf)
		return err
	}
	if len(shown) == 0 {
		return nil
	}
	p := painter(e.color)
	var keys []query.Key
	for _, col := range c.Columns {
		for _, name := range strings.Split(col, ",") {
			k, err := query.ParseKey(strings.TrimSpace(name))
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
	}
	var params, metrics []string
	if len(keys) == 0 {
		params, metrics = differing(shown)
	}
	head := []string{"ID", "NAME", "STATUS", "STARTED", "DURATION", "COMMIT"}
	for _, k := range keys {
		head = append(head, k.String())
	}
	for _, k := range params {
		head = append(head, k)
	}
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
	abbrev := abbreviations(all)
	fetched := repo.Fetched()
	now := time.Now()
	for _, en := range shown {
		rec := en.Record
		commit := shortHash(rec.Source.Commit)
		if commit == "" {
			commit = "-"
		}
		if rec.Source.Dirty {
			commit += "*"
		}
		name := rec.Name
		if from, ok := fetched[en.ID]; ok {
			name += p.paint("36", " ⇣"+from)
		}
		row := []string{abbrev[en.ID], name, p.status(rec.Status), ago(rec.Started, now), span(rec.Duration(now).Truncate(time.Millisecond)), commit}
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
	table(w, rows)
	return nil
}

// abbreviations gives each run its shortest unique id prefix among all
// runs, at least 8 characters.
func abbreviations(all []gitstore.Entry) map[string]string {
	ids := make([]string, len(all))
	for i, en := range all {
		ids[i] = en.ID
	}
	slices.Sort(ids)
	out := make(map[string]string, len(ids))
	for i, id := range ids {
		out[id] = id[:run.AbbrevLen(ids, i, 8)]
	}
	return out
}

// differing picks the param and metric keys worth a column: those whose
// values differ across the runs (all of them when there is one run).
func differing(runs []gitstore.Entry) (params, metrics []string) {
	pv := map[string][]any{}
	mv := map[string][]float64{}
	for _, en := range runs {
		for k, v := range en.Record.Params {
			pv[k] = append(pv[k], v)
		}
		for k, m := range en.Record.Metrics {
			mv[k] = append(mv[k], m.Last)
		}
	}
	single := len(runs) == 1
	for _, k := range sortedKeys(pv) {
		vs := pv[k]
		if single || len(vs) < len(runs) || slices.ContainsFunc(vs[1:], func(v any) bool { return !run.SameValue(v, vs[0]) }) {
			params = append(params, k)
		}
	}
	for _, k := range sortedKeys(mv) {
		vs := mv[k]
		if single || len(vs) < len(runs) || slices.ContainsFunc(vs[1:], func(v float64) bool { return !run.SameValue(v, vs[0]) }) {
			metrics = append(metrics, k)
		}
	}
	if len(params) > maxDiffColumns {
		params = params[:maxDiffColumns]
	}
	if len(metrics) > maxDiffColumns {
		metrics = metrics[:maxDiffColumns]
	}
	return params, metrics
}
