package mlflowtags

import (
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
