package diff

import (
	"encoding/json"
	"math"

	"github.com/gitruns/gitruns/run"
)

// JSON: encoding/json refuses NaN and infinities, which params and metrics
// may hold, so these types write them as the strings "NaN", "Infinity" and
// "-Infinity", as run.Record.AppendJSON does. Keys are lower case.

// MarshalJSON writes {"key", "kind", "a", "b"}, a or b null when absent.
func (c Change) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key  string `json:"key"`
		Kind string `json:"kind"`
		A    any    `json:"a"`
		B    any    `json:"b"`
	}{c.Key, c.Kind, jsonValue(c.A), jsonValue(c.B)})
}

type jsonSummary struct {
	Last  any   `json:"last"`
	Step  int64 `json:"step"`
	Min   any   `json:"min"`
	Max   any   `json:"max"`
	Count int64 `json:"count"`
}

func summaryJSON(s *run.Summary) *jsonSummary {
	if s == nil {
		return nil
	}
	return &jsonSummary{run.JSONNumber(s.Last), s.Step, run.JSONNumber(s.Min), run.JSONNumber(s.Max), s.Count}
}

// MarshalJSON writes {"key", "a", "b", "delta", "percent"}: a and b are
// summaries with last, step, min, max and count, or null when absent;
// delta and percent are null when undefined (NaN).
func (m MetricChange) MarshalJSON() ([]byte, error) {
	undefinedNull := func(f float64) any {
		if math.IsNaN(f) {
			return nil
		}
		return run.JSONNumber(f)
	}
	return json.Marshal(struct {
		Key     string       `json:"key"`
		A       *jsonSummary `json:"a"`
		B       *jsonSummary `json:"b"`
		Delta   any          `json:"delta"`
		Percent any          `json:"percent"`
	}{m.Key, summaryJSON(m.A), summaryJSON(m.B), undefinedNull(m.Delta), undefinedNull(m.Percent)})
}

// MarshalJSON writes {"path", "kind", "added", "removed", "binary", "big"}.
func (f FileChange) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Path    string `json:"path"`
		Kind    string `json:"kind"`
		Added   int    `json:"added"`
		Removed int    `json:"removed"`
		Binary  bool   `json:"binary"`
		Big     bool   `json:"big"`
	}{f.Path, f.Kind, f.Added, f.Removed, f.Binary, f.Big})
}

// MarshalJSON writes every field under its lower-case name (code_a,
// code_b), lists as [] when empty so that scripts need no null checks.
func (r *Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Params     []Change       `json:"params"`
		Metrics    []MetricChange `json:"metrics"`
		Tags       []Change       `json:"tags"`
		Attributes []Change       `json:"attributes"`
		CodeA      string         `json:"code_a"`
		CodeB      string         `json:"code_b"`
		Files      []FileChange   `json:"files"`
	}{nonNil(r.Params), nonNil(r.Metrics), nonNil(r.Tags), nonNil(r.Attributes), r.CodeA, r.CodeB, nonNil(r.Files)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// jsonValue makes a canonical value encodable: non-finite floats, also
// inside arrays, become strings.
func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		return run.JSONNumber(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}
