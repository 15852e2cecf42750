package run

import "math"

// Summarize condenses the points of one metric, in logged order. The last
// point is the one with the highest step, the later one logged among equal
// steps, so that re-logging a step replaces its value. Min and Max ignore
// NaN, and are NaN only when every value is. No points give a zero Summary.
func Summarize(points []Point) Summary {
	var s Summary
	for _, p := range points {
		s.Add(p)
	}
	return s
}

// Add takes one more point, logged after those s summarises, into s, as
// Summarize would have: a live run keeps its summaries this way instead of
// going over every point again for each commit.
func (s *Summary) Add(p Point) {
	if s.Count == 0 {
		*s = Summary{Last: p.Value, Step: p.Step, Min: math.NaN(), Max: math.NaN()}
	}
	s.Count++
	if p.Step >= s.Step {
		s.Last, s.Step, s.Time = p.Value, p.Step, p.Time
	}
	v := p.Value
	if v != v {
		return
	}
	// NaN compares false, so a first real value replaces the NaN start.
	if !(v >= s.Min) {
		s.Min = v
	}
	if !(v <= s.Max) {
		s.Max = v
	}
}
