package run

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		points []Point
		want   Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []Point{{Step: 5, Value: 2}}, Summary{Last: 2, Step: 5, Min: 2, Max: 2, Count: 1}},
		{"highest step wins", []Point{{Step: 3, Value: 1}, {Step: 9, Value: 7}, {Step: 4, Value: -2}},
			Summary{Last: 7, Step: 9, Min: -2, Max: 7, Count: 3}},
		{"later of equal steps", []Point{{Step: 2, Value: 1}, {Step: 2, Value: 5}, {Step: 1, Value: 3}},
			Summary{Last: 5, Step: 2, Min: 1, Max: 5, Count: 3}},
		{"nan ignored", []Point{{Step: 0, Value: nan}, {Step: 1, Value: 4}, {Step: 2, Value: nan}, {Step: 3, Value: -1}},
			Summary{Last: -1, Step: 3, Min: -1, Max: 4, Count: 4}},
		{"last may be nan", []Point{{Step: 0, Value: 1}, {Step: 1, Value: nan}},
			Summary{Last: nan, Step: 1, Min: 1, Max: 1, Count: 2}},
		{"all nan", []Point{{Value: nan}, {Value: nan}}, Summary{Last: nan, Min: nan, Max: nan, Count: 2}},
		{"infinities", []Point{{Step: -5, Value: math.Inf(1)}, {Step: -6, Value: math.Inf(-1)}},
			Summary{Last: math.Inf(1), Step: -5, Min: math.Inf(-1), Max: math.Inf(1), Count: 2}},
	}
	for _, tt := range tests {
		got := Summarize(tt.points)
		if got.Step != tt.want.Step || got.Count != tt.want.Count || !floatSame(got.Last, tt.want.Last, false) ||
			!floatSame(got.Min, tt.want.Min, false) || !floatSame(got.Max, tt.want.Max, false) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func BenchmarkSummarize1M(b *testing.B) {
	ps := make([]Point, 100000)
	for i := range ps {
		ps[i] = Point{Step: int64(i), Time: 1732661539123 + int64(i)*37, Value: float64(i%977) / 100}
	}
	for len(ps) < 1000000 {
		ps = append(ps, ps[:min(len(ps), 1000000-len(ps))]...)
	}
	for b.Loop() {
		Summarize(ps)
	}
}
