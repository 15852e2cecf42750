package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
)

// jsonValid is s as it should read back from JSON: each invalid byte
// replaced by U+FFFD.
func jsonValid(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// wantJSONFloat is how a float should read back from the output.
func wantJSONFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func wantJSONValue(v any) any {
	switch v := v.(type) {
	case float64:
		return wantJSONFloat(v)
	case string:
		return jsonValid(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = wantJSONValue(x)
		}
		return out
	}
	return v
}

// wantJSON builds, independently of AppendJSON, the value that its output
// should decode to, with numbers as int64 or float64.
func wantJSON(r *run.Record) map[string]any {
	timeOrNil := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	strs := func(a []string) []any {
		out := []any{}
		for _, s := range a {
			out = append(out, jsonValid(s))
		}
		return out
	}
	var exit any
	if r.ExitCode != nil {
		exit = int64(*r.ExitCode)
	}
	strOrNil := func(s string) any {
		if s == "" {
			return nil
		}
		return jsonValid(s)
	}
	gpus := []any{}
	for _, g := range r.Host.GPUs {
		gpus = append(gpus, map[string]any{"name": jsonValid(g.Name), "memory_mib": g.MemoryMiB, "driver": jsonValid(g.Driver)})
	}
	env := map[string]any{}
	for k, v := range r.Env {
		env[jsonValid(k)] = jsonValid(v)
	}
	source := map[string]any{
		"commit":   jsonValid(r.Source.Commit),
		"branch":   jsonValid(r.Source.Branch),
		"dirty":    r.Source.Dirty,
		"snapshot": jsonValid(r.Source.Snapshot),
		"dir":      jsonValid(r.Source.Dir),
	}
	if len(r.Source.Skipped) > 0 {
		source["skipped"] = strs(r.Source.Skipped)
	}
	params := map[string]any{}
	for k, v := range r.Params {
		m := params
		segs := strings.Split(k, ".")
		for _, s := range segs[:len(segs)-1] {
			sub, ok := m[s].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[s] = sub
			}
			m = sub
		}
		m[segs[len(segs)-1]] = wantJSONValue(v)
	}
	tags := map[string]any{}
	for k, v := range r.Tags {
		tags[k] = jsonValid(v)
	}
	metrics := map[string]any{}
	for k, s := range r.Metrics {
		metrics[k] = map[string]any{
			"last": wantJSONFloat(s.Last), "step": s.Step, "min": wantJSONFloat(s.Min),
			"max": wantJSONFloat(s.Max), "count": s.Count,
		}
	}
	return map[string]any{
		"format":     int64(run.Format),
		"id":         r.ID,
		"name":       jsonValid(r.Name),
		"experiment": jsonValid(r.Experiment),
		"status":     string(r.Status),
		"started":    r.Started.UTC().Format("2006-01-02T15:04:05.000Z"),
		"ended":      timeOrNil(r.Ended),
		"command":    strs(r.Command),
		"exit_code":  exit,
		"signal":     strOrNil(r.Signal),
		"rerun_of":   strOrNil(r.RerunOf),
		"source":     source,
		"host": map[string]any{
			"hostname": jsonValid(r.Host.Hostname), "user": jsonValid(r.Host.User),
			"os": jsonValid(r.Host.OS), "arch": jsonValid(r.Host.Arch),
			"cpu": jsonValid(r.Host.CPU), "cpus": int64(r.Host.CPUs), "memory_mib": r.Host.MemoryMiB,
			"gpus": gpus, "python": jsonValid(r.Host.Python), "python_executable": jsonValid(r.Host.PythonExecutable),
			"python_packages": strs(r.Host.PythonPackages),
		},
		"env":     env,
		"params":  params,
		"tags":    tags,
		"metrics": metrics,
	}
}

// jsonMatch compares a value decoded with UseNumber to a wanted value,
// checking that integers were written as integers.
func jsonMatch(path string, got, want any) error {
	switch w := want.(type) {
	case int64:
		n, ok := got.(json.Number)
		if i, err := n.Int64(); !ok || err != nil || i != w {
			return fmt.Errorf("%s: got %v, want integer %d", path, got, w)
		}
	case float64:
		n, ok := got.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || f != w || math.Signbit(f) != math.Signbit(w) {
			return fmt.Errorf("%s: got %v, want %v", path, got, w)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %v", path, got, w)
		}
		for i := range w {
			if err := jsonMatch(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); err != nil {
				return err
			}
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %v", path, got, w)
		}
		for k := range w {
			if err := jsonMatch(path+"."+k, g[k], w[k]); err != nil {
				return err
			}
		}
	default:
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("%s: got %#v, want %#v", path, got, want)
		}
	}
	return nil
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

func TestAppendJSON(t *testing.T) {
	records := edgeRecords()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		records[fmt.Sprint("random ", i)] = randomRecord(rng)
	}
	for name, r := range records {
		b := AppendJSON([]byte("prefix"), r)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("%s: AppendJSON did not append", name)
		}
		got := decodeJSON(t, b[len("prefix"):])
		if err := jsonMatch("", got, wantJSON(r)); err != nil {
			t.Errorf("%s: %v\n%s", name, err, b)
		}
	}
}

// jsonKeys returns the keys of the JSON object b in order, with their
// values.
func jsonKeys(t *testing.T, b []byte) ([]string, map[string]json.RawMessage) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var names []string
	values := map[string]json.RawMessage{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var value json.RawMessage
		if err := d.Decode(&value); err != nil {
			t.Fatal(err)
		}
		values[tok.(string)] = value
	}
	return names, values
}

func TestAppendJSONKeyOrder(t *testing.T) {
	for _, r := range []*run.Record{typicalRecord(0), edgeRecords()["new fields"]} {
		names, values := jsonKeys(t, AppendJSON(nil, r))
		want := []string{
			"format", "id", "name", "experiment", "status", "started", "ended", "command", "exit_code",
			"signal", "rerun_of", "source", "host", "env", "params", "tags", "metrics",
		}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("top-level keys %v, want %v", names, want)
		}
		names, _ = jsonKeys(t, values["host"])
		want = []string{"hostname", "user", "os", "arch", "cpu", "cpus", "memory_mib", "gpus", "python", "python_executable", "python_packages"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("host keys %v, want %v", names, want)
		}
		names, _ = jsonKeys(t, values["source"])
		want = []string{"commit", "branch", "dirty", "snapshot", "dir"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("source keys %v, want %v", names, want)
		}
	}
}

func TestAppendJSONLayout(t *testing.T) {
	r := &run.Record{
		ID: testID, Status: run.Running,
		Started: time.Date(2026, 11, 26, 22, 52, 19, 123e6, time.UTC),
		Params: map[string]any{
			"b": int64(1), "a.y": 2.5, "a.x.z": "s", "c": []any{true, math.NaN()}, "a-b": 10.0,
		},
		Tags:    map[string]string{"z": "1", "a": "2"},
		Metrics: map[string]run.Summary{"loss": {Last: math.Inf(-1), Step: 3, Min: 0.5, Max: math.Inf(1), Count: 4}},
		Source:  run.Source{Skipped: []string{"x"}},
	}
	want := `{"format":1,"id":"01jdq5h8r0abcdefghjkmnpqrs","name":"","experiment":"","status":"running",` +
		`"started":"2026-11-26T22:52:19.123Z","ended":null,"command":[],"exit_code":null,` +
		`"signal":null,"rerun_of":null,` +
		`"source":{"commit":"","branch":"","dirty":false,"snapshot":"","skipped":["x"],"dir":""},` +
		`"host":{"hostname":"","user":"","os":"","arch":"","cpu":"","cpus":0,"memory_mib":0,"gpus":[],` +
		`"python":"","python_executable":"","python_packages":[]},` +
		`"env":{},` +
		`"params":{"a":{"x":{"z":"s"},"y":2.5},"a-b":10.0,"b":1,"c":[true,"NaN"]},` +
		`"tags":{"a":"2","z":"1"},` +
		`"metrics":{"loss":{"last":"-Infinity","step":3,"min":0.5,"max":"Infinity","count":4}}}`
	if got := string(AppendJSON(nil, r)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAppendJSONLayoutNewFields(t *testing.T) {
	r := &run.Record{
		ID: testID, Status: run.Killed, ExitCode: intPtr(143), Signal: "SIGTERM", RerunOf: rerunID,
		Started: time.Date(2026, 11, 26, 22, 52, 19, 123e6, time.UTC), Source: run.Source{Dir: "src/a"},
		Env:  map[string]string{"B": "2", "A": "1", "a b": "\"x\""},
		Host: fullHost(),
	}
	r.Host.GPUs = r.Host.GPUs[:1]
	want := `{"format":1,"id":"01jdq5h8r0abcdefghjkmnpqrs","name":"","experiment":"","status":"killed",` +
		`"started":"2026-11-26T22:52:19.123Z","ended":null,"command":[],"exit_code":143,` +
		`"signal":"SIGTERM","rerun_of":"01jdq5h8r0zyxwvtsrqpnmkjhg",` +
		`"source":{"commit":"","branch":"","dirty":false,"snapshot":"","dir":"src/a"},` +
		`"host":{"hostname":"gpu-1","user":"ada","os":"linux","arch":"amd64",` +
		`"cpu":"AMD EPYC 7763 64-Core Processor","cpus":128,"memory_mib":515581,` +
		`"gpus":[{"name":"NVIDIA A100-SXM4-80GB","memory_mib":81920,"driver":"550.54.15"}],` +
		`"python":"3.11.7","python_executable":"/home/ada/.venv/bin/python","python_packages":["numpy==1.26.4","torch==2.2.1"]},` +
		`"env":{"A":"1","B":"2","a b":"\"x\""},` +
		`"params":{},"tags":{},"metrics":{}}`
	if got := string(AppendJSON(nil, r)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// Each new field alone: the others keep their empty values.
	r = &run.Record{ID: testID, Status: run.Running, RerunOf: rerunID, Host: run.Host{CPUs: 2, GPUs: []run.GPU{{}, {Driver: "d"}}}}
	got := decodeJSON(t, AppendJSON(nil, r)).(map[string]any)
	if err := jsonMatch("", got, wantJSON(r)); err != nil {
		t.Error(err)
	}
	if got["signal"] != nil || got["rerun_of"] != rerunID {
		t.Errorf("signal %v, rerun_of %v", got["signal"], got["rerun_of"])
	}
}

func TestAppendJSONConflictingParams(t *testing.T) {
	r := &run.Record{ID: testID, Status: run.Running, Params: map[string]any{
		"a": int64(1), "a.b": int64(2), "a.c.d": int64(3), "a-z": int64(4), "x.y": int64(5), "x.y.z": int64(6),
	}}
	b := AppendJSON(nil, r)
	got := decodeJSON(t, b).(map[string]any)["params"]
	want := map[string]any{
		"a": int64(1), "a.b": int64(2), "a.c.d": int64(3), "a-z": int64(4),
		"x": map[string]any{"y": int64(5), "y.z": int64(6)},
	}
	if err := jsonMatch("params", got, want); err != nil {
		t.Errorf("%v\n%s", err, b)
	}
}

func TestAppendJSONNonCanonicalParams(t *testing.T) {
	r := &run.Record{ID: testID, Status: run.Running, Params: map[string]any{
		"int": 3, "f32": float32(0.1), "strs": []string{"a"}, "map": map[string]int{}, "nil": nil,
	}}
	got := decodeJSON(t, AppendJSON(nil, r)).(map[string]any)["params"]
	want := map[string]any{"int": int64(3), "f32": 0.1, "strs": []any{"a"}, "map": nil, "nil": nil}
	if err := jsonMatch("params", got, want); err != nil {
		t.Error(err)
	}
}

// TestAppendJSONFloatParams: a float param keeps its point, as run.toml
// and git runs show write it, so that 1.0 reads back as 1.0 and not as
// the integer 1; non-finite ones are proto3's strings.
func TestAppendJSONFloatParams(t *testing.T) {
	r := &run.Record{ID: testID, Status: run.Running, Params: map[string]any{
		"one": 1.0, "neg": -2.0, "zero": math.Copysign(0, -1), "half": 0.5, "big": 1e21, "mid": 2e6,
		"int": int64(1), "list": []any{1.0, int64(2)}, "nan": math.NaN(),
	}}
	b := AppendJSON(nil, r)
	want := `"params":{"big":1e+21,"half":0.5,"int":1,"list":[1.0,2],"mid":2e+06,"nan":"NaN","neg":-2.0,"one":1.0,"zero":-0.0}`
	if !strings.Contains(string(b), want) {
		t.Errorf("params not written as %s:\n%s", want, b)
	}
}

func TestAppendQuotedJSON(t *testing.T) {
	tests := map[string]string{
		"":               `""`,
		"plain":          `"plain"`,
		"q\"b\\":         `"q\"b\\"`,
		"\n\r\t\x00\x1f": `"\n\r\t\u0000\u001f"`,
		"\x7f":           "\"\x7f\"",
		"ü學🦦":            `"ü學🦦"`,
		"a\xffb\xc3":     `"a` + "\uFFFD" + `b` + "\uFFFD" + `"`,
	}
	for in, want := range tests {
		if got := string(appendQuoted(nil, in, true)); got != want {
			t.Errorf("appendQuoted(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzAppendQuotedJSON(f *testing.F) {
	f.Add("a\"b\\c\n\x00\xff\u2028ü")
	f.Fuzz(func(t *testing.T, s string) {
		b := appendQuoted(nil, s, true)
		if !utf8.Valid(b) {
			t.Fatalf("output is not UTF-8: %q", b)
		}
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if want := jsonValid(s); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

func TestAppendHistoryJSON(t *testing.T) {
	h := run.History{
		"loss":    {{Step: 0, Time: 1732661539123, Value: 0.5}, {Step: 1, Time: 1732661539200, Value: math.NaN()}},
		"val/acc": {{Step: -1, Time: 0, Value: math.Inf(1)}, {Step: 2, Time: -5, Value: math.Inf(-1)}},
		"empty":   {},
	}
	want := `{"empty":[],"loss":[{"step":0,"timestamp":1732661539123,"value":0.5},{"step":1,"timestamp":1732661539200,"value":"NaN"}],` +
		`"val/acc":[{"step":-1,"timestamp":0,"value":"Infinity"},{"step":2,"timestamp":-5,"value":"-Infinity"}]}`
	if got := string(AppendHistoryJSON(nil, h)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(AppendHistoryJSON(nil, nil)); got != "{}" {
		t.Errorf("empty history: got %s", got)
	}

	rng := rand.New(rand.NewPCG(5, 6))
	h = randomHistory(rng, 20, 50)
	got := decodeJSON(t, AppendHistoryJSON(nil, h)).(map[string]any)
	if len(got) != len(h) {
		t.Fatalf("got %d keys, want %d", len(got), len(h))
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var want []any
		for _, p := range h[k] {
			want = append(want, map[string]any{"step": p.Step, "timestamp": p.Time, "value": wantJSONFloat(p.Value)})
		}
		if want == nil {
			want = []any{}
		}
		if err := jsonMatch(k, got[jsonValid(k)], want); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := typicalRecord(0)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendJSON100k writes what `git runs ls --json` prints for
// 100,000 runs.
func BenchmarkAppendJSON100k(b *testing.B) {
	records := make([]*run.Record, 100)
	for i := range records {
		records[i] = typicalRecord(i)
	}
	buf := make([]byte, 0, 128<<20)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := 0; i < 100000; i++ {
			buf = AppendJSON(buf, records[i%len(records)])
			buf = append(buf, '\n')
		}
	}
}
