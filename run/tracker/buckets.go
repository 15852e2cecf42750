package tracker

import (
	"math"
	"slices"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/query"
)

// Axis is what a chart's x axis measures.
type Axis int

// The axes of a chart.
const (
	ByStep     Axis = iota // the point's step
	ByTime                 // when it was logged, Unix milliseconds
	ByRelative             // milliseconds since the run's first point
)

// Bucket is one column of pixels of a chart: the points of a history whose
// x falls in it, kept as their smallest, largest and last value, so that a
// spike is drawn however many points share the column.
type Bucket struct {
	X     float64 // x of the last point of the bucket
	Min   float64 // NaN ignored; NaN when every value is NaN
	Max   float64
	Last  float64 // value of the last point, in x order
	Count int
}

// Buckets condenses points into at most n buckets of equal width over
// [from, to] on axis x (the points' own range when from >= to), in x
// order, leaving out points outside it. A history of no more points than
// n comes back one bucket a point. Zoomed in, the same call over a
// narrower range gives finer buckets: nothing is sampled away for good.
func Buckets(points []run.Point, x Axis, from, to float64, n int) []Bucket {
	if len(points) == 0 || n <= 0 {
		return nil
	}
	xs := make([]float64, len(points))
	first := points[0].Time
	for _, p := range points {
		first = min(first, p.Time)
	}
	for i, p := range points {
		xs[i] = axisValue(p, x, first)
	}
	idx := make([]int, 0, len(points))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, v := range xs {
		if from < to && (v < from || v > to) {
			continue
		}
		idx = append(idx, i)
		lo, hi = min(lo, v), max(hi, v)
	}
	// Stable, so that among equal x the later logged is the last.
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	if from < to {
		lo, hi = from, to
	}
	width := (hi - lo) / float64(n)
	var out []Bucket
	cur := -1
	for _, i := range idx {
		k := 0
		if width > 0 && len(idx) > n {
			k = min(int((xs[i]-lo)/width), n-1)
		} else {
			k = len(out) // few points: one bucket each
		}
		if k != cur || len(out) == 0 {
			out = append(out, Bucket{Min: math.NaN(), Max: math.NaN()})
			cur = k
		}
		b := &out[len(out)-1]
		v := points[i].Value
		b.X, b.Last = xs[i], v
		b.Count++
		if !math.IsNaN(v) {
			if !(v >= b.Min) {
				b.Min = v
			}
			if !(v <= b.Max) {
				b.Max = v
			}
		}
	}
	return out
}

func axisValue(p run.Point, x Axis, first int64) float64 {
	switch x {
	case ByTime:
		return float64(p.Time)
	case ByRelative:
		return float64(p.Time - first)
	}
	return float64(p.Step)
}

// Group is the runs that share one value of a param or tag, with the mean
// and standard deviation of a metric's last value over those that have
// it.
type Group struct {
	Value string // as text; "" for runs without the key
	Runs  []Run
	N     int     // runs with the metric
	Mean  float64 // NaN when N is 0
	Std   float64 // population standard deviation; NaN when N is 0
}

// GroupBy groups runs by the value of key (a param or tag: "params.lr",
// "tags.team"), in order of first appearance, with the statistics of
// metric ("" for none).
func GroupBy(runs []Run, key, metric string) ([]Group, error) {
	k, err := query.ParseKey(key)
	if err != nil {
		return nil, err
	}
	var groups []Group
	at := map[string]int{}
	for _, r := range runs {
		v := ""
		if x, ok := k.Value(r.Record); ok {
			v = run.FormatPlain(x)
		}
		i, ok := at[v]
		if !ok {
			i = len(groups)
			at[v] = i
			groups = append(groups, Group{Value: v})
		}
		groups[i].Runs = append(groups[i].Runs, r)
	}
	for i := range groups {
		groups[i].N, groups[i].Mean, groups[i].Std = stats(groups[i].Runs, metric)
	}
	return groups, nil
}

func stats(runs []Run, metric string) (n int, mean, std float64) {
	var sum, sq float64
	for _, r := range runs {
		m, ok := r.Record.Metrics[metric]
		if !ok || math.IsNaN(m.Last) || math.IsInf(m.Last, 0) {
			continue
		}
		n++
		sum += m.Last
		sq += m.Last * m.Last
	}
	if n == 0 {
		return 0, math.NaN(), math.NaN()
	}
	mean = sum / float64(n)
	return n, mean, math.Sqrt(max(0, sq/float64(n)-mean*mean))
}
