// Package ui is the JSON API behind git-runs' web UI, served under
// /ui/api/ by the same server as MLflow's API: the runs table (queried,
// sorted and paged on the server), one run, histories condensed per pixel,
// groups, output, and the diff of two runs. Records are written as the
// command line's --json writes them: the UI, the CLI and the MLflow API
// agree because they read one library.
package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/query"
	"github.com/gitruns/gitruns/run/tracker"
)

// Prefix is where the API is served.
const Prefix = "/ui/api/"

// API answers the UI's calls from a tracker.
type API struct {
	t    *tracker.Tracker
	keys keyCache
}

// New returns the API of t's runs.
func New(t *tracker.Tracker) *API { return &API{t: t} }

// Limits on what one call asks for.
const (
	maxPage    = 10000 // runs in a page of the table
	maxColumns = 10000 // param and metric columns offered
	maxSeries  = 50    // runs on one chart
	maxWidth   = 8192  // buckets of one series
	maxOutput  = 1 << 20
)

// ServeHTTP answers one call of the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		fail(w, http.StatusMethodNotAllowed, "the UI's API is read-only: GET only")
		return
	}
	route := strings.TrimPrefix(r.URL.Path, Prefix)
	var res any
	var err error
	switch {
	case route == "runs":
		res, err = a.runs(r)
	case strings.HasPrefix(route, "runs/"):
		res, err = a.run(r, strings.TrimPrefix(route, "runs/"))
	case route == "history":
		res, err = a.history(r)
	case route == "groups":
		res, err = a.groups(r)
	case route == "output":
		res, err = a.output(r)
	case route == "diff":
		res, err = a.diff(r)
	default:
		fail(w, http.StatusNotFound, "no endpoint "+r.URL.Path)
		return
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, run.ErrNotFound) {
			status = http.StatusNotFound
		}
		fail(w, status, err.Error())
		return
	}
	raw, ok := res.(json.RawMessage)
	if !ok {
		raw, _ = json.Marshal(res)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(htmlSafe(raw))
}

// htmlSafe escapes <, > and & in JSON (they can only stand inside its
// strings), so that no answer holds markup however it is taken: records
// come from teammates' pushes.
func htmlSafe(b []byte) []byte {
	if !bytes.ContainsAny(b, "<>&") {
		return b
	}
	out := make([]byte, 0, len(b)+64)
	for _, c := range b {
		switch c {
		case '<':
			out = append(out, `\u003c`...)
		case '>':
			out = append(out, `\u003e`...)
		case '&':
			out = append(out, `\u0026`...)
		default:
			out = append(out, c)
		}
	}
	return out
}

func fail(w http.ResponseWriter, status int, msg string) {
	if i := strings.IndexAny(msg, "\r\n"); i >= 0 {
		msg = msg[:i]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// intArg reads a whole-number query parameter within [lo, hi], def when
// absent.
func intArg(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, errors.New(name + " must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
	}
	return n, nil
}

// runs answers the table: ?where=&sort=&desc=&offset=&limit=&deleted=,
// with the total for a virtualized table, and the param and metric keys of
// the runs that match, those that differ between them first.
func (a *API) runs(r *http.Request) (any, error) {
	q := r.URL.Query()
	off, err := intArg(r, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	limit, err := intArg(r, "limit", 100, 1, maxPage)
	if err != nil {
		return nil, err
	}
	rs, err := a.t.RecentRuns(r.Context(), listingAge)
	if err != nil {
		return nil, err
	}
	query := tracker.Query{Where: q.Get("where"), Sort: q.Get("sort"), Desc: q.Get("desc") == "1"}
	switch q.Get("deleted") {
	case "1":
		query.Deleted = tracker.OnlyDeleted
	case "all":
		query.Deleted = tracker.AlsoDeleted
	}
	if e := q.Get("experiment"); e != "" {
		query.Experiments = []string{e}
	}
	found, err := rs.Query(query)
	if err != nil {
		return nil, err
	}
	// Later pages of the same query need no key lists: they came with
	// the first (columns=0).
	var params, metrics, tags, dp, dm []string
	if q.Get("columns") != "0" || len(q["col"]) == 0 || q.Get("col") == "*" {
		k := keySet{rs, query.Where, query.Deleted, q.Get("experiment")}
		params, metrics, tags, dp, dm = a.keys.get(k, func() keyLists {
			var l keyLists
			l.params, l.metrics, l.tags, l.dp, l.dm = columns(found)
			return l
		}).all()
	}
	cols, err := tableColumns(q["col"], params, metrics, dp, dm)
	if err != nil {
		return nil, err
	}
	cells, err := intArg(r, "cells", len(cols), 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	compact := q.Get("record") == "0"
	page := found[min(off, len(found)):min(off+limit, len(found))]
	b := []byte(`{"total":`)
	b = strconv.AppendInt(b, int64(len(found)), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(off), 10)
	if q.Get("columns") != "0" {
		b = append(b, `,"params":`...)
		b = appendJSON(b, params)
		b = append(b, `,"metrics":`...)
		b = appendJSON(b, metrics)
		b = append(b, `,"tags":`...)
		b = appendJSON(b, tags)
		b = append(b, `,"differing":`...)
		b = appendJSON(b, map[string]int{"params": len(dp), "metrics": len(dm)})
		b = append(b, `,"cols":`...)
		b = appendJSON(b, keyNames(cols))
	}
	b = append(b, `,"runs":[`...)
	for i, x := range page {
		if i > 0 {
			b = append(b, ',')
		}
		if compact {
			b = appendBrief(b, rs, x)
		} else {
			b = appendRun(b, rs, x)
		}
		if len(cols) > 0 {
			b = appendCells(b[:len(b)-1], x.Record, cols[:min(cells, len(cols))])
		}
	}
	return json.RawMessage(append(b, "]}\n"...)), nil
}

// keySet names a set of runs whose keys columns lists: the same query
// of the same listing has the same keys, whatever its order or page.
type keySet struct {
	rs         *tracker.Runs
	where      string
	deleted    tracker.DeletedView
	experiment string
}

type keyLists struct{ params, metrics, tags, dp, dm []string }

func (l keyLists) all() (params, metrics, tags, dp, dm []string) {
	return l.params, l.metrics, l.tags, l.dp, l.dm
}

// keyCache keeps the key lists of the last few sets of runs of one
// listing: over 100,000 runs they cost more than the rest of a page (most
// of 200 ms), and a table asks for the same set at each sort and reload.
// A new listing empties it, so that it holds on to no old one.
type keyCache struct {
	mu      sync.Mutex
	rs      *tracker.Runs
	entries []keyEntry // most recent last
}

type keyEntry struct {
	set   keySet
	lists keyLists
}

func (c *keyCache) get(k keySet, build func() keyLists) keyLists {
	c.mu.Lock()
	for i, e := range c.entries {
		if e.set == k {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			c.mu.Unlock()
			return e.lists
		}
	}
	c.mu.Unlock()
	l := build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rs != k.rs {
		c.rs, c.entries = k.rs, nil
	}
	if len(c.entries) >= 8 {
		c.entries = c.entries[1:]
	}
	c.entries = append(c.entries, keyEntry{k, l})
	return l
}

// defaultColumns is how many of the params, and of the metrics, that
// differ between the runs a table shows first, as git runs ls picks.
const defaultColumns = 12

// tableColumns reads the table's columns: keys of the query language
// (col=params.lr&col=metrics.loss.min), "*" for every param and metric,
// one empty col= for none, and no col at all for those that differ first.
func tableColumns(spec, params, metrics, dp, dm []string) ([]query.Key, error) {
	var keys []query.Key
	switch {
	case len(spec) == 1 && spec[0] == "":
		return nil, nil // col= alone: no columns
	case len(spec) == 0:
		for _, p := range dp[:min(defaultColumns, len(dp))] {
			keys = append(keys, query.NameKey("param", p))
		}
		for _, m := range dm[:min(defaultColumns, len(dm))] {
			keys = append(keys, query.NameKey("metric", m))
		}
	case len(spec) == 1 && spec[0] == "*":
		for _, p := range params {
			keys = append(keys, query.NameKey("param", p))
		}
		for _, m := range metrics {
			keys = append(keys, query.NameKey("metric", m))
		}
	default:
		if len(spec) > maxColumns {
			return nil, errors.New("at most " + strconv.Itoa(maxColumns) + " columns")
		}
		for _, s := range spec {
			k, err := query.ParseKey(s)
			if err != nil {
				return nil, fmt.Errorf("read column: %w", err)
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func keyNames(keys []query.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out
}

// appendCells adds to the run object that b ends inside the values of
// its record's keys, as "cells", null where it has none, and closes it.
func appendCells(b []byte, rec *run.Record, keys []query.Key) []byte {
	b = append(b, `,"cells":[`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		v, ok := k.Value(rec)
		switch v := v.(type) {
		case float64:
			b = appendNum(b, v)
		case time.Time:
			b = appendJSON(b, v.UTC().Format(time.RFC3339))
		default:
			if !ok {
				b = append(b, "null"...)
			} else {
				b = appendJSON(b, v)
			}
		}
	}
	return append(b, "]}"...)
}

// appendBrief writes what the table shows of a run beside its cells: no
// params, metrics or tags, which a run of 10,000 metrics makes heavy.
func appendBrief(b []byte, rs *tracker.Runs, x tracker.Run) []byte {
	rec := x.Record
	b = append(b, `{"id":`...)
	b = appendJSON(b, x.ID)
	b = append(b, `,"name":`...)
	b = appendJSON(b, rec.Name)
	b = append(b, `,"status":`...)
	b = appendJSON(b, string(rec.Status))
	b = append(b, `,"started":`...)
	b = appendJSON(b, rec.Started.UTC().Format(time.RFC3339Nano))
	return appendExtra(b, rs, x)
}

// columns offers the keys of the runs: those whose values differ across
// them (dp, dm) first, as git runs ls chooses its columns, then the
// others.
func columns(runs []tracker.Run) (params, metrics, tags, dp, dm []string) {
	dp, dm = tracker.Differing(runs, maxColumns)
	params, metrics = append([]string{}, dp...), append([]string{}, dm...)
	seenP, seenM := set(dp), set(dm)
	for _, x := range runs {
		for k := range x.Record.Params {
			if !seenP[k] && len(params) < maxColumns {
				seenP[k] = true
				params = append(params, k)
			}
		}
		for k := range x.Record.Metrics {
			if !seenM[k] && len(metrics) < maxColumns {
				seenM[k] = true
				metrics = append(metrics, k)
			}
		}
	}
	sort.Strings(params[len(dp):])
	sort.Strings(metrics[len(dm):])
	return params, metrics, tagKeys(runs), dp, dm
}

// tagKeys lists the keys of the runs' own tags, sorted, leaving out those
// git-runs and MLflow set for themselves.
func tagKeys(runs []tracker.Run) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, x := range runs {
		for k := range x.Record.Tags {
			if !seen[k] && len(out) < maxColumns && !strings.HasPrefix(k, "gitruns.") && !strings.HasPrefix(k, "mlflow.") {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func set(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func appendJSON(b []byte, v any) []byte {
	j, _ := json.Marshal(v)
	return append(b, j...)
}

// appendRun writes a run as git runs ls --json does, with what the table
// shows beside the record: live, stale, the parent, the fetched mark.
func appendRun(b []byte, rs *tracker.Runs, x tracker.Run) []byte {
	b = codec.AppendJSON(b, x.Record)
	b = b[:len(b)-1] // reopen the object
	return appendExtra(b, rs, x)
}

// appendExtra adds to the run object that b ends inside what the table
// shows beside the record, and closes it.
func appendExtra(b []byte, rs *tracker.Runs, x tracker.Run) []byte {
	b = append(b, `,"commit":`...)
	b = appendJSON(b, x.Commit)
	b = append(b, `,"live":`...)
	b = strconv.AppendBool(b, x.Live)
	if x.StaleFor > 0 {
		b = append(b, `,"stale_seconds":`...)
		b = strconv.AppendInt(b, int64(x.StaleFor/time.Second), 10)
	}
	if p, ok := rs.Parent(x); ok {
		b = append(b, `,"parent":`...)
		b = appendJSON(b, map[string]string{"id": p.ID, "name": p.Record.Name})
	}
	if x.FetchedFrom != "" {
		b = append(b, `,"fetched_from":`...)
		b = appendJSON(b, x.FetchedFrom)
	}
	return append(b, '}')
}

// listingAge is how old a listing of runs may be when nothing was written
// through this server since: a table polling for live runs, or scrolling
// through pages, asks many times a second.
const listingAge = 250 * time.Millisecond
