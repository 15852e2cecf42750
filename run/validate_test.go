package run

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidateKey(t *testing.T) {
	valid := []struct{ kind, key string }{
		{"metric", "loss"},
		{"metric", "val/acc"},
		{"metric", "train.loss"},
		{"metric", "eval:top-1 acc"},
		{"metric", "Loss_2"},
		{"param", "optimizer.lr"},
		{"param", "學習率"},
		{"tag", "विज्ञान"}, // combining marks
		{"tag", "日本語.キー"},
		{"metric", "a/b/c"},
		{"tag", "x"},
		{"metric", ".hidden"}, // only params treat dots as structure
		{"tag", "end."},
		{"param", strings.Repeat("a", 250)},
		{"experiment", "default"},
		{"experiment", "vision/resnet sweep"},
	}
	for _, tt := range valid {
		if err := ValidateKey(tt.kind, tt.key); err != nil {
			t.Errorf("ValidateKey(%q, %q) = %v", tt.kind, tt.key, err)
		}
	}
	invalid := []struct{ kind, key, want string }{
		{"metric", "a\tb", `invalid metric key "a\tb": tab is not allowed`},
		{"metric", "a\nb", `invalid metric key "a\nb": newline is not allowed`},
		{"tag", "", `invalid tag key "": empty`},
		{"param", strings.Repeat("a", 251), `invalid param key "` + strings.Repeat("a", 64) + `...": longer than 250 bytes`},
		{"metric", "a=b", `invalid metric key "a=b": '=' is not allowed`},
		{"metric", "a\x00", `invalid metric key "a\x00": '\x00' is not allowed`},
		{"metric", "a\\b", `invalid metric key "a\\b": '\\' is not allowed`},
		{"metric", "a\"b", `'"' is not allowed`},
		{"metric", "a\xffb", `invalid metric key "a\xffb": not valid UTF-8`},
		{"metric", "€", `'€' is not allowed`},
		{"metric", "🦦", `'🦦' is not allowed`},
		{"metric", " loss", `invalid metric key " loss": leading space`},
		{"metric", "loss ", `invalid metric key "loss ": trailing space`},
		{"metric", "/loss", `invalid metric key "/loss": leading slash`},
		{"metric", "a..b", `invalid metric key "a..b": ".." is not allowed`},
		{"tag", "..", `".." is not allowed`},
		{"param", ".lr", `invalid param key ".lr": leading dot`},
		{"param", "lr.", `invalid param key "lr.": trailing dot`},
		{"param", "a..b", `".." is not allowed`},
		{"experiment", "a\tb", `invalid experiment name "a\tb": tab is not allowed`},
		{"experiment", "", `invalid experiment name "": empty`},
		{"other", "a", `validate key: unknown kind "other"`},
	}
	for _, tt := range invalid {
		err := ValidateKey(tt.kind, tt.key)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidateKey(%q, %q) = %v, want error containing %s", tt.kind, tt.key, err, tt.want)
		}
	}
}

func TestValidateTagValue(t *testing.T) {
	for _, v := range []string{"", "vision", "with\nnewline", strings.Repeat("x", 65536), "日本"} {
		if err := ValidateTagValue("k", v); err != nil {
			t.Errorf("ValidateTagValue(%.20q) = %v", v, err)
		}
	}
	if err := ValidateTagValue("team", strings.Repeat("x", 65537)); err == nil || err.Error() != `tag "team": value longer than 65536 bytes` {
		t.Errorf("long value: %v", err)
	}
	if err := ValidateTagValue("team", "a\xff"); err == nil || err.Error() != `tag "team": value is not valid UTF-8` {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

type myInt int16
type myString string
type myFloat float32

func TestNormalizeParam(t *testing.T) {
	ok := []struct {
		in   any
		want any
	}{
		{int(-3), int64(-3)},
		{int8(-8), int64(-8)},
		{int16(16), int64(16)},
		{int32(32), int64(32)},
		{int64(math.MinInt64), int64(math.MinInt64)},
		{uint(7), int64(7)},
		{uint8(255), int64(255)},
		{uint16(65535), int64(65535)},
		{uint32(math.MaxUint32), int64(math.MaxUint32)},
		{uint64(math.MaxInt64), int64(math.MaxInt64)},
		{float32(0.1), 0.1},
		{float32(1e-7), 1e-7},
		{float32(math.Inf(-1)), math.Inf(-1)},
		{0.01, 0.01},
		{true, true},
		{"adam", "adam"},
		{myInt(5), int64(5)},
		{myString("s"), "s"},
		{myFloat(2.5), 2.5},
		{time.Second, int64(1e9)},
		{[]int{64, 32}, []any{int64(64), int64(32)}},
		{[]string{"a", "b"}, []any{"a", "b"}},
		{[]float64{0.5}, []any{0.5}},
		{[]bool{}, []any{}},
		{[]int(nil), []any{}},
		{[2]uint8{1, 2}, []any{int64(1), int64(2)}},
		{[]any{1, "x", []int{2}, float32(0.5)}, []any{int64(1), "x", []any{int64(2)}, 0.5}},
		{[][]string{{"a"}, {}}, []any{[]any{"a"}, []any{}}},
		{strings.Repeat("x", 65536), strings.Repeat("x", 65536)},
	}
	for _, tt := range ok {
		got, err := NormalizeParam("p", tt.in)
		if err != nil {
			t.Errorf("NormalizeParam(%T %v) error: %v", tt.in, tt.in, err)
			continue
		}
		if !valueSame(got, tt.want, false) || reflect.TypeOf(got) != reflect.TypeOf(tt.want) {
			t.Errorf("NormalizeParam(%T %v) = %T %v, want %T %v", tt.in, tt.in, got, got, tt.want, tt.want)
		}
	}
	nan, err := NormalizeParam("p", float32(math.NaN()))
	if f, ok := nan.(float64); err != nil || !ok || !math.IsNaN(f) {
		t.Errorf("NaN float32: %v, %v", nan, err)
	}

	deep := any(int64(1))
	for i := 0; i < 40; i++ {
		deep = []any{deep}
	}
	bad := []struct {
		in   any
		want string
	}{
		{nil, `param "lr": value is nil`},
		{map[string]int{}, `param "lr": unsupported type map[string]int`},
		{struct{}{}, `param "lr": unsupported type struct {}`},
		{new(int), `param "lr": unsupported type *int`},
		{make(chan int), `param "lr": unsupported type chan int`},
		{func() {}, `param "lr": unsupported type func()`},
		{complex(1, 2), `param "lr": unsupported type complex128`},
		{uint64(math.MaxInt64 + 1), `param "lr": 9223372036854775808 is too large for a 64-bit signed integer`},
		{[]any{1, nil}, `param "lr": value is nil`},
		{[]map[string]int{{}}, `param "lr": unsupported type map[string]int`},
		{strings.Repeat("x", 65537), `param "lr": string longer than 65536 bytes`},
		{"\xff", `param "lr": string is not valid UTF-8`},
		{deep, `param "lr": arrays nest deeper than 32`},
	}
	for _, tt := range bad {
		_, err := NormalizeParam("lr", tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("NormalizeParam(%T) = %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestFlattenParams(t *testing.T) {
	got, err := FlattenParams(map[string]any{
		"lr":        0.01,
		"epochs":    10,
		"optimizer": map[string]any{"name": "adam", "betas": []float64{0.9, 0.999}, "sched": map[string]int{"warmup": 5}},
		"data":      map[string]string{"path": "/data"},
		"named":     map[myString]any{"k": true},
		"empty":     map[string]any{},
		"a.b":       "dotted",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"lr": 0.01, "epochs": int64(10), "optimizer.name": "adam",
		"optimizer.betas": []any{0.9, 0.999}, "optimizer.sched.warmup": int64(5),
		"data.path": "/data", "named.k": true, "a.b": "dotted",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	if got, err := FlattenParams(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("FlattenParams(nil) = %v, %v", got, err)
	}

	bad := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"a.b": 1, "a": map[string]any{"b": 2}}, `param "a.b" is given twice`},
		{map[string]any{"a": 1, "a.b": 2}, `param "a.b" conflicts with param "a"`},
		{map[string]any{"a": 1, "b": map[string]any{"c": map[string]any{"d": 1}, "c.d.e": 2}}, `param "b.c.d.e" conflicts with param "b.c.d"`},
		{map[string]any{"x": map[string]any{"": 1}}, `invalid param key "x.": trailing dot`},
		{map[string]any{"a\tb": 1}, `invalid param key "a\tb": tab is not allowed`},
		{map[string]any{"m": map[int]string{1: "x"}}, `param "m": unsupported type map[int]string`},
		{map[string]any{"n": map[string]any{"p": nil}}, `param "n.p": value is nil`},
	}
	for _, tt := range bad {
		_, err := FlattenParams(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("FlattenParams(%v) = %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestCheckParamShape(t *testing.T) {
	params := map[string]any{"a": 1, "b.c": 2, "b.d": 3, "x.y.z": 4, "ab": 5}
	tests := []struct{ key, want string }{
		{"a", ""},
		{"c", ""},
		{"b.e", ""},
		{"ab.c", `param "ab.c" conflicts with param "ab"`},
		{"a.b", `param "a.b" conflicts with param "a"`},
		{"a.b.c", `param "a.b.c" conflicts with param "a"`},
		{"b", `param "b" conflicts with param "b.c"`},
		{"x.y", `param "x.y" conflicts with param "x.y.z"`},
		{"x", `param "x" conflicts with param "x.y.z"`},
		{"x.y.z.w", `param "x.y.z.w" conflicts with param "x.y.z"`},
		{"x.yz", ""},
		{"b.c", ""},
	}
	for _, tt := range tests {
		err := CheckParamShape(params, tt.key)
		if got := errString(err); got != tt.want {
			t.Errorf("CheckParamShape(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	if err := CheckParamShape(nil, "a.b"); err != nil {
		t.Errorf("nil params: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseMetricValue(t *testing.T) {
	ok := []struct {
		in   string
		want float64
	}{
		{"0", 0}, {"-0", math.Copysign(0, -1)}, {"42", 42}, {"-7", -7}, {"+3", 3}, {"0.5", 0.5}, {".5", 0.5},
		{"1e-3", 0.001}, {"1E3", 1000}, {"2.5e+2", 250},
		{"inf", math.Inf(1)}, {"+inf", math.Inf(1)}, {"-inf", math.Inf(-1)}, {"Inf", math.Inf(1)},
		{"Infinity", math.Inf(1)}, {"-infinity", math.Inf(-1)}, {"INF", math.Inf(1)},
		{"nan", math.NaN()}, {"NaN", math.NaN()}, {"NAN", math.NaN()},
	}
	for _, tt := range ok {
		got, err := ParseMetricValue(tt.in)
		if err != nil || !floatSame(got, tt.want, false) {
			t.Errorf("ParseMetricValue(%q) = %v, %v", tt.in, got, err)
		}
	}
	bad := []struct{ in, want string }{
		{"abc", `metric value "abc" is not a number`},
		{"", `metric value "" is not a number`},
		{"0x10", `metric value "0x10" is not a number`},
		{"0x1p-2", `metric value "0x1p-2" is not a number`},
		{"1_000", `metric value "1_000" is not a number`},
		{" 1", `metric value " 1" is not a number`},
		{"1 ", `metric value "1 " is not a number`},
		{"1,5", `metric value "1,5" is not a number`},
		{"-nan", `metric value "-nan" is not a number`},
		{"infinit", `metric value "infinit" is not a number`},
		{"1e999", `metric value "1e999" is out of range`},
	}
	for _, tt := range bad {
		_, err := ParseMetricValue(tt.in)
		if errString(err) != tt.want {
			t.Errorf("ParseMetricValue(%q) = %v, want %s", tt.in, err, tt.want)
		}
	}
}
