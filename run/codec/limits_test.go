package codec

import (
	"fmt"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// allocated returns the bytes fn allocates on the heap. runtime/metrics is
// read without stopping the world, so fuzz bodies can afford it.
func allocated(fn func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	fn()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// Allocation bounds per byte of input, as the fuzzers and the tests below
// check them. The general TOML decoder allocates some 70 bytes per byte of
// flat text and about 700 per byte of keys nested the 16 tables deep that
// run.toml allows (measured on 1 MiB of each); the fast path, the binary
// form and metrics.tsv allocate a few bytes per byte.
const (
	tomlAllocPerByte    = 1024
	binaryAllocPerByte  = 16
	historyAllocPerByte = 8
	allocSlack          = 1 << 20
)

// checkAlloc fails when decoding n bytes took more than perByte*n+slack.
func checkAlloc(t testing.TB, what string, n int, perByte uint64, fn func()) {
	t.Helper()
	if got, limit := allocated(fn), perByte*uint64(n)+allocSlack; got > limit {
		t.Fatalf("%s: decoding %d bytes allocated %d, more than %d", what, n, got, limit)
	}
}

// hostileHead starts a record that is valid but for what follows it.
const hostileHead = "format = 1\nid = \"" + testID + "\"\nstatus = \"finished\"\n"

func TestDecodeTOMLLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name, text, want string
	}{
		// The record that took the decoder past 11 GB, a little smaller
		// so that the test ends in seconds when it fails.
		{"deep inline tables", hostileHead + "[params]\nx = " + strings.Repeat("{a = ", 3000) + "1" + strings.Repeat("}", 3000) + "\n", "keys nest deeper than 16"},
		{"deep inline tables, no spaces", hostileHead + "p={" + strings.Repeat("a={", 100000) + "}\n", "keys nest deeper than 16"},
		{"deep dotted key", hostileHead + "[params]\n" + strings.Repeat("a.", 5000) + "b = 1\n", "keys nest deeper than 16"},
		{"deep table header", hostileHead + "[params" + strings.Repeat(".a", 5000) + "]\nb = 1\n", "keys nest deeper than 16"},
		{"deep array of tables", hostileHead + "[[params" + strings.Repeat(".a", 17) + "]]\nb = 1\n", "keys nest deeper than 16"},
		{"deep arrays", hostileHead + "[params]\nx = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n", "values nest deeper than 64"},
		{"deep arrays of inline tables", hostileHead + "x = " + strings.Repeat("[{a = ", 20) + "1" + strings.Repeat("}]", 20) + "\n", "keys nest deeper than 16"},
		{"too big", hostileHead + "name = \"" + long(run.MaxRecordSize) + "\"\n", "more than 1048576"},
		{"long name", hostileHead[:len(hostileHead)-len("status = \"finished\"\n")] + "name = \"" + long(300) + "\"\nstatus = \"finished\"\n", "name longer than 250 bytes"},
		{"long name, general path", hostileHead + "name = '" + long(300) + "'\n", "name longer than 250 bytes"},
		{"long experiment", hostileHead + "experiment = '" + long(300) + "'\n", "experiment longer than 250 bytes"},
		{"long tag", hostileHead + "[tags]\nt = \"" + long(70000) + "\"\n", `tag "t" longer than 65536 bytes`},
		{"long tag key", hostileHead + "[tags]\n" + long(300) + " = \"v\"\n", "tag longer than 250 bytes"},
		{"long param string in array", hostileHead + "[params]\np = [\"" + long(70000) + "\"]\n", `param "p" longer than 65536 bytes`},
		{"long command arg", hostileHead + "command = [\"" + long(70000) + "\"]\n", "command longer than 65536 bytes"},
		{"many tags", hostileHead + "[tags]\n" + manyKeys(run.MaxEntries+1, "\"v\""), "more than 65536 tags"},
		{"many command args", hostileHead + "command = [" + strings.Repeat("\"\", ", run.MaxEntries) + "\"\"]\n", "command has more than 65536 entries"},
		{"many gpus", hostileHead + "[host]\n" + strings.Repeat("[[host.gpus]]\n", run.MaxGPUs+1), "more than 1024 GPUs"},
		{"long error", hostileHead + "x = " + long(500000) + "\n", "decode record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			checkAlloc(t, c.name, len(c.text), tomlAllocPerByte, func() { _, err = DecodeTOML([]byte(c.text)) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("DecodeTOML: got %v, want an error with %q", err, c.want)
			}
			if msg := err.Error(); len(msg) > 400 || strings.Contains(msg, "\n") {
				t.Fatalf("error is not one short line: %d bytes", len(msg))
			}
		})
	}
}

// manyKeys returns n lines "k<i> = value".
func manyKeys(n int, value string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "k%d = %s\n", i, value)
	}
	return b.String()
}

// A record as deep and as big as the limits allow still reads, within the
// allocation bound the fuzzer checks.
func TestDecodeTOMLAtLimits(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(hostileHead + "[params]\n")
	for i := 0; sb.Len() < run.MaxRecordSize-200; i++ {
		fmt.Fprintf(&sb, "k%d = %s1%s\n", i, strings.Repeat("{a = ", run.MaxKeyDepth-2), strings.Repeat("}", run.MaxKeyDepth-2))
	}
	deep := sb.String()
	var err error
	checkAlloc(t, "deepest keys", len(deep), tomlAllocPerByte, func() { _, err = DecodeTOML([]byte(deep)) })
	if err != nil {
		t.Fatal(err)
	}

	r := typicalRecord(0)
	r.Metrics = map[string]run.Summary{}
	for i := 0; i < 2000; i++ {
		r.Metrics[fmt.Sprintf("layer%d/grad_norm", i)] = run.Summary{Last: 1.5, Step: 100000, Min: 0.1, Max: 9, Count: 100000}
	}
	r.Params["a.b.c.d.e.f.g.h.i.j.k.l.m.n.o"] = int64(1) // 16 tables deep with [params]
	b, err := EncodeTOML(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeTOML(b); err != nil {
		t.Fatalf("a record of 2,000 metrics (%d bytes): %v", len(b), err)
	}
	if _, err := decodeTOMLGeneral(b); err != nil {
		t.Fatal(err)
	}
	if err := checkTOMLShape(b); err != nil {
		t.Fatalf("checkTOMLShape refuses what EncodeTOML wrote: %v", err)
	}
}

func TestCheckTOMLShapeSkipsStrings(t *testing.T) {
	// Brackets and dots in strings and comments are not structure.
	text := hostileHead + "name = \"" + strings.Repeat("{[.", 100) + "\"\n" +
		"# " + strings.Repeat("{", 100) + "\n" +
		"experiment = '''\n" + strings.Repeat("[", 100) + "'''\n" +
		"command = [\"\"\"a\\\"\"\"\", '" + strings.Repeat("{", 100) + "']\n" +
		"\"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r\" = 1\n"
	if err := checkTOMLShape([]byte(text)); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeHistoryLimits(t *testing.T) {
	// A file of newlines, which once allocated a point per line before
	// reading the first.
	blank := historyHeader + strings.Repeat("\n", 8<<20)
	var err error
	checkAlloc(t, "newlines", len(blank), historyAllocPerByte, func() { _, err = DecodeHistory([]byte(blank)) })
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v, want an error on line 2", err)
	}

	for _, c := range []struct{ name, text, want string }{
		{"long key", historyHeader + strings.Repeat("k", 300) + "\t1\t1\t1\n", "key longer than 250 bytes"},
		{"long escaped key", historyHeader + strings.Repeat("\\\\k", 130) + "\t1\t1\t1\n", "key longer than 250 bytes"},
		{"long step", historyHeader + "k\t" + strings.Repeat("1", 100000) + "\t1\t1\n", "invalid step"},
		{"long value", historyHeader + "k\t1\t1\t" + strings.Repeat("1", 100000) + "\n", "invalid value"},
	} {
		_, err := DecodeHistory([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) || len(err.Error()) > 400 {
			t.Errorf("%s: got %.400v, want a short error with %q", c.name, err, c.want)
		}
	}

	if _, err := DecodeHistory(make([]byte, run.MaxHistorySize+1)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("got %v for a history over the limit", err)
	}
}

func TestDecodeBinaryLimits(t *testing.T) {
	r := typicalRecord(0)
	r.Name = strings.Repeat("n", 300)
	if _, err := DecodeBinary(AppendBinary(nil, r)); err == nil {
		t.Error("a name over the limit decoded")
	}
	r = typicalRecord(0)
	r.Tags["t"] = strings.Repeat("v", run.MaxStringLen+1)
	if _, err := DecodeBinary(AppendBinary(nil, r)); err == nil {
		t.Error("a tag over the limit decoded")
	}
	r = typicalRecord(0)
	r.Command = make([]string, run.MaxEntries+1)
	if _, err := DecodeBinary(AppendBinary(nil, r)); err == nil {
		t.Error("a command over the limit decoded")
	}
}
