package mlflowtags

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

func TestParamValue(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"100", int64(100)},
		{"0.01", 0.01},
		{"true", true},
		{"adam", "adam"},
		{"1e3", "1e3"}, // would come back as 1000
		{"01", "01"},
		{"", ""},
		{"[1, 2]", []any{int64(1), int64(2)}},
		{"[1,2]", "[1,2]"}, // would come back spaced
	}
	for _, c := range cases {
		got := ParamValue(c.in)
		if !run.SameValue(got, c.want) {
			t.Errorf("ParamValue(%q) = %#v, want %#v", c.in, got, c.want)
		}
		if s := ParamString(got); s != c.in {
			t.Errorf("ParamString(ParamValue(%q)) = %q", c.in, s)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, s := range []run.Status{run.Finished, run.Failed, run.Killed, run.Running} {
		got, ok := ParseStatus(StatusName(s))
		if !ok || got != s {
			t.Errorf("status %s: round trip gives %s %v", s, got, ok)
		}
	}
	for in, want := range map[string]run.Status{"3": run.Finished, "4": run.Failed, "5": run.Killed, "1": run.Running, "2": run.Running, "scheduled": run.Running} {
		if got, ok := ParseStatus(in); !ok || got != want {
			t.Errorf("ParseStatus(%q) = %s %v, want %s", in, got, ok, want)
		}
	}
	if _, ok := ParseStatus("DONE"); ok {
		t.Error("ParseStatus accepted DONE")
	}
}

// TestInt64: the three forms MLflow's integers come in, and a float past
// 2^53 refused, since it no longer names one integer.
func TestInt64(t *testing.T) {
	for in, want := range map[string]int64{
		`12`: 12, `"-7"`: -7, `1.7e12`: 1.7e12, `5.0`: 5, `"9223372036854775807"`: math.MaxInt64,
		`9007199254740992`: 1 << 53, `9007199254740992.0`: 1 << 53, `-9007199254740992.0`: -(1 << 53),
	} {
		var n Int64
		if err := json.Unmarshal([]byte(in), &n); err != nil || !n.Set || n.V != want {
			t.Errorf("%s: %+v, %v; want %d", in, n, err, want)
		}
	}
	for _, in := range []string{`1.5`, `"x"`, `1e300`, `9007199254740994.0`, `"` + strings.Repeat("9", 100) + `"`} {
		var n Int64
		err := json.Unmarshal([]byte(in), &n)
		if err == nil || n.Set || len(err.Error()) > 80 {
			t.Errorf("%.50s: %+v, %v; want a short error", in, n, err)
		}
	}
	var n Int64
	if err := json.Unmarshal([]byte(`null`), &n); err != nil || n.Set {
		t.Errorf("null: %+v, %v", n, err)
	}
}
