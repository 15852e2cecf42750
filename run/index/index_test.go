package index

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// rec makes the record of run i: ids sort by i.
func rec(i int) *run.Record {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	r := &run.Record{
		Format: run.Format, ID: run.NewIDAt(t)[:10] + fmt.Sprintf("%016d", i), Name: fmt.Sprintf("run-%d", i%7), Experiment: "default",
		Status: run.Finished, Started: t, Ended: t.Add(time.Second),
		Params:  map[string]any{"lr": float64(i%10) / 100, "epochs": int64(i % 5), "model": []string{"rf", "svm"}[i%2]},
		Metrics: map[string]run.Summary{"acc": {Last: float64(i%100) / 100, Count: 1}},
		Tags:    map[string]string{"team": []string{"a", "b", "c"}[i%3]},
	}
	if i%10 == 3 {
		r.Params["lr"] = "auto" // not a number: always a candidate of a range
	}
	if i%17 == 0 {
		r.Metrics["acc"] = run.Summary{Last: math.NaN(), Count: 1}
	}
	return r
}

func commitOf(i int) Commit {
	var c Commit
	copy(c[:], fmt.Sprintf("%020d", i))
	return c
}

// build writes a segment of the runs is (ids of runs rm removed), opened.
func build(t *testing.T, is []int, rm []int) (*Segment, map[string]*run.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seg")
	b, err := NewBuilder(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]*run.Record{}
	for _, i := range is {
		r := rec(i)
		recs[r.ID] = r
		b.Add(r.ID, commitOf(i), r, codec.AppendBinary(nil, r))
	}
	for _, i := range rm {
		b.Remove(rec(i).ID)
	}
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, recs
}

func span(lo, hi int) []int {
	var out []int
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

func TestSegmentLookups(t *testing.T) {
	is := span(0, 500)
	// Added out of order: the builder sorts.
	slices.Reverse(is[100:300])
	s, recs := build(t, is, nil)
	if s.Len() != 500 {
		t.Fatalf("Len = %d, want 500", s.Len())
	}
	for i := 1; i < s.Len(); i++ {
		if s.ID(i-1) >= s.ID(i) {
			t.Fatalf("rows not sorted at %d", i)
		}
	}
	for id, want := range recs {
		i, ok := s.Find(id)
		if !ok {
			t.Fatalf("Find(%s) missing", id)
		}
		row := s.Row(i)
		got, err := codec.DecodeBinary(row.Raw)
		if err != nil || got.ID != id || got.Name != want.Name {
			t.Fatalf("row %d: %v %+v", i, err, got)
		}
	}
	if _, ok := s.Find(run.NewIDAt(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))); ok || len(recs) != 500 {
		t.Fatal("found an id that is not there")
	}
	named := s.Named("run-3")
	want := 0
	for _, r := range recs {
		if r.Name == "run-3" {
			want++
		}
	}
	if len(named) != want {
		t.Fatalf("Named(run-3) = %d rows, want %d", len(named), want)
	}
	for _, i := range named {
		if recs[s.ID(i)].Name != "run-3" {
			t.Fatalf("Named gave %s", recs[s.ID(i)].Name)
		}
	}
	id := rec(42).ID
	lo, hi := s.Prefix(id[:20])
	if hi-lo < 1 || s.ID(lo) > id || s.ID(hi-1) < id {
		t.Fatalf("Prefix(%s) = [%d, %d)", id[:20], lo, hi)
	}
}

func TestSegmentRangeIsASuperset(t *testing.T) {
	is := span(0, 1000)
	s, recs := build(t, is, nil)
	for _, c := range []struct {
		kind   Kind
		name   string
		lo, hi float64
	}{
		{Metric, "acc", 0.5, math.Inf(1)},
		{Metric, "acc", 0.25, 0.25},
		{Param, "lr", math.Inf(-1), 0.03},
		{Param, "epochs", 2, 3},
	} {
		got := map[string]bool{}
		for _, i := range s.Range(c.kind, c.name, c.lo, c.hi) {
			got[s.ID(i)] = true
		}
		if n := s.RangeCount(c.kind, c.name, c.lo, c.hi); n != len(got) {
			t.Errorf("%s %s: RangeCount %d, Range %d", string(c.kind), c.name, n, len(got))
		}
		for id, r := range recs {
			var v float64
			var ok, number bool
			if c.kind == Metric {
				v, ok = r.Metrics[c.name].Last, true
				number = !math.IsNaN(v)
			} else {
				v, number = ParamNumber(r.Params[c.name])
				ok = true
			}
			inside := number && v >= c.lo && v <= c.hi
			must := inside || (c.kind == Param && ok && !number)
			if must != got[id] {
				t.Fatalf("%s %s in [%g, %g]: run %s value %v: got %v, want %v", string(c.kind), c.name, c.lo, c.hi, id, v, got[id], must)
			}
		}
	}
	top := s.Extreme(Metric, "acc", false, 3)
	for _, i := range top {
		if v := recs[s.ID(i)].Metrics["acc"].Last; v != 0.99 {
			t.Fatalf("Extreme gave acc %g, want 0.99", v)
		}
	}
}

func TestSegmentEqual(t *testing.T) {
	s, recs := build(t, span(0, 300), nil)
	for _, c := range []struct {
		kind        Kind
		name, value string
		want        func(*run.Record) bool
	}{
		{Tag, "team", "b", func(r *run.Record) bool { return r.Tags["team"] == "b" }},
		{Param, "model", "svm", func(r *run.Record) bool { return r.Params["model"] == "svm" }},
		{Param, "lr", "auto", func(r *run.Record) bool { return r.Params["lr"] == "auto" }},
		{Tag, "team", "z", func(*run.Record) bool { return false }},
	} {
		got := map[string]bool{}
		for _, i := range s.Equal(c.kind, c.name, c.value) {
			got[s.ID(i)] = true
		}
		for id, r := range recs {
			if c.want(r) != got[id] {
				t.Fatalf("%s %s = %s: run %s got %v", string(c.kind), c.name, c.value, id, got[id])
			}
		}
	}
}

func TestIndexDeltaOverBase(t *testing.T) {
	base, _ := build(t, span(0, 200), nil)
	// The delta changes runs 10..19 (same ids, new records), adds 200..209
	// and removes 50..59.
	path := filepath.Join(t.TempDir(), "delta")
	b, err := NewBuilder(path)
	if err != nil {
		t.Fatal(err)
	}
	changedName := "changed"
	for _, i := range append(span(10, 20), span(200, 210)...) {
		r := rec(i)
		r.Name = changedName
		b.Add(r.ID, commitOf(i+1000), r, codec.AppendBinary(nil, r))
	}
	for _, i := range span(50, 60) {
		b.Remove(rec(i).ID)
	}
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	delta, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer delta.Close()
	x := New(base, delta)
	if x.Len() != 200 {
		t.Fatalf("Len = %d, want 200", x.Len())
	}
	var newest []string
	x.Newest(func(r Row) bool { newest = append(newest, r.ID); return true })
	var want []string
	for _, i := range span(0, 210) {
		if i < 50 || i >= 60 {
			want = append(want, rec(i).ID)
		}
	}
	slices.Reverse(want)
	if !slices.Equal(newest, want) {
		t.Fatalf("Newest: %d runs, want %d", len(newest), len(want))
	}
	var oldest []string
	x.Oldest(func(r Row) bool { oldest = append(oldest, r.ID); return true })
	slices.Reverse(oldest)
	if !slices.Equal(oldest, want) {
		t.Fatal("Oldest is not Newest reversed")
	}
	if r, ok := x.Get(rec(15).ID); !ok || r.Commit != commitOf(1015) {
		t.Fatal("Get does not see the delta's row")
	}
	if _, ok := x.Get(rec(55).ID); ok {
		t.Fatal("Get finds a removed run")
	}
	if n := len(x.Named(changedName)); n != 20 {
		t.Fatalf("Named(changed) = %d, want 20", n)
	}
	for _, r := range x.Named("run-1") {
		if rec, _ := codec.DecodeBinary(r.Raw); rec.Name != "run-1" {
			t.Fatalf("Named(run-1) gave a replaced row %s", rec.Name)
		}
	}
	var top []float64
	x.Extreme(Metric, "acc", false, func(id string, v float64) bool {
		top = append(top, v)
		return len(top) < 5
	})
	if !slices.IsSortedFunc(top, func(a, b float64) int { return -cmpF(a, b) }) || top[0] != 0.99 {
		t.Fatalf("Extreme: %v", top)
	}
	below, above := x.Neighbours(rec(49).ID)
	if below != rec(48).ID || above != rec(60).ID {
		t.Fatalf("Neighbours skip removed runs: got %s %s", below, above)
	}
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestDamagedSegmentsAreRefused(t *testing.T) {
	s, _ := build(t, span(0, 50), nil)
	data := slices.Clone(s.data)
	for _, cut := range []int{0, 10, len(magic) + 8, len(data) / 2, len(data) - 1} {
		if _, err := Parse(data[:cut]); err == nil {
			t.Fatalf("a segment cut at %d parsed", cut)
		}
	}
	bad := slices.Clone(data)
	bad[len(magic)] ^= 0xff // the row count
	if _, err := Parse(bad); err == nil {
		t.Fatal("a segment with a wrong row count parsed")
	}
	path := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(path, []byte("not an index"), 0o666)
	if _, err := Open(path); err == nil {
		t.Fatal("junk opened")
	}
}
