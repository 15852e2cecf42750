package main

import (
	"bufio"
	"errors"
	"fmt"
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
	Sort    string   `short:"s" placeholder:"KEY" help:"Sort by KEY (metrics.acc, params.lr, started, …), -KEY for descending; runs without it come last."`
	Desc    bool     `help:"Sort in descending order."`
	Columns []string `placeholder:"KEYS" help:"Show these keys (comma-separated) as columns instead of the ones that differ."`
	JSON    bool     `help:"Print an array of records (the keys of run.toml) instead of a table."`
	Limit   int      `short:"n" help:"Show at most N runs (0: all; on a terminal, the newest 100 unless --all)."`
	All     bool     `help:"On a terminal, show every run rather than the newest 100."`
}

func (c *lsCmd) Help() string {
	return `Lists runs newest first: short id, name, status, when it started, how long
it ran, the code commit (* when the work tree was dirty), then the
experiment and tags when they differ, and the params and metrics whose
values tell the listed runs apart best. On a terminal, or with COLUMNS
set, the table fits its width: long values are cut with …, and when
more columns differ than fit, a last line names them: "+N more: --columns
KEY,…". A terminal is shown the newest 100 runs and told how many more
there are (-n N shows N, --all every one); --json and pipes get them all,
as they come.

EXPR is MLflow's search syntax, extended: comparisons (= != < <= > >=,
LIKE, ILIKE, IN, NOT IN) of metrics.KEY (last value; metrics.KEY.min,
.max, .count, .step too), params.KEY (typed: params.lr < 0.01), tags.KEY
and attributes (status, name, experiment, started, ended, duration,
commit, branch, dirty, run_id, parent), joined with and, or, not and
parentheses.
Back-quote keys with odd characters: metrics.` + "`val/acc`" + `. Times can be
relative: started > -7d. A run without the key does not match. run_id
and parent take the short ids ls shows. A run that is part of another (a
trial of a sweep) has "⊂ " and the other's name after its own. A key no run has is named on standard
error with the closest keys that exist; sorting by one is an error.

  git runs ls --where "metrics.acc > 0.9 and params.model = 'rf'" --sort -metrics.acc
  git runs ls --where "run_id = '01jdm3x4'"
  git runs ls --where "parent = '01jdm3x4'" --sort -metrics.acc
  git runs ls --columns params.lr,metrics.loss.min -n 10`
}

func (c *lsCmd) Run(e *env) error {
	t, err := e.tracker()
	if err != nil {
		return err
	}
	q := tracker.Query{Where: c.Where, Limit: c.Limit}
	q.Sort, q.Desc = sortFlag(c.Sort, c.Desc)
	if err := checkQuery(q); err != nil {
		return err
	}
	if err := e.explainAll(t, q); err != nil {
		return err
	}
	keys, err := columnKeys(c.Columns)
	if err != nil {
		return err
	}
	paged := false
	if !c.JSON && c.Limit == 0 && !c.All && e.ttyOut != nil {
		// A terminal is shown the newest page, not a million lines.
		q.Limit, paged = lsPage, true
	}
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	defer w.Flush()
	if c.JSON {
		j := jsonArray{w: w}
		if _, err := t.Scan(e.ctx, q, j.add); err != nil {
			return err
		}
		return j.end()
	}
	var shown []tracker.Run
	total, err := t.Scan(e.ctx, q, func(r tracker.Run) error {
		shown = append(shown, r)
		return nil
	})
	if err != nil {
		return err
	}
	if len(shown) == 0 {
		return nil
	}
	names, err := t.Namer(e.ctx)
	if err != nil {
		return err
	}
	e.page()
	w.Reset(e.stdout)
	rows, left := lsRows(e, names, shown, keys, e.width())
	fitTable(w, rows, e.width())
	p := painter(e.color)
	if len(left) > 0 {
		fitTable(w, [][]string{{p.dim(moreNote(left))}}, e.width())
	}
	if more := total - len(shown); paged && more > 0 {
		fmt.Fprintln(w, p.dim(fmt.Sprintf("… and %d older runs: -n N shows N, --all every one", more)))
	}
	return nil
}

// lsPage is how many runs ls shows a terminal unless told.
const lsPage = 100

// checkQuery reports a Where or sort key that does not parse, before
// anything is read.
func checkQuery(q tracker.Query) error {
	if q.Where != "" {
		if _, err := query.Parse(q.Where); err != nil {
			return err
		}
	}
	for _, o := range append([]tracker.Order{{Key: q.Sort}}, q.Order...) {
		if o.Key == "" {
			continue
		}
		if _, err := query.ParseKey(o.Key); err != nil {
			return err
		}
	}
	return nil
}

// explainAll is explain for the store's runs, read through its index.
func (e *env) explainAll(t *tracker.Tracker, q tracker.Query) error {
	errs, err := t.Check(e.ctx, q)
	if err != nil {
		return err
	}
	return e.explainErrs(errs)
}

// sortFlag reads --sort: -KEY sorts by KEY in descending order, as does
// --desc.
func sortFlag(key string, desc bool) (string, bool) {
	if k, ok := strings.CutPrefix(key, "-"); ok {
		return k, true
	}
	return key, desc
}

// explain says what in q names nothing among the runs: a key no run has
// (with the closest that exist) or a run_id that stands for no run, as a
// warning; a sort key no run has is an error, as no order follows.
func (e *env) explain(rs *tracker.Runs, q tracker.Query) error {
	return e.explainErrs(rs.Check(q))
}

// explainErrs reports what Check found.
func (e *env) explainErrs(errs []error) error {
	for _, err := range errs {
		var uk *tracker.UnknownKeyError
		if errors.As(err, &uk) && uk.Sort {
			return fmt.Errorf("sort by %s: %w", uk.Key, err)
		}
		e.warn("%v", err)
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

// jsonArray writes records as a JSON array as they come, a record a
// line, as writeJSONArray does.
type jsonArray struct {
	w   io.Writer
	buf []byte
	n   int
}

func (j *jsonArray) add(r tracker.Run) error {
	if j.n == 0 {
		j.buf = append(j.buf, '[')
	} else {
		j.buf = append(j.buf, ',')
	}
	j.n++
	j.buf = append(j.buf, '\n')
	j.buf = codec.AppendJSON(j.buf, r.Record)
	if len(j.buf) > 48<<10 {
		_, err := j.w.Write(j.buf)
		j.buf = j.buf[:0]
		return err
	}
	return nil
}

func (j *jsonArray) end() error {
	if j.n == 0 {
		j.buf = append(j.buf, '[')
	} else {
		j.buf = append(j.buf, '\n')
	}
	j.buf = append(j.buf, "]\n"...)
	_, err := j.w.Write(j.buf)
	return err
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
// for, or the columns that tell the runs apart best, as many as fit in
// width (all of them when width is 0), with the keys of those left out.
func lsRows(e *env, rs tracker.Namer, shown []tracker.Run, keys []query.Key, width int) ([][]string, []string) {
	p := painter(e.color)
	fixed := fixedColumns(p, rs, shown, width)
	var extra []lsColumn
	var left []string
	if len(keys) > 0 {
		for _, k := range keys {
			extra = append(extra, keyColumn(p, k, shown))
		}
	} else {
		extra, left = pickColumns(p, shown, tracker.Columns(shown), tableWidth(fixed), width)
	}
	cols := append(fixed, extra...)
	rows := make([][]string, len(shown)+1)
	for _, col := range cols {
		rows[0] = append(rows[0], p.dim(col.head))
		for i, v := range col.cells {
			rows[i+1] = append(rows[i+1], v)
		}
	}
	return rows, left
}

// moreNote follows the table when more columns differ than fit: how
// many, and the keys to ask for them by, best first.
func moreNote(keys []string) string {
	return fmt.Sprintf("+%d more: --columns %s", len(keys), strings.Join(keys, ","))
}

// lsColumn is a column of the table of ls: its head and a cell per run.
type lsColumn struct {
	head  string
	cells []string
	width int
}

func newColumn(head string, cells []string) lsColumn {
	w := visible(head)
	for _, c := range cells {
		w = max(w, visible(c))
	}
	return lsColumn{head, cells, w}
}

// maxCellWidth is the widest a value is let be when the table must fit
// a terminal: values are mostly numbers.
const maxCellWidth = 16

// nameWidth is the widest a name is let be in a table width wide: names
// are what people tell runs by, but at 80 columns the keys that differ
// need the room more.
func nameWidth(width int) int { return min(max(width/5, 12), 32) }

// fixedColumns are the columns ls always shows.
func fixedColumns(p painter, rs tracker.Namer, shown []tracker.Run, width int) []lsColumn {
	n := len(shown)
	id, name, status := make([]string, n), make([]string, n), make([]string, n)
	started, took, commit := make([]string, n), make([]string, n), make([]string, n)
	now := time.Now()
	for i, r := range shown {
		rec := r.Record
		nm := rec.Name
		if parent, ok := rs.Parent(r); ok {
			nm += p.dim(" ⊂ " + parent.Record.Name)
		}
		if r.FetchedFrom != "" {
			nm += p.paint("36", " ⇣"+r.FetchedFrom)
		}
		if width > 0 {
			nm = clip(nm, nameWidth(width))
		}
		id[i], name[i], status[i] = rs.Abbrev(r.ID), nm, p.runStatus(r)
		started[i], took[i], commit[i] = ago(rec.Started, now), span(rec.Duration(now).Truncate(time.Millisecond)), tracker.ShortCommit(rec.Source)
	}
	return []lsColumn{newColumn("ID", id), newColumn("NAME", name), newColumn("STATUS", status),
		newColumn("STARTED", started), newColumn("DURATION", took), newColumn("COMMIT", commit)}
}

// tableWidth is the width of a line of columns, two spaces apart.
func tableWidth(cols []lsColumn) int {
	w := 0
	for i, c := range cols {
		if i > 0 {
			w += 2
		}
		w += c.width
	}
	return w
}

// keyColumn is the column of a key given with --columns.
func keyColumn(p painter, k query.Key, shown []tracker.Run) lsColumn {
	cells := make([]string, len(shown))
	for i, r := range shown {
		if v, ok := k.Value(r.Record); ok {
			cells[i] = cell(v)
		} else {
			cells[i] = p.dim("-")
		}
	}
	return newColumn(k.String(), cells)
}

// pickColumns takes candidates, best first, while they fit in width
// beside the used cells already taken (all of them when width is 0),
// and returns them in the order of their kinds (experiment, tags,
// params, metrics), each kind by name, with the keys of those left out.
func pickColumns(p painter, shown []tracker.Run, cands []tracker.Column, used, width int) ([]lsColumn, []string) {
	params := map[string]bool{}
	for _, c := range cands {
		if c.Kind == "param" {
			params[c.Name] = true
		}
	}
	var picked []tracker.Column
	var cols []lsColumn
	var left []string
	for _, c := range cands {
		col := candColumn(p, shown, c, params[c.Name], width > 0)
		if width > 0 && used+2+col.width > width {
			left = append(left, c.Key)
			continue // a narrower one further down may fit
		}
		used += 2 + col.width
		picked, cols = append(picked, c), append(cols, col)
	}
	order := map[string]int{"experiment": 0, "tag": 1, "param": 2, "metric": 3}
	idx := make([]int, len(picked))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if d := order[picked[a].Kind] - order[picked[b].Kind]; d != 0 {
			return d
		}
		return strings.Compare(picked[a].Name, picked[b].Name)
	})
	out := make([]lsColumn, len(idx))
	for i, j := range idx {
		out[i] = cols[j]
	}
	return out, left
}

// candColumn renders a column ls picked: params and metrics by their
// bare names (metrics.NAME when a param has the name too), tags as
// tags.NAME; cut to maxCellWidth when fit.
func candColumn(p painter, shown []tracker.Run, c tracker.Column, paramToo, fit bool) lsColumn {
	cells := make([]string, len(shown))
	head := c.Name
	switch {
	case c.Kind == "experiment":
		head = "EXPERIMENT"
	case c.Kind == "tag", c.Kind == "metric" && paramToo:
		head = c.Key
	}
	for i, r := range shown {
		v, ok := candValue(r.Record, c)
		switch {
		case !ok:
			v = p.dim("-")
		case fit:
			v = clip(v, maxCellWidth)
		}
		cells[i] = v
	}
	if fit {
		head = clip(head, maxCellWidth)
	}
	return newColumn(head, cells)
}

// candValue is the text of rec's value of column c.
func candValue(rec *run.Record, c tracker.Column) (string, bool) {
	switch c.Kind {
	case "experiment":
		return rec.Experiment, true
	case "tag":
		v, ok := rec.Tags[c.Name]
		return v, ok
	case "param":
		if x, ok := rec.Params[c.Name]; ok {
			return run.FormatPlain(x), true
		}
	case "metric":
		if m, ok := rec.Metrics[c.Name]; ok {
			return run.FormatMetric(m.Last), true
		}
	}
	return "", false
}
