package codec

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"10", int64(10)},
		{"-3", int64(-3)},
		{"+7", int64(7)},
		{"1_000", int64(1000)},
		{"0", int64(0)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"9223372036854775808", "9223372036854775808"},
		{"0.01", 0.01},
		{"1e-3", 0.001},
		{"1E3", 1000.0},
		{"-0.5", -0.5},
		{"inf", math.Inf(1)},
		{"+inf", math.Inf(1)},
		{"-inf", math.Inf(-1)},
		{"true", true},
		{"false", false},
		{"[1, 2]", []any{int64(1), int64(2)}},
		{"[]", []any{}},
		{`["a", 1.5, [true]]`, []any{"a", 1.5, []any{true}}},
		{`"10"`, "10"},
		{`'raw\n'`, `raw\n`},
		{`"a#b"`, "a#b"},
		{`"0x10"`, "0x10"},
		{"adam", "adam"},
		{"0.01abc", "0.01abc"},
		{"2024-01-01", "2024-01-01"},
		{"2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"},
		{"10:30:00", "10:30:00"},
		{"[2024-01-01]", "[2024-01-01]"},
		{"0x10", "0x10"},
		{"0o17", "0o17"},
		{"0b11", "0b11"},
		{"[0x10]", "[0x10]"},
		{"True", "True"},
		{"NaN", "NaN"},
		{"Infinity", "Infinity"},
		{"", ""},
		{" 10", " 10"},
		{"10 ", "10 "},
		{"1\n", "1\n"},
		{"1\nx = 2", "1\nx = 2"},
		{"1 # comment", "1 # comment"},
		{"[1] # c", "[1] # c"},
		{"1,", "1,"},
		{"1, 2", "1, 2"},
		{"{a = 1}", "{a = 1}"},
		{"x = 1", "x = 1"},
		{`"unterminated`, `"unterminated`},
		{"010", "010"},
		{"1.", "1."},
		{".5", ".5"},
		{"a=b", "a=b"},
		{"/path/to/file", "/path/to/file"},
		{"-", "-"},
	}
	for _, tt := range tests {
		got := ParseValue(tt.in)
		if !valueSame(got, tt.want, false) || reflect.TypeOf(got) != reflect.TypeOf(tt.want) {
			t.Errorf("ParseValue(%q) = %T %#v, want %T %#v", tt.in, got, got, tt.want, tt.want)
		}
	}
	if f, ok := ParseValue("nan").(float64); !ok || !math.IsNaN(f) {
		t.Errorf("ParseValue(nan) = %v", ParseValue("nan"))
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"10", "[1, 2]", `"x"`, "1 # c", "0x10", "2024-01-01", "nan"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := ParseValue(s)
		// Whatever it returns must be a canonical param value.
		n, err := run.NormalizeParam("p", v)
		if err != nil {
			if strings.Contains(err.Error(), "UTF-8") || strings.Contains(err.Error(), "longer") {
				return
			}
			t.Fatalf("ParseValue(%q) = %#v: %v", s, v, err)
		}
		if !valueSame(n, v, false) {
			t.Fatalf("ParseValue(%q) = %#v is not canonical", s, v)
		}
	})
}
