package tracker

import (
	"math"
	"slices"
	"sort"

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
	first := points[0].Time
	if x == ByRelative {
		for _, p := range points {
			first = min(first, p.Time)
		}
	}
	xf := func(i int) float64 { return float64(points[i].Step) }
	switch x {
	case ByTime:
		xf = func(i int) float64 { return float64(points[i].Time) }
	case ByRelative:
		xf = func(i int) float64 { return float64(points[i].Time - first) }
	}
	inOrder := true
	for i := 1; i < len(points) && inOrder; i++ {
		if x == ByStep {
			inOrder = points[i].Step >= points[i-1].Step
		} else {
			inOrder = points[i].Time >= points[i-1].Time
		}
	}
	// Histories are almost always logged in x order: then the points in
	// range are one slice of them, found by binary search, and nothing is
	// sorted or copied.
	var idx []int
	lo, hi := 0, len(points)
	if inOrder {
		if from < to {
			lo = sort.Search(len(points), func(i int) bool { return xf(i) >= from })
			hi = sort.Search(len(points), func(i int) bool { return xf(i) > to })
		}
	} else {
		idx = make([]int, 0, len(points))
		for i := range points {
			if v := xf(i); !(from < to) || (v >= from && v <= to) {
				idx = append(idx, i)
			}
		}
		// Stable, so that among equal x the later logged is the last.
		slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(xf(a), xf(b)) })
		lo, hi = 0, len(idx)
	}
	at := func(k int) int {
		if idx == nil {
			return k
		}
		return idx[k]
	}
	if hi <= lo {
		return nil
	}
	xlo, xhi := xf(at(lo)), xf(at(hi-1))
	if from < to {
		xlo, xhi = from, to
	}
	width := (xhi - xlo) / float64(n)
	many := hi-lo > n && width > 0
	out := make([]Bucket, 0, min(n, hi-lo))
	cur := -1
	for k := lo; k < hi; k++ {
		i := at(k)
		xi := xf(i)
		b := len(out) // few points: one bucket each
		if many {
			b = min(int((xi-xlo)/width), n-1)
		}
		if b != cur {
			out = append(out, Bucket{Min: math.NaN(), Max: math.NaN()})
			cur = b
		}
		add(&out[len(out)-1], xi, points[i].Value)
	}
	return out
}

func add(b *Bucket, x, v float64) {
	b.X, b.Last = x, v
	b.Count++
	if v == v { // not NaN
		if !(v >= b.Min) {
			b.Min = v
		}
		if !(v <= b.Max) {
			b.Max = v
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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
