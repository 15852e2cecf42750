package codec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// randomHistory returns up to keys metrics of up to points points each, with
// special values and extreme integers mixed in.
func randomHistory(rng *rand.Rand, keys, points int) run.History {
	h := run.History{}
	for n := rng.IntN(keys + 1); n > 0; n-- {
		k := randomString(rng)
		var ps []run.Point
		for m := rng.IntN(points + 1); m > 0; m-- {
			p := run.Point{Step: rng.Int64N(1e6), Time: 1732661539123 + rng.Int64N(1e9), Value: randomFloat(rng)}
			switch rng.IntN(20) {
			case 0:
				p.Step, p.Time = math.MinInt64, math.MaxInt64
			case 1:
				p.Step, p.Time = math.MaxInt64, math.MinInt64
			case 2:
				p.Step, p.Value = -p.Step, math.Copysign(0, -1)
			}
			ps = append(ps, p)
		}
		h[k] = ps
	}
	return h
}

// historySame compares histories, treating NaNs as equal and keys without
// points as absent, which is what a file can express.
func historySame(a, b run.History) string {
	count := func(h run.History) int {
		n := 0
		for _, ps := range h {
			if len(ps) > 0 {
				n++
			}
		}
		return n
	}
	if count(a) != count(b) {
		return fmt.Sprintf("%d keys with points != %d", count(a), count(b))
	}
	for k, pa := range a {
		pb := b[k]
		if len(pa) != len(pb) {
			return fmt.Sprintf("key %q: %d points != %d", k, len(pa), len(pb))
		}
		for i := range pa {
			if pa[i].Step != pb[i].Step || pa[i].Time != pb[i].Time || !floatSame(pa[i].Value, pb[i].Value, false) {
				return fmt.Sprintf("key %q point %d: %+v != %+v", k, i, pa[i], pb[i])
			}
		}
	}
	return ""
}

func TestEncodeHistoryLayout(t *testing.T) {
	h := run.History{
		"val/acc": {{Step: 0, Time: 1732661539123, Value: 0.5}},
		"loss": {
			{Step: 2, Time: 1732661539200, Value: 2.5},
			{Step: 1, Time: 1732661539100, Value: math.NaN()},
			{Step: 3, Time: 1732661539300, Value: math.Inf(1)},
			{Step: -4, Time: -1, Value: math.Inf(-1)},
			{Step: 5, Time: 0, Value: 10},
			{Step: 6, Time: 0, Value: 1e-7},
			{Step: 7, Time: 0, Value: 1e21},
			{Step: 8, Time: 0, Value: math.Copysign(0, -1)},
		},
		"empty": nil,
	}
	want := "key\tstep\ttimestamp\tvalue\n" +
		"loss\t2\t1732661539200\t2.5\n" +
		"loss\t1\t1732661539100\tnan\n" +
		"loss\t3\t1732661539300\tinf\n" +
		"loss\t-4\t-1\t-inf\n" +
		"loss\t5\t0\t10\n" +
		"loss\t6\t0\t1e-07\n" +
		"loss\t7\t0\t1e+21\n" +
		"loss\t8\t0\t-0\n" +
		"val/acc\t0\t1732661539123\t0.5\n"
	got := EncodeHistory(h)
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	back, err := DecodeHistory(got)
	if err != nil {
		t.Fatal(err)
	}
	if d := historySame(h, back); d != "" {
		t.Error(d)
	}
	if string(EncodeHistory(nil)) != historyHeader {
		t.Errorf("empty history: got %q", EncodeHistory(nil))
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 300; i++ {
		h := randomHistory(rng, 6, 30)
		b := EncodeHistory(h)
		got, err := DecodeHistory(b)
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if d := historySame(h, got); d != "" {
			t.Fatalf("%s\n%s", d, b)
		}
		// Without the final newline too.
		got, err = DecodeHistory(b[:len(b)-1])
		if err != nil {
			t.Fatalf("without final newline: %v", err)
		}
		if d := historySame(h, got); d != "" {
			t.Fatalf("without final newline: %s", d)
		}
	}
}

func TestDecodeHistoryEscapedKeys(t *testing.T) {
	h := run.History{"a\tb": {{Step: 1}}, "back\\slash": {{Step: 2}}, "new\nline\r": {{Step: 3}}}
	b := EncodeHistory(h)
	if strings.Count(string(b), "\n") != 4 {
		t.Fatalf("escaping failed:\n%q", b)
	}
	got, err := DecodeHistory(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := historySame(h, got); d != "" {
		t.Error(d)
	}
}

func TestDecodeHistory(t *testing.T) {
	const head = "key\tstep\ttimestamp\tvalue\n"
	t.Run("header only", func(t *testing.T) {
		for _, in := range []string{head, strings.TrimSuffix(head, "\n")} {
			h, err := DecodeHistory([]byte(in))
			if err != nil || h == nil || len(h) != 0 {
				t.Errorf("%q: got %v, %v", in, h, err)
			}
		}
	})
	t.Run("keys out of order", func(t *testing.T) {
		h, err := DecodeHistory([]byte(head + "b\t1\t0\t1\na\t1\t0\t2\nb\t2\t0\t3\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := run.History{"a": {{Step: 1, Value: 2}}, "b": {{Step: 1, Value: 1}, {Step: 2, Value: 3}}}
		if d := historySame(want, h); d != "" {
			t.Error(d)
		}
		// The first run of b must not have grown into a's points.
		h["b"] = append(h["b"], run.Point{})
		if h["a"][0].Value != 2 {
			t.Error("slices of different keys share memory")
		}
	})
	t.Run("slices do not overlap", func(t *testing.T) {
		h, err := DecodeHistory([]byte(head + "a\t1\t0\t1\nb\t1\t0\t2\n"))
		if err != nil {
			t.Fatal(err)
		}
		h["a"] = append(h["a"], run.Point{Value: 99})
		if h["b"][0].Value != 2 {
			t.Error("appending to one key changed another")
		}
	})

	tests := []struct{ name, in, want string }{
		{"empty", "", "line 1: expected header"},
		{"bad header", "key\tstep\tvalue\n", "line 1: expected header"},
		{"few fields", head + "a\t1\t2\n", "line 2: expected 4 tab-separated fields"},
		{"many fields", head + "a\t1\t2\t3\t4\n", `line 2: invalid value "3\t4"`},
		{"empty line", head + "a\t1\t2\t3\n\na\t1\t2\t3\n", "line 3: expected 4"},
		{"bad step", head + "a\t1\t2\t3\na\tx\t2\t3\n", `line 3: invalid step "x"`},
		{"empty step", head + "a\t\t2\t3\n", `line 2: invalid step ""`},
		{"plus step", head + "a\t+1\t2\t3\n", `line 2: invalid step "+1"`},
		{"step overflow", head + "a\t9223372036854775808\t2\t3\n", "line 2: invalid step"},
		{"long step", head + "a\t00000000000000000001\t2\t3\n", "line 2: invalid step"},
		{"bad time", head + "a\t1\t1.5\t3\n", `line 2: invalid timestamp "1.5"`},
		{"bad value", head + "a\t1\t2\tabc\n", `line 2: invalid value "abc"`},
		{"NaN spelling", head + "a\t1\t2\tNaN\n", `line 2: invalid value "NaN"`},
		{"Infinity", head + "a\t1\t2\tInfinity\n", `line 2: invalid value "Infinity"`},
		{"hex", head + "a\t1\t2\t0x1p3\n", `line 2: invalid value "0x1p3"`},
		{"range", head + "a\t1\t2\t1e999\n", `line 2: invalid value "1e999"`},
		{"crlf", head + "a\t1\t2\t3\r\n", `line 2: invalid value "3\r"`},
		{"bad escape", head + "a\\x\t1\t2\t3\n", `line 2: invalid escape in key "a\\x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeHistory([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "decode history: ") {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseInt(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808", "1234567890123456789"} {
		got, ok := parseInt([]byte(s))
		var want int64
		fmt.Sscan(s, &want)
		if !ok || got != want {
			t.Errorf("parseInt(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-", "+1", "1a", "9223372036854775808", "-9223372036854775809", "99999999999999999999", " 1"} {
		if _, ok := parseInt([]byte(s)); ok {
			t.Errorf("parseInt(%q) succeeded", s)
		}
	}
}

func FuzzDecodeHistory(f *testing.F) {
	f.Add(EncodeHistory(run.History{"loss": {{Step: 1, Time: 2, Value: 0.5}, {Step: 2, Time: 3, Value: math.NaN()}}, "a\\b": {{Step: -1, Time: -2, Value: math.Inf(-1)}}}))
	f.Add([]byte("key\tstep\ttimestamp\tvalue\na\t1\t2\t3"))
	f.Add([]byte(historyHeader + "\n\n\n\n"))
	f.Add([]byte(historyHeader + "a\t1\t2\t3\nb\t1\t2\t3\na\t-9223372036854775808\t9223372036854775807\t-inf\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h run.History
		var err error
		checkAlloc(t, "DecodeHistory", len(data), historyAllocPerByte, func() { h, err = DecodeHistory(data) })
		if err != nil {
			if len(err.Error()) > 400 {
				t.Fatalf("error is %d bytes long", len(err.Error()))
			}
			return
		}
		h2, err := DecodeHistory(EncodeHistory(h))
		if err != nil {
			t.Fatal(err)
		}
		if d := historySame(h, h2); d != "" {
			t.Fatal(d)
		}
	})
}

// millionPoints is a history of a million points over ten metrics, with
// values like those training loops log.
func millionPoints() run.History {
	rng := rand.New(rand.NewPCG(9, 10))
	h := run.History{}
	for k := 0; k < 10; k++ {
		ps := make([]run.Point, 100000)
		for i := range ps {
			ps[i] = run.Point{Step: int64(i), Time: 1732661539123 + int64(i)*37, Value: rng.Float64() * 3}
		}
		h[fmt.Sprintf("train/metric_%d", k)] = ps
	}
	return h
}

func BenchmarkEncodeHistory1M(b *testing.B) {
	h := millionPoints()
	b.ReportAllocs()
	for b.Loop() {
		EncodeHistory(h)
	}
}

func BenchmarkDecodeHistory1M(b *testing.B) {
	text := EncodeHistory(millionPoints())
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeHistory(text); err != nil {
			b.Fatal(err)
		}
	}
}
