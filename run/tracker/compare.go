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
	"github.com/gitruns/gitruns/run/query"
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
			if run.IsSystemMetric(k) {
				continue // the machine's, not the program's: asked for by name
			}
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
// value (but system metrics, run.IsSystemMetric), then every tag.
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
	params, metrics, tags := keysOf(runs)
	for _, k := range params {
		rows = append(rows, attr("params."+k, func(r *run.Record) any { return r.Params[k] }))
	}
	for _, k := range metrics {
		if run.IsSystemMetric(k) {
			continue // the machine's: git runs show has them
		}
		rows = append(rows, attr("metrics."+k, func(r *run.Record) any {
			if m, ok := r.Metrics[k]; ok {
				return m.Last
			}
			return nil
		}))
	}
	for _, k := range tags {
		rows = append(rows, attr("tags."+k, func(r *run.Record) any {
			if v, ok := r.Tags[k]; ok {
				return v
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

// keysOf returns every param, metric and tag key of runs, sorted. The
// mark of a run put aside (run.DeletedTag) is no tag of the user's.
func keysOf(runs []Run) (params, metrics, tags []string) {
	p, m, t := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for k := range r.Record.Params {
			p[k] = true
		}
		for k := range r.Record.Metrics {
			m[k] = true
		}
		for k := range r.Record.Tags {
			if k != run.DeletedTag {
				t[k] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(p)), slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(t))
}

// Table lays runs out one row each, for CSV and data frames: attributes,
// every param, each metric's summary (last, step, min, max, count), and
// every tag. Absent values are "". Floats are written so that NaN and infinities
// read back (nan, +Inf, -Inf).
func Table(runs []Run, now time.Time) (head []string, rows [][]string) {
	params, metrics, tags := keysOf(runs)
	head = []string{"run", "name", "experiment", "status", "started", "ended", "duration", "commit", "branch", "dirty"}
	for _, k := range params {
		head = append(head, "params."+k)
	}
	for _, k := range metrics {
		for _, f := range []string{"last", "step", "min", "max", "count"} {
			head = append(head, "metrics."+k+"."+f)
		}
	}
	for _, k := range tags {
		head = append(head, "tags."+k)
	}
	for _, x := range runs {
		rows = append(rows, tableRow(x.Record, params, metrics, tags, now))
	}
	return head, rows
}

func tableRow(r *run.Record, params, metrics, tags []string, now time.Time) []string {
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
	for _, k := range tags {
		row = append(row, r.Tags[k])
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
		return Run{}, 0, noMetric(metric, metricNames(runs))
	}
	return best, n, nil
}

// noMetric says that no run has metric, naming the closest of the
// metrics runs have.
func noMetric(metric string, names []string) error {
	err := fmt.Errorf("no run has metric %q", metric)
	if near := query.Suggest(metric, names, 3); len(near) > 0 {
		err = fmt.Errorf("%w; did you mean %s?", err, strings.Join(near, " or "))
	}
	return err
}

// Column is a key worth a column when runs are shown together, with how
// well it tells them apart.
type Column struct {
	// Key is the column as a query key: "params.lr", "metrics.acc",
	// "tags.team" or "attributes.experiment".
	Key string
	// Kind is "param", "metric", "tag" or "experiment"; Name the param,
	// metric or tag key ("" for experiment).
	Kind, Name string
	// Distinct counts the different values among the runs, a missing
	// value counting as one.
	Distinct int
}

// Columns returns the params, metrics and tags whose values differ
// across runs (every one of them for a single run), and the experiment
// when runs are in more than one, best first: the experiment, then tags,
// then params and metrics taken in turn, each kind ranked by how many
// different values it has, then by how many runs have it, then by name.
// Tags git-runs and MLflow keep for themselves (mlflow.*, gitruns.*) are
// left out: the name and status columns show what they hold; so are
// system metrics (run.IsSystemMetric), which differ from run to run.
func Columns(runs []Run) []Column {
	type stat struct {
		vals    map[string]bool
		present int
	}
	stats := map[[2]string]*stat{}
	note := func(kind, name, val string) {
		s := stats[[2]string{kind, name}]
		if s == nil {
			s = &stat{vals: map[string]bool{}}
			stats[[2]string{kind, name}] = s
		}
		s.vals[val] = true
		s.present++
	}
	for _, r := range runs {
		rec := r.Record
		note("experiment", "", rec.Experiment)
		for k, v := range rec.Tags {
			if !strings.HasPrefix(k, "mlflow.") && !strings.HasPrefix(k, "gitruns.") {
				note("tag", k, v)
			}
		}
		for k, v := range rec.Params {
			note("param", k, run.FormatValue(v))
		}
		for k, m := range rec.Metrics {
			if run.IsSystemMetric(k) {
				continue // sampled, never alike: asked for by name
			}
			note("metric", k, strconv.FormatFloat(m.Last, 'g', -1, 64))
		}
	}
	byKind := map[string][]Column{}
	ranks := map[[2]string]int{}
	for id, s := range stats {
		distinct := len(s.vals)
		if s.present < len(runs) {
			distinct++ // the runs without it tell apart too
		}
		if len(runs) > 1 && distinct < 2 {
			continue
		}
		if id[0] == "experiment" && distinct < 2 {
			continue
		}
		ranks[id] = s.present
		byKind[id[0]] = append(byKind[id[0]], Column{Key: columnKey(id[0], id[1]), Kind: id[0], Name: id[1], Distinct: distinct})
	}
	for _, cols := range byKind {
		slices.SortFunc(cols, func(a, b Column) int {
			if a.Distinct != b.Distinct {
				return b.Distinct - a.Distinct
			}
			if pa, pb := ranks[[2]string{a.Kind, a.Name}], ranks[[2]string{b.Kind, b.Name}]; pa != pb {
				return pb - pa
			}
			return strings.Compare(a.Name, b.Name)
		})
	}
	out := append(byKind["experiment"], byKind["tag"]...)
	ps, ms := byKind["param"], byKind["metric"]
	for i := 0; i < max(len(ps), len(ms)); i++ {
		if i < len(ps) {
			out = append(out, ps[i])
		}
		if i < len(ms) {
			out = append(out, ms[i])
		}
	}
	return out
}

// columnKey is the query key of a column.
func columnKey(kind, name string) string {
	if kind == "experiment" {
		return "attributes.experiment"
	}
	return query.NameKey(kind, name).String()
}

// UnknownKeyError tells of a param, metric or tag key that a query names
// and no run has, with the keys runs do have that are closest to it.
type UnknownKeyError struct {
	Key     string   // the key as the query names it, canonical
	Sort    bool     // the key is one the query sorts by
	Suggest []string // the closest keys that exist, closest first
}

func (e *UnknownKeyError) Error() string {
	s := "no run has " + e.Key
	switch len(e.Suggest) {
	case 0:
	case 1:
		s += "; did you mean " + e.Suggest[0] + "?"
	default:
		s += "; did you mean " + strings.Join(e.Suggest[:len(e.Suggest)-1], ", ") + " or " + e.Suggest[len(e.Suggest)-1] + "?"
	}
	return s
}

// Check tells what in q names nothing among rs's runs, so that a query
// that matches nothing can say why: each param, metric or tag key of its
// Where, Sort or Order that no run has, as an *UnknownKeyError with the
// closest keys that exist; and each value compared with run_id that is
// neither a full id nor the prefix of exactly one run's id. A query
// that does not parse is left for Query to report.
func (rs *Runs) Check(q Query) []error { return check(rs, q) }

// keySource is what check asks of runs: Runs, or a view through an
// index.
type keySource interface {
	named(k query.Key) bool
	keyNames() []string
	idsWithPrefix(p string) int
}

func check(rs keySource, q Query) []error {
	var keys []query.Key
	sorted := map[string]bool{}
	for _, o := range append([]Order{{Key: q.Sort}}, q.Order...) {
		if k, err := query.ParseKey(o.Key); err == nil {
			keys = append(keys, k)
			sorted[k.String()] = true
		}
	}
	var ids []string
	if q.Where != "" {
		if e, err := query.Parse(q.Where); err == nil {
			keys = append(keys, query.Keys(e)...)
			ids = query.RunIDs(e)
		}
	}
	var errs []error
	var names []string
	seen := map[string]bool{}
	for _, k := range keys {
		if k.IsAttribute() || seen[k.String()] || rs.named(k) {
			continue
		}
		seen[k.String()] = true
		if names == nil {
			names = rs.keyNames()
		}
		errs = append(errs, &UnknownKeyError{Key: k.String(), Sort: sorted[k.String()], Suggest: query.Suggest(k.String(), names, 3)})
	}
	for _, id := range ids {
		if err := checkID(rs, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// checkID tells why a value compared with run_id or parent matches no run, or
// nil when it matches one.
func checkID(rs keySource, id string) error {
	n := rs.idsWithPrefix(id)
	switch {
	case n == 0:
		return fmt.Errorf("no run id starts with %q", id)
	case run.ValidID(id):
		return nil
	case len(id) < 4:
		return fmt.Errorf("run id %q is too short to stand for a run: give 4 characters or more", id)
	case n > 1:
		return fmt.Errorf("run id %q is the start of several run ids; give more of it", id)
	}
	return nil
}

// named tells whether some run has a value of k.
func (rs *Runs) named(k query.Key) bool {
	for _, r := range rs.All {
		if k.Named(r.Record) {
			return true
		}
	}
	return false
}

// keyNames returns the query keys of every param, metric and tag runs
// have, sorted.
func (rs *Runs) keyNames() []string {
	set := map[string]bool{}
	for _, r := range rs.All {
		for k := range r.Record.Params {
			set[query.NameKey("param", k).String()] = true
		}
		for k := range r.Record.Metrics {
			set[query.NameKey("metric", k).String()] = true
		}
		for k := range r.Record.Tags {
			set[query.NameKey("tag", k).String()] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// idsWithPrefix counts the runs whose id starts with p, stopping at two.
func (rs *Runs) idsWithPrefix(p string) int {
	n := 0
	for _, r := range rs.All {
		if strings.HasPrefix(r.ID, p) {
			if n++; n == 2 {
				break
			}
		}
	}
	return n
}

// fullIDs makes the short ids that listings show work in queries: a
// value e compares run_id with (=, !=, IN, NOT IN) that is no full id
// but the prefix, four characters or more, of exactly one run's id in
// all stands for that id. Any other value stays as written, and matches
// only a run with exactly that id.
func fullIDs(all []Run, e query.Expr) query.Expr {
	short := false
	for _, v := range query.RunIDs(e) {
		if !run.ValidID(v) && len(v) >= 4 {
			short = true
		}
	}
	if !short {
		return e
	}
	return query.ResolveIDs(e, func(v string) string {
		if run.ValidID(v) || len(v) < 4 {
			return v
		}
		full := ""
		for _, r := range all {
			if strings.HasPrefix(r.ID, v) {
				if full != "" {
					return v
				}
				full = r.ID
			}
		}
		if full == "" {
			return v
		}
		return full
	})
}

// metricNames returns the names of the metrics runs have, sorted.
func metricNames(runs []Run) []string {
	set := map[string]bool{}
	for _, r := range runs {
		for k := range r.Record.Metrics {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
