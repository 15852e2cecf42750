package ui

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run/query"
	"github.com/gitruns/gitruns/run/tracker"
)

// run answers one run: its record as git runs show --json has it (without
// the histories, which charts ask for per pixel), its artifacts, parent
// and children.
func (a *API) run(r *http.Request, spec string) (any, error) {
	rs, err := a.t.RecentRuns(r.Context(), listingAge)
	if err != nil {
		return nil, err
	}
	x, err := rs.Resolve(spec)
	if err != nil {
		return nil, err
	}
	arts, err := a.t.Artifacts(r.Context(), x)
	if err != nil {
		return nil, err
	}
	b := appendRun(nil, rs, x)
	b = b[:len(b)-1]
	type art struct {
		Path string `json:"path"`
		Size int64  `json:"size"`
	}
	list := make([]art, len(arts))
	for i, f := range arts {
		list[i] = art{f.Path, f.Size}
	}
	b = append(b, `,"artifacts":`...)
	b = appendJSON(b, list)
	type ref struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var kids []ref
	for _, c := range rs.Children(x) {
		kids = append(kids, ref{c.ID, c.Record.Name})
	}
	b = append(b, `,"children":`...)
	b = appendJSON(b, kids)
	return json.RawMessage(append(b, "}\n"...)), nil
}

// series is one run's history of a metric, condensed to buckets, in
// columns as a chart library takes them.
type series struct {
	Run   string    `json:"run"`
	Name  string    `json:"name"`
	X     []float64 `json:"x"`
	Min   []float64 `json:"min"`
	Max   []float64 `json:"max"`
	Last  []float64 `json:"last"`
	Count []int     `json:"count"`
	// Points is how many points the history has in the range asked for.
	Points int `json:"points"`
}

// jsonNum is a float that JSON can hold: NaN and the infinities are null.
type jsonNum float64

func (n jsonNum) MarshalJSON() ([]byte, error) {
	return appendNum(nil, float64(n)), nil
}

// history answers ?run=A&run=B&key=loss&x=step|time|relative|metrics.K&from=&to=&width=&group=&fields=last:
// each run's history of key in at most width buckets over [from, to],
// against another metric K when x names one; with group (a param or tag),
// the runs' mean and spread for each of its values instead.
func (a *API) history(r *http.Request) (any, error) {
	q := r.URL.Query()
	specs, key := q["run"], q.Get("key")
	if len(specs) == 0 || key == "" {
		return nil, errors.New("history needs run= (one or more) and key=")
	}
	if len(specs) > maxSeries {
		return nil, errors.New("at most " + strconv.Itoa(maxSeries) + " runs on one chart")
	}
	width, err := intArg(r, "width", 1000, 1, maxWidth)
	if err != nil {
		return nil, err
	}
	axis, against, err := parseAxis(q.Get("x"))
	if err != nil {
		return nil, err
	}
	from, to, err := rangeArgs(r)
	if err != nil {
		return nil, err
	}
	rs, err := a.t.RecentRuns(r.Context(), listingAge)
	if err != nil {
		return nil, err
	}
	runs := make([]tracker.Run, len(specs))
	for i, spec := range specs {
		if runs[i], err = rs.Resolve(spec); err != nil {
			return nil, err
		}
	}
	// Each series is read and condensed on a core of its own: a chart of
	// ten runs of a million points is ten passes of a few milliseconds.
	out := make([]series, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, goruntime.GOMAXPROCS(0))
	for i, x := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			h, err := a.t.History(r.Context(), x)
			if err != nil {
				errs[i] = err
				return
			}
			if against != "" {
				out[i] = toSeries(x, tracker.BucketsAgainst(h[key], h[against], from, to, width))
			} else {
				out[i] = toSeries(x, tracker.Buckets(h[key], axis, from, to, width))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if by := q.Get("group"); by != "" {
		return groupsJSON(key, by, runs, out, from, to, width)
	}
	return seriesJSON(key, out, q.Get("fields") == "last"), nil
}

// groupsJSON answers a chart of runs grouped by a param or tag: for each
// group, the mean of its runs' series with their spread and range.
func groupsJSON(key, by string, runs []tracker.Run, out []series, from, to float64, width int) (json.RawMessage, error) {
	gs, err := tracker.GroupBy(runs, by, "")
	if err != nil {
		return nil, err
	}
	at := make(map[string]int, len(runs))
	for i, x := range runs {
		at[x.ID] = i
	}
	b := []byte(`{"key":`)
	b = appendJSON(b, key)
	b = append(b, `,"group":`...)
	b = appendJSON(b, by)
	b = append(b, `,"groups":[`...)
	for gi, g := range gs {
		ids := make([]string, len(g.Runs))
		buckets := make([][]tracker.Bucket, len(g.Runs))
		for j, x := range g.Runs {
			ids[j] = x.ID
			buckets[j] = out[at[x.ID]].buckets()
		}
		band := tracker.Band(buckets, from, to, width)
		if gi > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = appendJSON(b, g.Value)
		b = append(b, `,"runs":`...)
		b = appendJSON(b, ids)
		for _, col := range []struct {
			name string
			f    func(tracker.BandPoint) float64
		}{
			{"x", func(p tracker.BandPoint) float64 { return p.X }}, {"mean", func(p tracker.BandPoint) float64 { return p.Mean }},
			{"std", func(p tracker.BandPoint) float64 { return p.Std }}, {"min", func(p tracker.BandPoint) float64 { return p.Min }},
			{"max", func(p tracker.BandPoint) float64 { return p.Max }}, {"n", func(p tracker.BandPoint) float64 { return float64(p.Runs) }},
		} {
			b = append(b, `,"`+col.name+`":[`...)
			for j, p := range band {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendNum(b, col.f(p))
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...), nil
}

// buckets gives back the buckets s was made of.
func (s series) buckets() []tracker.Bucket {
	bs := make([]tracker.Bucket, len(s.X))
	for i := range bs {
		bs[i] = tracker.Bucket{X: s.X[i], Min: s.Min[i], Max: s.Max[i], Last: s.Last[i], Count: s.Count[i]}
	}
	return bs
}

func toSeries(x tracker.Run, bs []tracker.Bucket) series {
	s := series{Run: x.ID, Name: x.Record.Name, X: make([]float64, len(bs)), Min: make([]float64, len(bs)),
		Max: make([]float64, len(bs)), Last: make([]float64, len(bs)), Count: make([]int, len(bs))}
	for i, b := range bs {
		s.X[i], s.Min[i], s.Max[i], s.Last[i], s.Count[i] = b.X, b.Min, b.Max, b.Last, b.Count
		s.Points += b.Count
	}
	return s
}

// parseAxis reads x=: step, time, relative, or a metric (metrics.lr),
// whose name it returns.
func parseAxis(s string) (tracker.Axis, string, error) {
	switch s {
	case "", "step":
		return tracker.ByStep, "", nil
	case "time":
		return tracker.ByTime, "", nil
	case "relative":
		return tracker.ByRelative, "", nil
	}
	if strings.HasPrefix(s, "metrics.") {
		if k, err := query.ParseKey(s); err == nil && k.Metric() != "" {
			return tracker.ByStep, k.Metric(), nil
		}
	}
	return 0, "", errors.New("x must be step, time, relative or a metric (metrics.NAME)")
}

// rangeArgs reads from= and to=, both or neither.
func rangeArgs(r *http.Request) (from, to float64, err error) {
	q := r.URL.Query()
	fs, ts := q.Get("from"), q.Get("to")
	if fs == "" && ts == "" {
		return 0, 0, nil
	}
	from, err1 := strconv.ParseFloat(fs, 64)
	to, err2 := strconv.ParseFloat(ts, 64)
	if err1 != nil || err2 != nil || !(from < to) {
		return 0, 0, errors.New("from and to must be numbers, from below to")
	}
	return from, to, nil
}

// groups answers ?by=params.lr&metric=acc&where=: the runs that match,
// grouped by a param or tag, with the mean and std of a metric.
func (a *API) groups(r *http.Request) (any, error) {
	q := r.URL.Query()
	if q.Get("by") == "" {
		return nil, errors.New("groups needs by= (a param or tag, such as params.lr)")
	}
	rs, err := a.t.RecentRuns(r.Context(), listingAge)
	if err != nil {
		return nil, err
	}
	found, err := rs.Query(tracker.Query{Where: q.Get("where")})
	if err != nil {
		return nil, err
	}
	gs, err := tracker.GroupBy(found, q.Get("by"), q.Get("metric"))
	if err != nil {
		return nil, err
	}
	type group struct {
		Value string   `json:"value"`
		Runs  []string `json:"runs"`
		N     int      `json:"n"`
		Mean  jsonNum  `json:"mean"`
		Std   jsonNum  `json:"std"`
	}
	out := make([]group, len(gs))
	for i, g := range gs {
		ids := make([]string, len(g.Runs))
		for j, x := range g.Runs {
			ids[j] = x.ID
		}
		out[i] = group{g.Value, ids, g.N, jsonNum(g.Mean), jsonNum(g.Std)}
	}
	return map[string]any{"by": q.Get("by"), "metric": q.Get("metric"), "groups": out}, nil
}

// output answers ?run=&offset=&limit=: a page of a run's output log, cut
// at line ends, as text; the page renders it, escaped.
func (a *API) output(r *http.Request) (any, error) {
	q := r.URL.Query()
	off, err := intArg(r, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	limit, err := intArg(r, "limit", 256<<10, 1, maxOutput)
	if err != nil {
		return nil, err
	}
	rs, err := a.t.RecentRuns(r.Context(), listingAge)
	if err != nil {
		return nil, err
	}
	x, err := rs.Resolve(q.Get("run"))
	if err != nil {
		return nil, err
	}
	out, err := a.t.Output(r.Context(), x)
	if err != nil {
		return nil, err
	}
	page := out[min(off, len(out)):]
	next := -1
	if len(page) > limit {
		end := limit
		for end > 0 && page[end-1] != '\n' {
			end--
		}
		if end == 0 {
			end = limit
			for end > 0 && !utf8.RuneStart(page[end]) {
				end--
			}
		}
		page = page[:end]
		next = off + end
	}
	return map[string]any{"run": x.ID, "size": len(out), "offset": off, "next": next, "text": string(page)}, nil
}

// diff answers ?a=&b=: what differs between two runs, code included, as
// git runs diff --code does.
func (a *API) diff(r *http.Request) (any, error) {
	q := r.URL.Query()
	rs, err := a.t.RecentRuns(r.Context(), listingAge)
	if err != nil {
		return nil, err
	}
	ra, err := rs.Resolve(q.Get("a"))
	if err != nil {
		return nil, err
	}
	var rb *tracker.Run
	if q.Get("b") != "worktree" {
		x, err := rs.Resolve(q.Get("b"))
		if err != nil {
			return nil, err
		}
		rb = &x
	}
	d, err := a.t.Diff(r.Context(), ra, rb, tracker.DiffOptions{Code: true})
	if err != nil {
		return nil, err
	}
	return map[string]any{"a": ra.ID, "b": q.Get("b"), "diff": d.Result, "code": d.Code}, nil
}

// seriesJSON writes the answer of history by hand: tens of thousands of
// numbers cost a third of what encoding/json takes for them. lastOnly
// leaves out the buckets' min, max and count, which a small chart or one
// of many runs does not draw (fields=last): two fifths of the numbers.
func seriesJSON(key string, out []series, lastOnly bool) json.RawMessage {
	b := []byte(`{"key":`)
	b = appendJSON(b, key)
	b = append(b, `,"series":[`...)
	for i, s := range out {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"run":`...)
		b = appendJSON(b, s.Run)
		b = append(b, `,"name":`...)
		b = appendJSON(b, s.Name)
		b = append(b, `,"points":`...)
		b = strconv.AppendInt(b, int64(s.Points), 10)
		b = append(b, `,"x":`...)
		b = appendFloats(b, s.X)
		b = append(b, `,"last":`...)
		b = appendFloats(b, s.Last)
		if lastOnly {
			b = append(b, '}')
			continue
		}
		for _, col := range []struct {
			name string
			v    []float64
		}{{"min", s.Min}, {"max", s.Max}} {
			b = append(b, `,"`+col.name+`":`...)
			b = appendFloats(b, col.v)
		}
		b = append(b, `,"count":[`...)
		for j, c := range s.Count {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(c), 10)
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}\n"...)
}

func appendFloats(b []byte, xs []float64) []byte {
	b = append(b, '[')
	for i, v := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNum(b, v)
	}
	return append(b, ']')
}

// appendNum writes a number, null for what JSON cannot hold.
func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
