package codec

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

func TestBinaryRoundTrip(t *testing.T) {
	records := edgeRecords()
	records["nan payload"] = &run.Record{
		ID: testID, Status: run.Running,
		Params:  map[string]any{"x": math.Float64frombits(0x7ff8000000000abc), "neg nan": math.Float64frombits(0xfff0000000000001)},
		Metrics: map[string]run.Summary{"m": {Last: math.Float64frombits(0x7ff0000000000123)}},
	}
	records["nil and empty"] = &run.Record{
		ID: testID, Status: run.Running, Command: []string{}, Params: map[string]any{"nil": []any(nil), "empty": []any{}, "nil value": nil},
		Tags: map[string]string{}, Source: run.Source{Skipped: []string{}},
		Env: map[string]string{}, Host: run.Host{GPUs: []run.GPU{}, PythonPackages: []string{}},
	}
	records["times"] = &run.Record{
		Started: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC),
		Ended:   time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	records["odd values"] = &run.Record{
		Format: -7, ID: "not an id", Status: "weird", ExitCode: intPtr(math.MinInt64),
		Name: "\xff\xfe invalid", Tags: map[string]string{"\xff": "\x00"},
		Params: map[string]any{"deep": []any{[]any{[]any{[]any{int64(-1), int64(math.MaxInt64), "s", true, false}}}}},
		Signal: "not a signal\xff", RerunOf: "not an id", Env: map[string]string{"\xff": "\x00", "": ""},
		Source: run.Source{Dir: "\xff/.."},
		Host: run.Host{
			CPUs: math.MinInt, MemoryMiB: math.MinInt64,
			GPUs:           []run.GPU{{MemoryMiB: math.MaxInt64}, {Name: "\xfe", MemoryMiB: -1, Driver: "\x00"}},
			PythonPackages: []string{""},
		},
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
		b := AppendBinary([]byte{0xaa}, r)
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
		if again := AppendBinary(nil, got); !bytes.Equal(again, b[1:]) {
			t.Errorf("%s: encoding is not deterministic", name)
		}
	}
}

// binaryV1 holds records of edgeRecords as AppendBinary wrote them in
// version 1 of the binary form, before Signal, RerunOf, Env and the Host
// fields after Arch existed.
var binaryV1 = map[string]string{
	"typical": `
		01021a30316a6471356838723061626364656667686a6b6d6e707172730e62726176652d6f747465722d343207646566
		61756c740866696e697368656401e6a4faa0c3680198b3ffa0c3680506707974686f6e08747261696e2e7079082d2d65
		706f63687302313001002830313233343536373839616263646566303132333435363738396162636465663031323334
		353637046d61696e01283839616263646566303132333435363738396162636465663031323334353637383961626364
		656600096770752d626f782d3103616461056c696e757805616d6436340b076175676d656e74040a62617463685f7369
		7a6501800110646174612e747261696e2e73706c6974029a9999999999e93f0665706f6368730114066c617965727306
		030180010140026c72027b14ae47e17a843f056d6f64656c05087265736e657435300f6f7074696d697a65722e626574
		613102cdccccccccccec3f0c6f7074696d697a65722e6c7202fca9f1d24d62503f0e6f7074696d697a65722e6e616d65
		05046164616d0607646174617365740b696d6167656e65742d316b036770750461313030056f776e6572036164610770
		7572706f736508626173656c696e65047465616d06766973696f6e06046c6f7373789ca223b9fcd33fc6013d2cd49ae6
		1dd33fd8f0f44a59060440c801026c72f168e388b5f8e43ec601f168e388b5f8e43e7b14ae47e17a843fc8010a747261
		696e2e74696d659a99999999994440c601666666666666d63f9a99999999994440c8010776616c2f6163637aa52c431c
		ebea3f129a9999999999b93fcc5d4bc8073deb3f140876616c2f6c6f73735bb1bfec9e3cdc3f12d881734694f6da3fcd
		cccccccccc004014
	`,
	"unicode and escapes": `
		01001a30316a6471356838723061626364656667686a6b6d6e707172731ce5908de5898d202271756f74656422205c20
		6261636b0a736c6173681665787009746162006e756c7f64656c1b6573636170650763726173686564019cb2cccaef66
		000506707974686f6e022d630c7072696e742822686922290a02c3bc011100000000030c6269672066696c652e62696e
		0b646174612fc3a42e62696e06686f73740d0a07c3bc6d6c6175740664617277696e0561726d36340b000509656d7074
		79206b65790a6261636b5c736c6173680501620a656d6f6a6920f09fa6a60504f09fa6a60971756f7465226b65790501
		71097370616365206b65790501730a74616209696e096b65790501740776616c2f61636305017804782e2e79050d656d
		707479207365676d656e7409e5adb8e7bf92e78e8702000000000000e03f0de6a8a1e59e8b2ee5b1a4e695b801180600
		000763746c016b6579020102046e6f74651073617920226869220a616e645c627965047465616d06766973696f6e09e6
		97a5e69cace8aa9e03e580a4050361226200000000000000000000000000000000000000000000000000020a74726169
		6e2e6c6f7373000000000000f03f02000000000000f03f000000000000f03f020776616c2f616363000000000000e03f
		04000000000000d03f000000000000e03f0606e7b2bee5baa6cdccccccccccec3f00cdccccccccccec3fcdcccccccccc
		ec3f02
	`,
	"empty": `
		01001a30316a6471356838723061626364656667686a6b6d6e7071727300000772756e6e696e67000000000000000000
		00000000000000
	`,
}

// decodeHex reads hex digits broken into lines.
func decodeHex(t testing.TB, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(h), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeBinaryV1 checks that cache entries written before version 2
// still read, as the records they were, with Env empty as from DecodeTOML.
func TestDecodeBinaryV1(t *testing.T) {
	for name, h := range binaryV1 {
		b := decodeHex(t, h)
		if b[0] != 1 {
			t.Fatalf("%s: version %d", name, b[0])
		}
		got, err := DecodeBinary(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := *edgeRecords()[name]
		want.Env = map[string]string{}
		if d := recordDiff(&want, got, true); d != "" {
			t.Errorf("%s: %s", name, d)
		}
		// Rewritten, it is the current version with the same content.
		again := AppendBinary(nil, got)
		if again[0] != binaryVersion {
			t.Errorf("%s: rewritten as version %d", name, again[0])
		}
		if got2, err := DecodeBinary(again); err != nil || recordDiff(got, got2, true) != "" {
			t.Errorf("%s: rewritten record differs (%v)", name, err)
		}
		// Truncated or extended, it fails as the current version does.
		for i := 0; i < len(b); i++ {
			if _, err := DecodeBinary(b[:i]); err == nil {
				t.Errorf("%s: prefix of %d bytes decoded", name, i)
			}
		}
		if _, err := DecodeBinary(append(b, 0)); err == nil {
			t.Errorf("%s: trailing byte accepted", name)
		}
	}
}

// TestBinaryWithoutNewFields checks that the fields added in version 2
// cost a record that does not use them one byte in all.
func TestBinaryWithoutNewFields(t *testing.T) {
	for name, h := range binaryV1 {
		v1 := decodeHex(t, h)
		r := edgeRecords()[name]
		v2 := AppendBinary(nil, r)
		if len(v2) != len(v1)+1 {
			t.Errorf("%s: %d bytes in version 2, %d in version 1", name, len(v2), len(v1))
		}
	}
}

// TestBinaryEachNewField checks each field added in version 2 on its own,
// so that every bit of the byte that announces them is used alone.
func TestBinaryEachNewField(t *testing.T) {
	edits := []func(r *run.Record){
		func(r *run.Record) { r.Signal = "SIGINT" },
		func(r *run.Record) { r.RerunOf = rerunID },
		func(r *run.Record) { r.Env = map[string]string{} },
		func(r *run.Record) { r.Env = map[string]string{"A": "1", "B": ""} },
		func(r *run.Record) { r.Host.CPU = "c" },
		func(r *run.Record) { r.Host.CPUs = 1 },
		func(r *run.Record) { r.Host.MemoryMiB = -1 },
		func(r *run.Record) { r.Host.GPUs = []run.GPU{} },
		func(r *run.Record) { r.Host.GPUs = []run.GPU{{Name: "g"}} },
		func(r *run.Record) { r.Host.Python = "3" },
		func(r *run.Record) { r.Host.PythonExecutable = "p" },
		func(r *run.Record) { r.Host.PythonPackages = []string{} },
		func(r *run.Record) { r.Host.PythonPackages = []string{"a==1"} },
		func(r *run.Record) { r.Source.Dir = "src" },
	}
	for i, edit := range edits {
		r := typicalRecord(0)
		edit(r)
		b := AppendBinary(nil, r)
		got, err := DecodeBinary(b)
		if err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
		if d := recordDiff(r, got, true); d != "" {
			t.Errorf("edit %d: %s", i, d)
		}
	}
	// Bits beyond the known ones are corruption. The byte follows Arch.
	b := AppendBinary(nil, typicalRecord(0))
	at := bytes.Index(b, []byte("\x05amd64")) + 6
	if b[at] != 0 {
		t.Fatalf("byte %d after arch is %#x", at, b[at])
	}
	for bit := binHasAll + 1; bit < 0x100; bit <<= 1 {
		b[at] = byte(bit)
		if _, err := DecodeBinary(b); err == nil {
			t.Errorf("bit %#x accepted", bit)
		}
	}
}

func TestBinaryNonUTCTime(t *testing.T) {
	when := time.Date(2026, 11, 27, 0, 52, 19, 123e6, time.FixedZone("CET", 7200))
	got, err := DecodeBinary(AppendBinary(nil, (&run.Record{Started: when})))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Started.Equal(when) || got.Started.Location() != time.UTC {
		t.Errorf("got %v, want %v in UTC", got.Started, when)
	}
}

func TestBinaryNonCanonicalParams(t *testing.T) {
	r := &run.Record{Params: map[string]any{"int": 3, "strs": []string{"a", "b"}, "map": map[string]int{"x": 1}}}
	got, err := DecodeBinary(AppendBinary(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"int": int64(3), "strs": []any{"a", "b"}, "map": nil}
	if d := recordDiff(&run.Record{Params: want}, got, true); d != "" {
		t.Error(d)
	}
}

func TestDecodeBinaryCorrupt(t *testing.T) {
	b := AppendBinary(nil, edgeRecords()["unicode and escapes"])
	// Every proper prefix is truncated and must fail.
	for i := 0; i < len(b); i++ {
		if _, err := DecodeBinary(b[:i]); err == nil {
			t.Errorf("prefix of %d bytes decoded", i)
		}
	}
	if _, err := DecodeBinary(append(b, 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	if _, err := DecodeBinary(append([]byte{binaryVersion + 1}, b[1:]...)); err == nil ||
		err.Error() != fmt.Sprintf("decode binary record: unknown version %d", binaryVersion+1) {
		t.Errorf("got %v for a newer version", err)
	}
	if _, err := DecodeBinary(append([]byte{0}, b[1:]...)); err == nil || err.Error() != "decode binary record: unknown version 0" {
		t.Errorf("got %v for version 0", err)
	}
	// Random damage must never panic, nor truncation of a record using
	// every field.
	rng := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 20000; i++ {
		c := bytes.Clone(b)
		for n := 1 + rng.IntN(3); n > 0; n-- {
			c[1+rng.IntN(len(c)-1)] = byte(rng.Uint32())
		}
		DecodeBinary(c)
	}
	full := AppendBinary(nil, edgeRecords()["new fields, odd values"])
	for i := 0; i < len(full); i++ {
		if _, err := DecodeBinary(full[:i]); err == nil {
			t.Errorf("prefix of %d bytes decoded", i)
		}
	}
	for i := 0; i < 20000; i++ {
		c := bytes.Clone(full)
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
		f.Add(AppendBinary(nil, r))
	}
	f.Add([]byte{binaryVersion})
	for _, h := range binaryV1 {
		f.Add(decodeHex(f, h))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r *run.Record
		var err error
		checkAlloc(t, "DecodeBinary", len(data), binaryAllocPerByte, func() { r, err = DecodeBinary(data) })
		if err != nil {
			return
		}
		b := AppendBinary(nil, r)
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
		buf = AppendBinary(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeBinary(b *testing.B) {
	data := AppendBinary(nil, typicalRecord(0))
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
		data = append(data, AppendBinary(nil, typicalRecord(i)))
	}
	records := make([]*run.Record, 100000)
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
