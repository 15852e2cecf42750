package run

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBinaryRoundTrip(t *testing.T) {
	records := edgeRecords()
	records["nan payload"] = &Record{
		ID: testID, Status: Running,
		Params:  map[string]any{"x": math.Float64frombits(0x7ff8000000000abc), "neg nan": math.Float64frombits(0xfff0000000000001)},
		Metrics: map[string]Summary{"m": {Last: math.Float64frombits(0x7ff0000000000123)}},
	}
	records["nil and empty"] = &Record{
		ID: testID, Status: Running, Command: []string{}, Params: map[string]any{"nil": []any(nil), "empty": []any{}, "nil value": nil},
		Tags: map[string]string{}, Source: Source{Skipped: []string{}},
	}
	records["times"] = &Record{
		Started: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC),
		Ended:   time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	records["odd values"] = &Record{
		Format: -7, ID: "not an id", Status: "weird", ExitCode: intPtr(math.MinInt64),
		Name: "\xff\xfe invalid", Tags: map[string]string{"\xff": "\x00"},
		Params: map[string]any{"deep": []any{[]any{[]any{[]any{int64(-1), int64(math.MaxInt64), "s", true, false}}}}},
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 1000; i++ {
		r := randomRecord(rng)
		if i%2 == 0 {
			r.Started = r.Started.Add(time.Duration(rng.IntN(1e6)))
		}
		records[fmt.Sprint("random ", i)] = r
	}
	for name, r := range records {
		b := r.AppendBinary([]byte{0xaa})
		if b[0] != 0xaa {
			t.Fatalf("%s: AppendBinary did not append", name)
		}
		got, err := DecodeBinary(b[1:])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := recordDiff(r, got, true); d != "" {
			t.Errorf("%s: %s", name, d)
		}
		if again := got.AppendBinary(nil); !bytes.Equal(again, b[1:]) {
			t.Errorf("%s: encoding is not deterministic", name)
		}
	}
}

func TestBinaryNonUTCTime(t *testing.T) {
	when := time.Date(2026, 11, 27, 0, 52, 19, 123e6, time.FixedZone("CET", 7200))
	got, err := DecodeBinary((&Record{Started: when}).AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Started.Equal(when) || got.Started.Location() != time.UTC {
		t.Errorf("got %v, want %v in UTC", got.Started, when)
	}
}

func TestBinaryNonCanonicalParams(t *testing.T) {
	r := &Record{Params: map[string]any{"int": 3, "strs": []string{"a", "b"}, "map": map[string]int{"x": 1}}}
	got, err := DecodeBinary(r.AppendBinary(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"int": int64(3), "strs": []any{"a", "b"}, "map": nil}
	if d := recordDiff(&Record{Params: want}, got, true); d != "" {
		t.Error(d)
	}
}

func TestDecodeBinaryCorrupt(t *testing.T) {
	b := edgeRecords()["unicode and escapes"].AppendBinary(nil)
	// Every proper prefix is truncated and must fail.
	for i := 0; i < len(b); i++ {
		if _, err := DecodeBinary(b[:i]); err == nil {
			t.Errorf("prefix of %d bytes decoded", i)
		}
	}
	if _, err := DecodeBinary(append(b, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	if _, err := DecodeBinary(append([]byte{2}, b[1:]...)); err == nil || err.Error() != "decode binary record: unknown version 2" {
		t.Errorf("got %v for a newer version", err)
	}
	// Random damage must never panic.
	rng := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 20000; i++ {
		c := bytes.Clone(b)
		for n := 1 + rng.IntN(3); n > 0; n-- {
			c[1+rng.IntN(len(c)-1)] = byte(rng.Uint32())
		}
		DecodeBinary(c)
	}
	// Huge lengths must not allocate before failing.
	huge := []byte{binaryVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	if _, err := DecodeBinary(huge); err == nil {
		t.Error("huge length accepted")
	}
	if allocs := testing.AllocsPerRun(10, func() { DecodeBinary(huge) }); allocs > 3 {
		t.Errorf("%v allocations for a corrupt length", allocs)
	}
}

func FuzzDecodeBinary(f *testing.F) {
	for _, r := range edgeRecords() {
		f.Add(r.AppendBinary(nil))
	}
	f.Add([]byte{binaryVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeBinary(data)
		if err != nil {
			return
		}
		b := r.AppendBinary(nil)
		r2, err := DecodeBinary(b)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if d := recordDiff(r, r2, true); d != "" {
			t.Fatal(d)
		}
	})
}

func BenchmarkAppendBinary(b *testing.B) {
	r := typicalRecord(0)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendBinary(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeBinary(b *testing.B) {
	data := typicalRecord(0).AppendBinary(nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBinary(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBinary100k reads a cache of 100,000 typical records.
func BenchmarkDecodeBinary100k(b *testing.B) {
	var data [][]byte
	for i := 0; i < 100; i++ {
		data = append(data, typicalRecord(i).AppendBinary(nil))
	}
	records := make([]*Record, 100000)
	b.ReportAllocs()
	for b.Loop() {
		for i := range records {
			r, err := DecodeBinary(data[i%len(data)])
			if err != nil {
				b.Fatal(err)
			}
			records[i] = r
		}
	}
}
