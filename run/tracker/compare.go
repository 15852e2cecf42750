package tracker

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
)

// Differing picks the param and metric keys worth a column when runs are
// shown together: those whose values differ across the runs, or that
// some runs lack (all of them for a single run), at most max of each
// kind (0 for no limit), in key order.
func Differing(runs []Run, max int) (params, metrics []string) {
	// One pass keeping, per key, its first value and whether another
	// differs: a table over 100,000 runs asks this at every query.
	type seen struct {
		first  any
		firstM float64
		n      int
		differ bool
	}
	pv := map[string]*seen{}
	mv := map[string]*seen{}
	for _, r := range runs {
		for k, v := range r.Record.Params {
			s := pv[k]
			if s == nil {
				pv[k] = &seen{first: v, n: 1}
				continue
			}
			s.n++
			if !s.differ && !run.SameValue(v, s.first) {
				s.differ = true
			}
		}
		for k, m := range r.Record.Metrics {
			s := mv[k]
			if s == nil {
				mv[k] = &seen{firstM: m.Last, n: 1}
				continue
			}
			s.n++
			if !s.differ && !(m.Last == s.firstM || m.Last != m.Last && s.firstM != s.firstM) {
				s.differ = true
			}
		}
	}
	pick := func(m map[string]*seen) []string {
		var keys []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s := m[k]
			if len(runs) == 1 || s.n < len(runs) || s.differ {
				keys = append(keys, k)
			}
			if max > 0 && len(keys) == max {
				break
			}
		}
		return keys
	}
	return pick(pv), pick(mv)
}

// CompareRow is one row of runs laid side by side: a key and each run's
// value of it.
type CompareRow struct {
	Key    string `json:"key"`
	Values []any  `json:"values"` // nil where a run lacks the key; metrics are float64
	Differ bool   `json:"differ"` // the values are not all the same
}

// Compare lays runs side by side: attributes (name, status, experiment,
// started, duration, commit), then every param, then every metric's last
// value.
func Compare(runs []Run, now time.Time) []CompareRow {
	attr := func(key string, f func(*run.Record) any) CompareRow {
		r := CompareRow{Key: key}
		for _, x := range runs {
			r.Values = append(r.Values, f(x.Record))
		}
		return r
	}
	rows := []CompareRow{
		attr("name", func(r *run.Record) any { return r.Name }),
		attr("status", func(r *run.Record) any { return string(r.Status) }),
		attr("experiment", func(r *run.Record) any { return r.Experiment }),
		attr("started", func(r *run.Record) any { return r.Started.Local().Format("2006-01-02 15:04") }),
		attr("duration", func(r *run.Record) any { return r.Duration(now).Truncate(time.Millisecond) }),
		attr("commit", func(r *run.Record) any { return ShortCommit(r.Source) }),
	}
	params, metrics := keysOf(runs)
	for _, k := range params {
		rows = append(rows, attr("params."+k, func(r *run.Record) any { return r.Params[k] }))
	}
	for _, k := range metrics {
		rows = append(rows, attr("metrics."+k, func(r *run.Record) any {
			if m, ok := r.Metrics[k]; ok {
				return m.Last
			}
			return nil
		}))
	}
	for i := range rows {
		vs := rows[i].Values
		rows[i].Differ = slices.ContainsFunc(vs[1:], func(v any) bool {
			return (v == nil) != (vs[0] == nil) || (v != nil && !run.SameValue(v, vs[0]))
		})
	}
	return rows
}

// ShortCommit names the code a run ran in seven hex digits, with a * when
// it had uncommitted changes; "-" when it ran outside any commit.
func ShortCommit(src run.Source) string {
	s := src.Commit
	if len(s) > 7 {
		s = s[:7]
	}
	if s == "" {
		s = "-"
	}
	if src.Dirty {
		s += "*"
	}
	return s
}

// keysOf returns every param key and every metric key of runs, sorted.
func keysOf(runs []Run) (params, metrics []string) {
	p, m := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for k := range r.Record.Params {
			p[k] = true
		}
		for k := range r.Record.Metrics {
			m[k] = true
		}
	}
	return slices.Sorted(maps.Keys(p)), slices.Sorted(maps.Keys(m))
}

// Table lays runs out one row each, for CSV and data frames: attributes,
// every param, and each metric's summary (last, step, min, max, count).
// Absent values are "". Floats are written so that NaN and infinities
// read back (nan, +Inf, -Inf).
func Table(runs []Run, now time.Time) (head []string, rows [][]string) {
	params, metrics := keysOf(runs)
	head = []string{"run", "name", "experiment", "status", "started", "ended", "duration", "commit", "branch", "dirty"}
	for _, k := range params {
		head = append(head, "params."+k)
	}
	for _, k := range metrics {
		for _, f := range []string{"last", "step", "min", "max", "count"} {
			head = append(head, "metrics."+k+"."+f)
		}
	}
	for _, x := range runs {
		rows = append(rows, tableRow(x.Record, params, metrics, now))
	}
	return head, rows
}

func tableRow(r *run.Record, params, metrics []string, now time.Time) []string {
	ended := ""
	if !r.Ended.IsZero() {
		ended = r.Ended.Format(time.RFC3339Nano)
	}
	row := []string{r.ID, r.Name, r.Experiment, string(r.Status), r.Started.Format(time.RFC3339Nano), ended,
		strconv.FormatFloat(r.Duration(now).Seconds(), 'f', 3, 64), r.Source.Commit, r.Source.Branch, strconv.FormatBool(r.Source.Dirty)}
	for _, k := range params {
		if v, ok := r.Params[k]; ok {
			row = append(row, run.FormatPlain(v))
		} else {
			row = append(row, "")
		}
	}
	for _, k := range metrics {
		m, ok := r.Metrics[k]
		if !ok {
			row = append(row, "", "", "", "", "")
			continue
		}
		row = append(row, CSVFloat(m.Last), strconv.FormatInt(m.Step, 10), CSVFloat(m.Min), CSVFloat(m.Max), strconv.FormatInt(m.Count, 10))
	}
	return row
}

// CSVFloat writes v as pandas reads it back, NaN and infinities included.
func CSVFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// LowerIsBetter guesses the direction of a metric from its name: lower is
// better for losses and errors (loss, error, err, mse, mae, rmse,
// perplexity, ppl, wer, cer), higher for the others.
func LowerIsBetter(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"loss", "error", "err", "mse", "mae", "rmse", "perplexity", "ppl", "wer", "cer"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Best returns the run among runs with the best last value of metric,
// lowest when minimize, and how many runs have a value of it. NaN values
// are not ranked.
func Best(runs []Run, metric string, minimize bool) (best Run, n int, err error) {
	found := false
	for _, r := range runs {
		m, ok := r.Record.Metrics[metric]
		if !ok || math.IsNaN(m.Last) {
			continue
		}
		n++
		if b := best.Record; !found || (minimize && m.Last < b.Metrics[metric].Last) || (!minimize && m.Last > b.Metrics[metric].Last) {
			best, found = r, true
		}
	}
	if !found {
		return Run{}, 0, fmt.Errorf("no run has metric %q", metric)
	}
	return best, n, nil
}
