package tracker

import (
	"cmp"
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
	return bucketize(len(points), xf, func(i int) float64 { return points[i].Value }, inOrder, from, to, n)
}

// BucketsAgainst is Buckets for a chart of y whose x axis is another
// metric, xs: each point of y at a step that xs logged too becomes a point
// at xs' value there (the last logged, when it logged the step more than
// once); y's other points are left out.
func BucketsAgainst(y, xs []run.Point, from, to float64, n int) []Bucket {
	type xy struct{ x, v float64 }
	pairs := make([]xy, 0, min(len(y), len(xs)))
	byStep := func(ps []run.Point) []run.Point {
		if slices.IsSortedFunc(ps, func(a, b run.Point) int { return cmp.Compare(a.Step, b.Step) }) {
			return ps
		}
		c := slices.Clone(ps)
		slices.SortStableFunc(c, func(a, b run.Point) int { return cmp.Compare(a.Step, b.Step) })
		return c
	}
	ys, xsorted := byStep(y), byStep(xs)
	// A merge of the two in step order: no map of a million steps.
	j := 0
	for _, p := range ys {
		for j < len(xsorted) && xsorted[j].Step < p.Step {
			j++
		}
		k := j
		for k+1 < len(xsorted) && xsorted[k+1].Step == p.Step {
			k++
		}
		if k < len(xsorted) && xsorted[k].Step == p.Step {
			pairs = append(pairs, xy{xsorted[k].Value, p.Value})
		}
	}
	slices.SortStableFunc(pairs, func(a, b xy) int { return cmpFloat(a.x, b.x) })
	return bucketize(len(pairs), func(i int) float64 { return pairs[i].x }, func(i int) float64 { return pairs[i].v }, true, from, to, n)
}

// bucketize is Buckets over count points given by their x and value.
// inOrder tells that x never falls from one point to the next.
func bucketize(count int, xf, vf func(int) float64, inOrder bool, from, to float64, n int) []Bucket {
	if count == 0 || n <= 0 {
		return nil
	}
	// Histories are almost always logged in x order: then the points in
	// range are one slice of them, found by binary search, and nothing is
	// sorted or copied.
	var idx []int
	lo, hi := 0, count
	if inOrder {
		if from < to {
			lo = sort.Search(count, func(i int) bool { return xf(i) >= from })
			hi = sort.Search(count, func(i int) bool { return xf(i) > to })
		}
	} else {
		idx = make([]int, 0, count)
		for i := range count {
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
		add(&out[len(out)-1], xi, vf(i))
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

// BandPoint is one column of a chart of a group of runs: the mean of the
// runs' values there, with their spread.
type BandPoint struct {
	X    float64 // mean x of the runs' points in the column
	Mean float64
	Std  float64 // population standard deviation
	Min  float64
	Max  float64
	Runs int // how many of the runs have a point there
}

// Band condenses the histories of a group of runs, each already in
// buckets (Buckets or BucketsAgainst), into at most n columns of equal
// width over [from, to] (the runs' whole range when from >= to), each
// with the mean, spread and range of the runs' last values in it. A run
// with several buckets in one column counts once, by its last. NaN and
// infinite values are left out; a column no run has a value in is too.
func Band(runs [][]Bucket, from, to float64, n int) []BandPoint {
	if n <= 0 {
		return nil
	}
	if !(from < to) {
		from, to = math.Inf(1), math.Inf(-1)
		for _, bs := range runs {
			if len(bs) > 0 {
				from, to = min(from, bs[0].X), max(to, bs[len(bs)-1].X)
			}
		}
		if math.IsInf(from, 1) {
			return nil
		}
	}
	width := (to - from) / float64(n)
	type acc struct {
		sumX, sum, sq, lo, hi float64
		n                     int
	}
	cols := make([]acc, n)
	for _, bs := range runs {
		col, v, x := -1, 0.0, 0.0
		flush := func() {
			if col < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return
			}
			c := &cols[col]
			if c.n == 0 {
				c.lo, c.hi = v, v
			}
			c.sumX, c.sum, c.sq, c.n = c.sumX+x, c.sum+v, c.sq+v*v, c.n+1
			c.lo, c.hi = min(c.lo, v), max(c.hi, v)
		}
		for _, b := range bs {
			if b.X < from || b.X > to {
				continue
			}
			k := 0
			if width > 0 {
				k = min(int((b.X-from)/width), n-1)
			}
			if k != col {
				flush()
			}
			col, v, x = k, b.Last, b.X
		}
		flush()
	}
	out := make([]BandPoint, 0, n)
	for _, c := range cols {
		if c.n == 0 {
			continue
		}
		k := float64(c.n)
		mean := c.sum / k
		out = append(out, BandPoint{X: c.sumX / k, Mean: mean, Std: math.Sqrt(max(0, c.sq/k-mean*mean)), Min: c.lo, Max: c.hi, Runs: c.n})
	}
	return out
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
