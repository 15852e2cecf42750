package tracker

import (
	"slices"

	"github.com/gitruns/gitruns/run"
)

// SampleSteps returns the points of a history whose steps lie in
// [from, to] at no more than n distinct steps, spread evenly over those
// the history has and always including the first and the last, in
// logged order: a chart of a long history needs a few hundred points,
// not all of them. n <= 0 keeps every step.
func SampleSteps(points []run.Point, from, to int64, n int) []run.Point {
	var steps []int64
	for _, p := range points {
		if p.Step >= from && p.Step <= to {
			steps = append(steps, p.Step)
		}
	}
	slices.Sort(steps)
	steps = slices.Compact(steps)
	keep := make(map[int64]bool, min(len(steps), max(n, 0)))
	if n <= 0 || len(steps) <= n {
		for _, s := range steps {
			keep[s] = true
		}
	} else if n == 1 {
		keep[steps[len(steps)-1]] = true
	} else {
		for i := 0; i < n; i++ {
			keep[steps[i*(len(steps)-1)/(n-1)]] = true
		}
	}
	var out []run.Point
	for _, p := range points {
		if keep[p.Step] {
			out = append(out, p)
		}
	}
	return out
}
