package run

import "math"

// Summarize condenses the points of one metric, in logged order. The last
// point is the one with the highest step, the later one logged among equal
// steps, so that re-logging a step replaces its value. Min and Max ignore
// NaN, and are NaN only when every value is. No points give a zero Summary.
func Summarize(points []Point) Summary {
	if len(points) == 0 {
		return Summary{}
	}
	s := Summary{
		Last:  points[0].Value,
		Step:  points[0].Step,
		Min:   math.NaN(),
		Max:   math.NaN(),
		Count: int64(len(points)),
	}
	for _, p := range points {
		if p.Step >= s.Step {
			s.Last, s.Step = p.Value, p.Step
		}
		v := p.Value
		if v != v {
			continue
		}
		// NaN compares false, so a first real value replaces the NaN start.
		if !(v >= s.Min) {
			s.Min = v
		}
		if !(v <= s.Max) {
			s.Max = v
		}
	}
	return s
}
