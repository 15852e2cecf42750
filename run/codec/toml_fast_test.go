package codec

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// fastAgrees checks that whenever decodeTOMLFast accepts text, the general
// decoder accepts it too and reads the same record, NaN bits included.
func fastAgrees(t testing.TB, text []byte) (accepted bool) {
	t.Helper()
	fast, ok := decodeTOMLFast(text)
	if !ok {
		return false
	}
	slow, err := decodeTOMLGeneral(text)
	if err != nil {
		t.Fatalf("fast path accepted text the general decoder refuses (%v):\n%q", err, text)
	}
	if d := recordDiff(slow, fast, true); d != "" {
		t.Fatalf("fast path differs from the general decoder: %s\n%q", d, text)
	}
	return true
}

func TestDecodeTOMLFastEncoded(t *testing.T) {
	check := func(name string, r *run.Record) {
		t.Helper()
		b, err := EncodeTOML(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !fastAgrees(t, b) {
			t.Fatalf("%s: fast path refused what EncodeTOML wrote:\n%s", name, b)
		}
	}
	for name, r := range edgeRecords() {
		check(name, r)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		check("random record", randomRecord(rng))
	}
}

// deepArray is a param value of arrays nested depth deep.
func deepArray(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

func TestDecodeTOMLFastVariants(t *testing.T) {
	const head = "format = 1\nid = \"" + testID + "\"\nstatus = \"running\"\n"
	accept := []string{
		head,
		head + "\n\n[source]\n\n[host]\n",
		"\n\n" + head + "\n",
		"\"format\" = 1\n\"\\u0069d\" = \"" + testID + "\"\n\"status\" = \"running\"\n",
		head + "started = 2024-02-29T23:59:59.999Z\nended = 0000-01-01T00:00:00.000Z\n",
		head + "command = []\n[source]\nskipped = []\n",
		head + "exit_code = -9223372036854775808\n",
		head + "[params]\nn = -0\nf = -0.0\ng = 1E5\nh = 1e-05\ni = 0.5e+3\nj = 1e-400\nk = 9223372036854775807\n",
		head + "[params]\nx = \"\\u00e9\\U0001F9A6\\b\\f\\r\\t\\n\\\"\\\\\\u0000\\uFFFD\"\ny = \"é🦦\u0085\u2028\"\n",
		head + "[params]\nz = [[], [[]], [1, \"a\", true, 1.5, nan, -inf]]\n",
		head + "[params]\nd = " + deepArray(run.MaxParamDepth) + "\n",
		head + "[params.\"\"]\ne = 4\n[params.a]\nb = 1\n[params.a.c]\nd = 2\n[params.a-b]\nc = 3\n",
		head + "[params.\"\"]\n\"\" = 1\n",
		head + "[tags]\nb = \"1\"\na = \"2\"\n\"a.b\" = \"3\"\n",
		head + "[metrics.b]\n[metrics.\"c.d\"]\nlast = 1\nmax = nan\ncount = 0\n",
		head + "exit_code = 137\nsignal = \"SIGKILL\"\nrerun_of = \"" + rerunID + "\"\n",
		head + "signal = \"9\"\n",
		head + "rerun_of = \"" + rerunID + "\"\n[source]\n",
		head + "[host]\ncpu = \"x\"\ncpus = 8\nmemory_mib = -1\npython = \"3\"\npython_executable = \"p\"\npython_packages = [\"a==1\", \"b\"]\n",
		head + "[host]\nos = \"linux\"\ncpus = 0\npython_packages = []\n",
		head + "[host]\n[[host.gpus]]\n",
		head + "[host]\n[[host.gpus]]\nname = \"a\"\nmemory_mib = 1\ndriver = \"d\"\n\n[[host.gpus]]\ndriver = \"e\"\n[[host.gpus]]\n[env]\n",
		head + "[host]\n[[\"host\".\"gpus\"]]\nmemory_mib = -9223372036854775808\n",
		head + "[host]\narch = \"x\"\n[[host.gpus]]\nname = \"\\u00e9\"\n[env]\nA = \"1\"\n\"\" = \"\"\n\"a.b\" = \"\\n\"\n[params]\na = 1\n[tags]\nA = \"1\"\n",
		head + "[env]\nPATH = \"/bin\"\n[metrics.a]\n",
		head + "[source]\ncommit = \"c\"\nskipped = [\"x\"]\ndir = \"src/a\"\n",
		head + "[source]\ndir = \"\"\n[host]\n",
	}
	for _, text := range accept {
		if !fastAgrees(t, []byte(text)) {
			t.Errorf("fast path refused:\n%s", text)
		}
	}

	// Text the general decoder reads but the fast path leaves to it, or that
	// is an error.
	refuse := []string{
		"",
		"format = 1\n",
		strings.TrimSuffix(head, "\n"),
		head + "# comment\n",
		strings.ReplaceAll(head, "\n", "\r\n"),
		strings.Replace(head, " = ", "=", 1),
		strings.Replace(head, "format = 1", "format = 2", 1),
		strings.Replace(head, "format = 1", "format = +1", 1),
		strings.Replace(head, "format = 1", "format = 0x1", 1),
		strings.Replace(head, "format = 1", "format = 1.0", 1),
		strings.Replace(head, "format = 1", "format = 01", 1),
		strings.Replace(head, "\"running\"", "'running'", 1),
		strings.Replace(head, "\"running\"", "\"\"\"running\"\"\"", 1),
		strings.Replace(head, "\"running\"", "\"done\"", 1),
		strings.Replace(head, testID, "x", 1),
		head + "status = \"running\"\n",
		head + "name = \"a\"\n",
		head + "future = 1\n",
		head + "started = 2024-02-30T00:00:00.000Z\n",
		head + "started = 2023-02-29T00:00:00.000Z\n",
		head + "started = 2024-01-01T24:00:00.000Z\n",
		head + "started = 2024-01-01T00:00:60.000Z\n",
		head + "started = 2024-01-01T00:00:00Z\n",
		head + "started = 2024-01-01T00:00:00.000+00:00\n",
		head + "started = 2024-01-01 00:00:00.000Z\n",
		head + "exit_code = 9223372036854775808\n",
		head + "command = [\"a\",\"b\"]\n",
		head + "command = [\"a\", \"b\",]\n",
		head + "command = [\"a\", 1]\n",
		head + "[source]\nworktree = \"x\"\n",
		head + "[host]\n[source]\n",
		head + "[source]\n[source]\n",
		head + "[params]\na.b = 1\n",
		head + "[params]\n\"a.b\" = 1\n",
		head + "[params]\na = 1\na = 2\n",
		head + "[params]\na = 1\n\"a\" = 2\n",
		head + "[params]\na = 1\n[params.a]\nb = 2\n",
		head + "[params]\na = 1\n[params.a.b]\nc = 2\n",
		head + "[params.a.b]\nc = 2\n[params]\na = 1\n",
		head + "[params.a.b]\nc = 2\n[params.a]\nd = 1\n",
		head + "[params.a]\nb = 1\n[params.a]\nc = 1\n",
		head + "[params]\n[params.a]\nb = 1\n",
		head + "[params.a]\n[params]\na = 1\n",
		head + "[params]\nd = 2024-01-01\n",
		head + "[params]\nd = {a = 1}\n",
		head + "[params]\nd = " + deepArray(run.MaxParamDepth+1) + "\n",
		head + "[params]\nd = 1_000\n",
		head + "[params]\nd = -nan\n",
		head + "[params]\nd = +inf\n",
		head + "[params]\nd = 1.\n",
		head + "[params]\nd = .5\n",
		head + "[params]\nd = 1e\n",
		head + "[params]\nd = 1e400\n",
		head + "[params]\nd = \"\\e\"\n",
		head + "[params]\nd = \"\\x41\"\n",
		head + "[params]\nd = \"\\uD800\"\n",
		head + "[params]\nd = \"\\U00110000\"\n",
		head + "[params]\nd = \"a\tb\"\n",
		head + "[params]\nd = \"\xff\"\n",
		head + "[params]\nd = \"\x7f\"\n",
		head + "[params]\nd = \"a\n",
		head + "[[params.x]]\na = 1\n",
		head + "[tags]\na = 1\n",
		head + "[tags]\na = \"1\"\na = \"2\"\n",
		head + "[metrics]\nloss = 1\n",
		head + "[metrics.a.b]\nlast = 1\n",
		head + "[metrics.b]\n[metrics.a]\n",
		head + "[metrics.a]\n[metrics.a]\n",
		head + "[metrics.a]\nstep = 1.5\n",
		head + "[metrics.a]\nstep = 1\nlast = 1.0\n",
		head + "[metrics.a]\np50 = 1.0\n",
		head + "[tags]\n[params]\na = 1\n",
		head + "[future]\n",
		head + "signal = \"\"\n",
		head + "signal = \"SIG TERM\"\n",
		head + "signal = \"-9\"\n",
		head + "signal = 9\n",
		head + "rerun_of = \"\"\n",
		head + "rerun_of = \"x\"\n",
		head + "rerun_of = \"" + strings.ToUpper(rerunID) + "\"\n",
		head + "rerun_of = \"" + rerunID + "\"\nsignal = \"KILL\"\n",
		head + "signal = \"KILL\"\nexit_code = 1\n",
		head + "env = \"x\"\n",
		head + "[host]\ncpus = 8\ncpu = \"x\"\n",
		head + "[host]\npython_packages = [\"a\"]\npython = \"3\"\n",
		head + "[host]\ncpus = 1.5\n",
		head + "[host]\ncpus = \"8\"\n",
		head + "[host]\nmemory_mib = 9223372036854775808\n",
		head + "[host]\npython_packages = [1]\n",
		head + "[host]\ngpus = []\n",
		head + "[host]\ngpus = [{name = \"a\"}]\n",
		head + "[host]\ncpu = \"x\"\ncpu = \"y\"\n",
		head + "[[host.gpus]]\nname = \"a\"\n",
		head + "[[host.gpus]]\n[host]\n",
		head + "[source]\n[[host.gpus]]\n",
		head + "[host]\n[env]\n[[host.gpus]]\n",
		head + "[host]\n[host.gpus]\nname = \"a\"\n",
		head + "[host]\n[[host.gpu]]\n",
		head + "[host]\n[[host]]\n",
		head + "[host]\n[[host.gpus.x]]\n",
		head + "[host]\n[[host.gpus]\n",
		head + "[host]\n[[host.gpus]] \n",
		head + "[host]\n[ [host.gpus]]\n",
		head + "[host]\n[[host.gpus]]\ndriver = \"d\"\nname = \"a\"\n",
		head + "[host]\n[[host.gpus]]\nname = \"a\"\nname = \"b\"\n",
		head + "[host]\n[[host.gpus]]\nmemory_mib = 1.0\n",
		head + "[host]\n[[host.gpus]]\nvram = 1\n",
		head + "[host]\n[[host.gpus]]\n[host.gpus.x]\n",
		head + "[env]\nA = 1\n",
		head + "[env]\nA = \"1\"\nA = \"2\"\n",
		head + "[env]\nA = \"1\"\n\"A\" = \"2\"\n",
		head + "[env]\nA.B = \"1\"\n",
		head + "[env]\n[env]\n",
		head + "[params]\na = 1\n[env]\n",
		head + "[env.x]\n",
		head + "[[env]]\n",
		head + "[[tags]]\n",
		head + "[source]\ndir = \"a\"\nskipped = [\"x\"]\n",
		head + "[source]\ndir = \"a\"\ndir = \"b\"\n",
		head + "[source]\ndir = 1\n",
		head + "dir = \"a\"\n",
		head + "[host]\ndir = \"a\"\n",
	}
	for _, text := range refuse {
		if _, ok := decodeTOMLFast([]byte(text)); ok {
			t.Errorf("fast path accepted:\n%q", text)
		}
		// The hook leaves such text to the general decoder.
		got, err := DecodeTOML([]byte(text))
		want, wantErr := decodeTOMLGeneral([]byte(text))
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() || err == nil && recordDiff(want, got, true) != "" {
			t.Errorf("DecodeTOML differs from the general decoder on %q: %v, %v", text, err, wantErr)
		}
	}
}

// TestDecodeTOMLFastMutated checks the fast path's structural checks on
// documents made of lines that TOML may or may not accept together: tables
// out of order or twice, keys set twice, params that are also tables.
func TestDecodeTOMLFastMutated(t *testing.T) {
	const head = "format = 1\nid = \"" + testID + "\"\nstatus = \"running\"\n"
	headers := []string{
		"[source]", "[host]", "[tags]", "[params]", "[params.a]", "[params.b]", "[params.a.b]",
		"[params.a.a]", "[params.\"\"]", "[params.\"a\"]", "[params.\"a.b\"]", "[params.a-b]",
		"[metrics.a]", "[metrics.b]", "[metrics.\"a\"]", "[metrics.\"a.b\"]", "[metrics.a.b]",
		"[env]", "[[host.gpus]]", "[host]\n[[host.gpus]]", "[host.gpus]", "[[params.a]]", "[\"env\"]",
	}
	keys := []string{
		"a", "b", "\"a\"", "\"\"", "\"a.b\"", "a-b", "dirty", "last", "step", "os", "commit",
		"name", "driver", "memory_mib", "cpus", "python_packages", "gpus", "signal", "dir",
	}
	values := []string{"1", "2.5", "\"s\"", "true", "[1]", "[]", "nan", "[\"s\"]", "{}"}
	rng := rand.New(rand.NewPCG(7, 8))
	accepted, gpus, env := 0, 0, 0
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		b.WriteString(head)
		for n := rng.IntN(8); n > 0; n-- {
			if rng.IntN(3) == 0 {
				b.WriteString(headers[rng.IntN(len(headers))])
			} else {
				b.WriteString(keys[rng.IntN(len(keys))] + " = " + values[rng.IntN(len(values))])
			}
			b.WriteByte('\n')
		}
		if fastAgrees(t, []byte(b.String())) {
			accepted++
			if strings.Contains(b.String(), "[[host.gpus]]") {
				gpus++
			}
			if strings.Contains(b.String(), "[env]") {
				env++
			}
		}
	}
	// The point is the agreement on what the fast path accepts, so it
	// must accept a fair share, some with each kind of table.
	if accepted < 10000 || gpus < 300 || env < 300 {
		t.Errorf("fast path accepted only %d documents, %d with [[host.gpus]], %d with [env]", accepted, gpus, env)
	}
	t.Logf("fast path accepted %d of 200000 documents, %d with [[host.gpus]], %d with [env]", accepted, gpus, env)
}

// TestDecodeTOMLFastShuffled moves, repeats and drops lines of encoded
// records.
func TestDecodeTOMLFastShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	accepted := 0
	for i := 0; i < 20000; i++ {
		b, err := EncodeTOML(randomRecord(rng))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		for n := 1 + rng.IntN(3); n > 0; n-- {
			j, k := rng.IntN(len(lines)), rng.IntN(len(lines))
			switch rng.IntN(3) {
			case 0:
				lines[j], lines[k] = lines[k], lines[j]
			case 1:
				lines = append(lines[:k], append([]string{lines[j]}, lines[k:]...)...)
			case 2:
				lines = append(lines[:j], lines[j+1:]...)
			}
		}
		if fastAgrees(t, []byte(strings.Join(lines, ""))) {
			accepted++
		}
	}
	t.Logf("fast path accepted %d of 20000 documents", accepted)
}

func FuzzDecodeTOMLFast(f *testing.F) {
	for _, r := range edgeRecords() {
		b, err := EncodeTOML(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20; i++ {
		b, err := EncodeTOML(randomRecord(rng))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	head := "format = 1\nid = \"" + testID + "\"\nstatus = \"running\"\n"
	for _, s := range []string{
		head + "[params]\na = 1\n[params.a]\nb = 2\n",
		head + "[params.a.b]\nc = 2\n[params.a]\nd = 1\n",
		head + "[params]\n\"\" = 1\n[params.\"\"]\nx = 2\n",
		head + "[params]\nz = [[], [[1]], [1, \"a\", true, 1.5e+300, nan, -inf]]\n",
		head + "started = 2024-02-29T23:59:59.999Z\nexit_code = -1\n",
		head + "[tags]\n\"\\u0061\" = \"\\U0001F9A6\"\na = \"x\"\n",
		head + "[metrics.\"x\"]\nlast = -nan\nmin = 1\n",
		head + "# comment\n[source]\ndirty = true\n",
		head + "signal = \"TERM\"\nrerun_of = \"" + rerunID + "\"\n[host]\ncpus = 2\nmemory_mib = 3\n",
		head + "[host]\n[[host.gpus]]\nname = \"a\"\nmemory_mib = 1\ndriver = \"d\"\n[[host.gpus]]\n[env]\n\"a b\" = \"c\"\n",
		head + "[[host.gpus]]\n[host]\npython_packages = [\"a==1\"]\n",
		head + "[host]\ngpus = [{name = \"a\"}, {}]\n[env]\nA = 'x'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fastAgrees(t, data)
		// Whatever the general decoder reads, the fast path must read once
		// EncodeTOML has rewritten it.
		r, err := decodeTOMLGeneral(data)
		if err != nil {
			return
		}
		b, err := EncodeTOML(r)
		if err != nil {
			return // FuzzDecodeTOML covers records that do not encode
		}
		if !fastAgrees(t, b) {
			t.Fatalf("fast path refused what EncodeTOML wrote:\n%s", b)
		}
	})
}

// BenchmarkDecodeTOMLPaths compares the fast path with the general decoder
// on a typical record: ten params with a nested table and an array, five
// tags and five metrics. (BenchmarkDecodeTOML measures DecodeTOML itself.)
func BenchmarkDecodeTOMLPaths(b *testing.B) {
	text, err := EncodeTOML(typicalRecord(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeTOMLFast(text); !ok {
				b.Fatal("fast path refused the record")
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeTOMLGeneral(text); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDecodeTOMLFastMergeFields checks that the fields every record now
// carries (updated, checkpoint_interval, [tag_times]) keep a record on
// the fast path, which listings depend on.
func TestDecodeTOMLFastMergeFields(t *testing.T) {
	text, err := EncodeTOML(edgeRecords()["merge fields"])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeTOMLFast(text); !ok {
		t.Fatalf("fast path refused\n%s", text)
	}
	fastAgrees(t, text)
}
