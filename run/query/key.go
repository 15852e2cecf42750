package query

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
)

// keyKind says which part of a record a key reads.
type keyKind int

const (
	kMetric keyKind = iota + 1
	kParam
	kTag
	kAttr
)

// attr is a run attribute that a key can name.
type attr int

const (
	aID attr = iota + 1
	aName
	aExperiment
	aStatus
	aStarted
	aEnded
	aDuration
	aCommit
	aBranch
	aDirty
	aParent
)

// attrNames maps every accepted spelling to the attribute; attrCanon
// gives the spelling printed back.
var attrNames = map[string]attr{
	"run_id": aID, "id": aID,
	"run_name": aName, "name": aName,
	"experiment": aExperiment,
	"status":     aStatus,
	"started":    aStarted, "start_time": aStarted,
	"ended": aEnded, "end_time": aEnded,
	// The times of MLflow's experiments, which filters of experiments
	// name (see tracker.FilterExperiments).
	"creation_time": aStarted, "last_update_time": aEnded,
	"duration": aDuration,
	"commit":   aCommit,
	"branch":   aBranch,
	"dirty":    aDirty,
	// The run a run is part of (run.ParentTag), as MLflow's nested runs
	// name theirs.
	"parent": aParent, "parent_id": aParent, "parent_run_id": aParent,
}

var attrCanon = map[attr]string{
	aID: "run_id", aName: "run_name", aExperiment: "experiment", aStatus: "status",
	aStarted: "started", aEnded: "ended", aDuration: "duration",
	aCommit: "commit", aBranch: "branch", aDirty: "dirty", aParent: "parent",
}

// prefixes maps every accepted key prefix to its kind.
var prefixes = map[string]keyKind{
	"metrics": kMetric, "metric": kMetric,
	"params": kParam, "param": kParam,
	"tags": kTag, "tag": kTag,
	"attributes": kAttr, "attribute": kAttr, "attr": kAttr,
}

// summary fields a metric key can end in.
type field int

const (
	fLast field = iota
	fMin
	fMax
	fCount
	fStep
)

var fieldNames = map[string]field{"last": fLast, "min": fMin, "max": fMax, "count": fCount, "step": fStep}

// Key names one value of a run: a metric (or one of its summary fields), a
// param, a tag or an attribute. It is what --sort and columns take.
type Key struct {
	kind keyKind
	name string // metric, param or tag key; for a metric, the whole-name reading
	// base and field are the second reading of a metric key ending in a
	// summary word: "loss.min" is also field min of metric "loss". Which
	// reading applies depends on the record, so both are kept.
	base  string
	field field
	attr  attr
	text  string // canonical form, computed once
}

// ParseKey parses a key such as "metrics.acc", "params.lr",
// "attributes.started", "started", "metrics.loss.min" or "metrics.`val/acc`".
func ParseKey(s string) (Key, error) {
	toks, err := lex(s)
	if err != nil {
		return Key{}, wrap(s, err)
	}
	if toks[0].kind != tIdent {
		return Key{}, wrap(s, errAt(toks[0].pos, "expected a key, found %s", toks[0].describe()))
	}
	k, err := makeKey(toks[0])
	if err != nil {
		return Key{}, wrap(s, err)
	}
	if toks[1].kind != tEOF {
		return Key{}, wrap(s, errAt(toks[1].pos, "expected end of input after key, found %s", toks[1].describe()))
	}
	return k, nil
}

// makeKey resolves an identifier token into a key.
func makeKey(t token) (Key, error) {
	first := t.segs[0]
	if !first.quoted {
		low := strings.ToLower(first.text)
		if kind, ok := prefixes[low]; ok {
			rest := t.segs[1:]
			if len(rest) == 0 {
				return Key{}, errAt(t.pos, "expected a name after %q", first.text+".")
			}
			if kind == kAttr {
				if len(rest) == 1 && !rest[0].quoted {
					if a, ok := attrNames[strings.ToLower(rest[0].text)]; ok {
						return attrKey(a), nil
					}
				}
				return Key{}, errAt(t.pos, "unknown attribute %q (known: run_id, run_name, experiment, status, started, ended, duration, commit, branch, dirty, parent)", joinSegs(rest))
			}
			k := Key{kind: kind, name: joinSegs(rest)}
			if kind == kMetric && len(rest) > 1 {
				last := rest[len(rest)-1]
				if f, ok := fieldNames[last.text]; ok && !last.quoted {
					k.base, k.field = joinSegs(rest[:len(rest)-1]), f
				}
			}
			k.text = k.format()
			return k, nil
		}
		if len(t.segs) == 1 {
			if a, ok := attrNames[low]; ok {
				return attrKey(a), nil
			}
		}
	}
	return Key{}, errAt(t.pos, "unknown key %q: expected metrics.NAME, params.NAME, tags.NAME or an attribute", t.src)
}

// NameKey returns the key of a record's param, metric or tag called name
// (kind "param", "metric" or "tag"), printed so that ParseKey reads it
// back: "params.lr", "metrics.`val/acc`".
func NameKey(kind, name string) Key {
	k := Key{kind: map[string]keyKind{"param": kParam, "metric": kMetric, "tag": kTag}[kind], name: name}
	k.text = k.format()
	return k
}

// Metric returns the name of the metric a metric key names by its whole
// name, "" for a key of another kind.
func (k Key) Metric() string {
	if k.kind != kMetric {
		return ""
	}
	return k.name
}

func attrKey(a attr) Key {
	return Key{kind: kAttr, attr: a, text: "attributes." + attrCanon[a]}
}

func joinSegs(segs []segment) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		parts[i] = s.text
	}
	return strings.Join(parts, ".")
}

// format prints the key so that it parses back to the same key.
func (k Key) format() string {
	var prefix string
	switch k.kind {
	case kMetric:
		prefix = "metrics."
		if k.base != "" {
			var last string
			for n, f := range fieldNames {
				if f == k.field {
					last = n
				}
			}
			return prefix + quoteName(k.base, true) + "." + last
		}
		return prefix + quoteName(k.name, false)
	case kParam:
		prefix = "params."
	case kTag:
		prefix = "tags."
	}
	return prefix + quoteName(k.name, true)
}

// quoteName prints a dotted name bare when that reads back the same and
// back-quoted otherwise. Unless fieldOK, a bare name must not end in a
// summary word, which would add a second reading.
func quoteName(name string, fieldOK bool) string {
	parts := strings.Split(name, ".")
	bare := true
	for _, p := range parts {
		if p == "" {
			bare = false
			break
		}
		for _, r := range p {
			if !isIdentRune(r) {
				bare = false
				break
			}
		}
	}
	if bare && !fieldOK && len(parts) > 1 {
		if _, ok := fieldNames[parts[len(parts)-1]]; ok {
			bare = false
		}
	}
	if bare {
		return name
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// String returns the key in canonical form: full prefix, attribute names
// as run_id, run_name, started, ended.
func (k Key) String() string { return k.text }

// metric looks up a metric key in r: the whole name first, then the
// summary-field reading.
func (k *Key) metric(r *run.Record) (float64, bool) {
	if s, ok := r.Metrics[k.name]; ok {
		return s.Last, true
	}
	if k.base == "" {
		return 0, false
	}
	s, ok := r.Metrics[k.base]
	if !ok {
		return 0, false
	}
	switch k.field {
	case fMin:
		return s.Min, true
	case fMax:
		return s.Max, true
	case fCount:
		return float64(s.Count), true
	case fStep:
		return float64(s.Step), true
	}
	return s.Last, true
}

// attrString returns a string attribute; empty counts as absent.
func (k *Key) attrString(r *run.Record) (string, bool) {
	var v string
	switch k.attr {
	case aID:
		v = r.ID
	case aName:
		v = r.Name
	case aExperiment:
		v = r.Experiment
	case aStatus:
		v = string(r.Status)
	case aCommit:
		v = r.Source.Commit
	case aBranch:
		v = r.Source.Branch
	case aParent:
		v = r.Tags[run.ParentTag]
	}
	return v, v != ""
}

// attrTime returns a time attribute; the zero time counts as absent.
func (k *Key) attrTime(r *run.Record) (time.Time, bool) {
	t := r.Started
	if k.attr == aEnded {
		t = r.Ended
	}
	return t, !t.IsZero()
}

// duration returns the run's duration in seconds, up to now while running.
func duration(r *run.Record, now time.Time) (float64, bool) {
	if r.Started.IsZero() {
		return 0, false
	}
	return r.Duration(now).Seconds(), true
}

// Value returns k's value in r: float64 for metric values, int64 for
// metric counts and steps, the param's own type, string for tags and
// string attributes, time.Time for started and ended, float64 seconds for
// duration (up to the current time for a running run) and bool for
// dirty. It returns false when r lacks the value.
func (k Key) Value(r *run.Record) (any, bool) {
	switch k.kind {
	case kMetric:
		if s, ok := r.Metrics[k.name]; ok {
			return s.Last, true
		}
		if k.base == "" {
			return nil, false
		}
		s, ok := r.Metrics[k.base]
		if !ok {
			return nil, false
		}
		switch k.field {
		case fCount:
			return s.Count, true
		case fStep:
			return s.Step, true
		}
		v, _ := k.metric(r)
		return v, true
	case kParam:
		v, ok := r.Params[k.name]
		return v, ok
	case kTag:
		if v, ok := tagValue(r, k.name); ok {
			return v, true
		}
		return nil, false
	}
	switch k.attr {
	case aStarted, aEnded:
		if t, ok := k.attrTime(r); ok {
			return t, true
		}
		return nil, false
	case aDuration:
		if d, ok := duration(r, time.Now()); ok {
			return d, true
		}
		return nil, false
	case aDirty:
		return r.Source.Dirty, true
	}
	if s, ok := k.attrString(r); ok {
		return s, true
	}
	return nil, false
}

// Sort sorts recs by k, stably. Runs lacking the key come last in both
// directions, as do NaN values before them. Numbers compare numerically
// (int64 and float64 together), strings lexically, times in time order,
// false before true; values of different types order numbers, strings,
// times, booleans, then lists by their text.
func Sort(recs []*run.Record, k Key, desc bool) {
	order := SortOrder(recs, k, desc)
	sorted := make([]*run.Record, len(recs))
	for i, j := range order {
		sorted[i] = recs[j]
	}
	copy(recs, sorted)
}

// SortOrder returns the indices of recs in the order Sort puts them.
func SortOrder(recs []*run.Record, k Key, desc bool) []int {
	type item struct {
		i    int
		v    any
		f    float64 // v as a number, when every value is one
		rank int     // 0 comparable value, 1 NaN, 2 absent
	}
	items := make([]item, len(recs))
	numeric := true
	for i, r := range recs {
		v, ok := k.Value(r)
		it := item{i: i, v: v}
		switch {
		case !ok:
			it.rank = 2
		case isNaN(v):
			it.rank = 1
		default:
			switch x := v.(type) {
			case float64:
				it.f = x
			case int64:
				it.f = float64(x)
			default:
				numeric = false
			}
		}
		items[i] = it
	}
	sign := 1
	if desc {
		sign = -1
	}
	// Metrics, the usual sort key, are all numbers: compared as such,
	// without a type switch per comparison, 100,000 runs sort in a few
	// tens of milliseconds.
	slices.SortStableFunc(items, func(a, b item) int {
		if a.rank != 0 || b.rank != 0 {
			return cmp.Compare(a.rank, b.rank)
		}
		if numeric {
			return sign * cmp.Compare(a.f, b.f)
		}
		return sign * compareValues(a.v, b.v)
	})
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = it.i
	}
	return out
}

func isNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}

// typeRank orders values of different types.
func typeRank(v any) int {
	switch v.(type) {
	case int64, float64:
		return 0
	case string:
		return 1
	case time.Time:
		return 2
	case bool:
		return 3
	}
	return 4
}

// compareValues orders two non-NaN values.
func compareValues(a, b any) int {
	ra, rb := typeRank(a), typeRank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
		return cmp.Compare(float64(x), b.(float64))
	case float64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, float64(y))
		}
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	return strings.Compare(run.FormatValue(a), run.FormatValue(b))
}

// column converts a byte offset in s into a 1-based column in runes.
func column(s string, pos int) int {
	if pos > len(s) {
		pos = len(s)
	}
	return utf8.RuneCountInString(s[:pos]) + 1
}

// runNameTag is MLflow's tag for a run's name, which records keep as their
// name: MLflow's filters and sorts name it.
const runNameTag = "mlflow.runName"

// tagValue is tag name of r, MLflow's run-name tag being the run's name.
func tagValue(r *run.Record, name string) (string, bool) {
	if v, ok := r.Tags[name]; ok {
		return v, true
	}
	if name == runNameTag {
		return r.Name, true
	}
	return "", false
}
