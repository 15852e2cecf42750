package tracker

import (
	"math"
	"testing"

	"github.com/gitruns/gitruns/run"
)

func TestBucketsKeepSpikes(t *testing.T) {
	var pts []run.Point
	for i := 0; i < 100000; i++ {
		v := 1.0
		if i == 54321 {
			v = 99 // one spike among 100,000
		}
		pts = append(pts, run.Point{Step: int64(i), Time: int64(1000 + i), Value: v})
	}
	bs := Buckets(pts, ByStep, 0, 0, 500)
	if len(bs) != 500 {
		t.Fatalf("%d buckets, want 500", len(bs))
	}
	total, spikes := 0, 0
	for _, b := range bs {
		total += b.Count
		if b.Max == 99 {
			spikes++
		}
	}
	if total != 100000 || spikes != 1 {
		t.Errorf("buckets hold %d points, %d with the spike", total, spikes)
	}
	if last := bs[len(bs)-1]; last.X != 99999 || last.Last != 1 {
		t.Errorf("last bucket %+v", last)
	}
	// Zoomed in around the spike: finer buckets, the spike itself a point.
	zoom := Buckets(pts, ByStep, 54300, 54340, 500)
	if len(zoom) != 41 {
		t.Fatalf("zoomed: %d buckets, want 41 (one a point)", len(zoom))
	}
	if zoom[21].X != 54321 || zoom[21].Last != 99 {
		t.Errorf("zoomed spike bucket %+v", zoom[21])
	}
	rel := Buckets(pts[:3], ByRelative, 0, 0, 10)
	if len(rel) != 3 || rel[0].X != 0 || rel[2].X != 2 {
		t.Errorf("relative time: %+v", rel)
	}
}

func TestBucketsNaN(t *testing.T) {
	pts := []run.Point{{Step: 0, Value: math.NaN()}, {Step: 0, Value: 2}, {Step: 1, Value: math.NaN()}}
	bs := Buckets(pts, ByStep, 0, 0, 1)
	if len(bs) != 1 || bs[0].Min != 2 || bs[0].Max != 2 || !math.IsNaN(bs[0].Last) || bs[0].Count != 3 {
		t.Errorf("%+v", bs)
	}
}

func TestGroupBy(t *testing.T) {
	mk := func(lr float64, acc float64) Run {
		return Run{Record: &run.Record{Params: map[string]any{"lr": lr}, Metrics: map[string]run.Summary{"acc": {Last: acc}}}}
	}
	runs := []Run{mk(0.1, 0.8), mk(0.01, 0.5), mk(0.1, 0.6), {Record: &run.Record{}}}
	gs, err := GroupBy(runs, "params.lr", "acc")
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 3 || gs[0].Value != "0.1" || len(gs[0].Runs) != 2 || gs[0].N != 2 ||
		math.Abs(gs[0].Mean-0.7) > 1e-12 || math.Abs(gs[0].Std-0.1) > 1e-12 || gs[2].Value != "" || !math.IsNaN(gs[2].Mean) {
		t.Errorf("%+v", gs)
	}
	if _, err := GroupBy(runs, "params.", "acc"); err == nil {
		t.Error("a bad key is no error")
	}
}

func TestBucketsOutOfOrder(t *testing.T) {
	pts := []run.Point{{Step: 5, Value: 5}, {Step: 1, Value: 1}, {Step: 3, Value: 3}, {Step: 1, Value: 10}}
	bs := Buckets(pts, ByStep, 0, 0, 10)
	if len(bs) != 4 || bs[0].X != 1 || bs[0].Last != 1 || bs[1].Last != 10 || bs[3].X != 5 {
		t.Errorf("out of order: %+v", bs)
	}
	if bs := Buckets(pts, ByStep, 2, 4, 10); len(bs) != 1 || bs[0].X != 3 {
		t.Errorf("range of out-of-order points: %+v", bs)
	}
}

func BenchmarkBuckets1M(b *testing.B) {
	pts := make([]run.Point, 1_000_000)
	for i := range pts {
		pts[i] = run.Point{Step: int64(i), Time: int64(i), Value: float64(i % 977)}
	}
	for b.Loop() {
		Buckets(pts, ByStep, 0, 0, 1000)
	}
}

func TestBucketsAgainstAnotherMetric(t *testing.T) {
	// loss at steps 0..4, lr logged at steps 0, 2, 4 (twice at 4), and
	// falling: the chart of loss against lr runs in lr's order.
	loss := []run.Point{{Step: 0, Value: 10}, {Step: 1, Value: 9}, {Step: 2, Value: 8}, {Step: 3, Value: 7}, {Step: 4, Value: 6}}
	lr := []run.Point{{Step: 4, Value: 0.5}, {Step: 0, Value: 0.3}, {Step: 2, Value: 0.2}, {Step: 4, Value: 0.1}}
	bs := BucketsAgainst(loss, lr, 0, 0, 100)
	want := []struct{ x, v float64 }{{0.1, 6}, {0.2, 8}, {0.3, 10}}
	if len(bs) != len(want) {
		t.Fatalf("%+v, want %v", bs, want)
	}
	for i, w := range want {
		if bs[i].X != w.x || bs[i].Last != w.v {
			t.Errorf("point %d: %+v, want %v", i, bs[i], w)
		}
	}
	if got := BucketsAgainst(loss, nil, 0, 0, 10); len(got) != 0 {
		t.Errorf("against a metric with no points: %+v", got)
	}
	// Many points condense as Buckets does.
	var y, x []run.Point
	for i := range 10000 {
		y = append(y, run.Point{Step: int64(i), Value: float64(i % 7)})
		x = append(x, run.Point{Step: int64(i), Value: float64(i) / 100})
	}
	if got := BucketsAgainst(y, x, 0, 0, 50); len(got) != 50 || got[49].X != 99.99 {
		t.Errorf("10,000 points in 50 buckets: %d, last %+v", len(got), got[len(got)-1])
	}
}

func TestBandMeanAndSpread(t *testing.T) {
	mk := func(vs ...float64) []Bucket {
		var bs []Bucket
		for i, v := range vs {
			bs = append(bs, Bucket{X: float64(i), Last: v, Min: v, Max: v, Count: 1})
		}
		return bs
	}
	// Three runs; the third ends early and has a NaN.
	band := Band([][]Bucket{mk(1, 2, 3, 4), mk(3, 4, 5, 6), mk(2, math.NaN())}, 0, 0, 4)
	if len(band) != 4 {
		t.Fatalf("%d columns: %+v", len(band), band)
	}
	b0 := band[0]
	if b0.X != 0 || b0.Mean != 2 || b0.Min != 1 || b0.Max != 3 || b0.Runs != 3 || math.Abs(b0.Std-math.Sqrt(2.0/3)) > 1e-12 {
		t.Errorf("first column %+v", b0)
	}
	if b1 := band[1]; b1.Runs != 2 || b1.Mean != 3 {
		t.Errorf("second column, NaN left out: %+v", b1)
	}
	if b3 := band[3]; b3.X != 3 || b3.Mean != 5 || b3.Std != 1 {
		t.Errorf("last column %+v", b3)
	}
	// Two buckets of a run in one column count once, by the last.
	if got := Band([][]Bucket{mk(1, 5)}, 0, 10, 1); len(got) != 1 || got[0].Mean != 5 || got[0].Runs != 1 {
		t.Errorf("one column: %+v", got)
	}
	if got := Band(nil, 0, 0, 10); got != nil {
		t.Errorf("no runs: %+v", got)
	}
}
