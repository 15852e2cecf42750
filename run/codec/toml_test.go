package codec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gitruns/gitruns/run"
)

// testID is a valid id for records built by hand.
const testID = "01jdq5h8r0abcdefghjkmnpqrs"

func intPtr(i int) *int { return &i }

// typicalRecord is a finished run of the size most runs have: ten params,
// five tags and five metrics.
func typicalRecord(i int) *run.Record {
	started := time.Date(2026, 11, 26, 22, 52, 19, 123e6, time.UTC).Add(time.Duration(i) * time.Minute)
	return &run.Record{
		Format:     run.Format,
		ID:         testID,
		Name:       "brave-otter-42",
		Experiment: "default",
		Status:     run.Finished,
		Started:    started,
		Ended:      started.Add(41881 * time.Millisecond),
		Command:    []string{"python", "train.py", "--epochs", "10"},
		ExitCode:   intPtr(0),
		Source: run.Source{
			Commit:   "0123456789abcdef0123456789abcdef01234567",
			Branch:   "main",
			Dirty:    true,
			Snapshot: "89abcdef0123456789abcdef0123456789abcdef",
		},
		Host: run.Host{Hostname: "gpu-box-1", User: "ada", OS: "linux", Arch: "amd64"},
		Params: map[string]any{
			"epochs":           int64(10 + i),
			"lr":               0.01 * float64(i+1),
			"batch_size":       int64(64),
			"model":            "resnet50",
			"augment":          true,
			"layers":           []any{int64(64), int64(32)},
			"optimizer.name":   "adam",
			"optimizer.lr":     0.001,
			"optimizer.beta1":  0.9,
			"data.train.split": 0.8,
		},
		Tags: map[string]string{
			"team":    "vision",
			"dataset": "imagenet-1k",
			"owner":   "ada",
			"purpose": "baseline",
			"gpu":     "a100",
		},
		Metrics: map[string]run.Summary{
			"loss":       {Last: 0.3123, Step: 99, Min: 0.2987, Max: 2.5031, Count: 100},
			"val/acc":    {Last: 0.8412, Step: 9, Min: 0.1, Max: 0.8512, Count: 10},
			"val/loss":   {Last: 0.4412, Step: 9, Min: 0.4213, Max: 2.1, Count: 10},
			"lr":         {Last: 1e-05, Step: 99, Min: 1e-05, Max: 0.01, Count: 100},
			"train.time": {Last: 41.2, Step: 99, Min: 0.35, Max: 41.2, Count: 100},
		},
	}
}

// floatSame reports whether two floats are the same value: equal with the
// same sign, or both NaN. With exact set NaNs must also have the same bits.
func floatSame(a, b float64, exact bool) bool {
	if a != a || b != b {
		if exact {
			return math.Float64bits(a) == math.Float64bits(b)
		}
		return a != a && b != b
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

// valueSame compares param values as reflect.DeepEqual does, but with
// floatSame for floats.
func valueSame(a, b any, exact bool) bool {
	switch a := a.(type) {
	case float64:
		bf, ok := b.(float64)
		return ok && floatSame(a, bf, exact)
	case []any:
		ba, ok := b.([]any)
		if !ok || (a == nil) != (ba == nil) || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !valueSame(a[i], ba[i], exact) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// recordDiff describes the first difference between two records, comparing
// as reflect.DeepEqual would but with NaNs equal to each other; it returns ""
// for equal records.
func recordDiff(a, b *run.Record, exact bool) string {
	switch {
	case a.Format != b.Format:
		return fmt.Sprintf("Format %d != %d", a.Format, b.Format)
	case a.ID != b.ID || a.Name != b.Name || a.Experiment != b.Experiment || a.Status != b.Status:
		return fmt.Sprintf("identity %q %q %q %q != %q %q %q %q", a.ID, a.Name, a.Experiment, a.Status, b.ID, b.Name, b.Experiment, b.Status)
	case !reflect.DeepEqual(a.Started, b.Started):
		return fmt.Sprintf("Started %#v != %#v", a.Started, b.Started)
	case !reflect.DeepEqual(a.Ended, b.Ended):
		return fmt.Sprintf("Ended %#v != %#v", a.Ended, b.Ended)
	case !reflect.DeepEqual(a.Command, b.Command):
		return fmt.Sprintf("Command %#v != %#v", a.Command, b.Command)
	case (a.ExitCode == nil) != (b.ExitCode == nil) || a.ExitCode != nil && *a.ExitCode != *b.ExitCode:
		return fmt.Sprintf("ExitCode %v != %v", a.ExitCode, b.ExitCode)
	case a.Signal != b.Signal || a.RerunOf != b.RerunOf:
		return fmt.Sprintf("Signal, RerunOf %q %q != %q %q", a.Signal, a.RerunOf, b.Signal, b.RerunOf)
	case !reflect.DeepEqual(a.Env, b.Env):
		return fmt.Sprintf("Env %#v != %#v", a.Env, b.Env)
	case !reflect.DeepEqual(a.Source, b.Source):
		return fmt.Sprintf("Source %#v != %#v", a.Source, b.Source)
	case !reflect.DeepEqual(a.Host, b.Host):
		return fmt.Sprintf("Host %#v != %#v", a.Host, b.Host)
	case (a.Params == nil) != (b.Params == nil) || len(a.Params) != len(b.Params):
		return fmt.Sprintf("Params %#v != %#v", a.Params, b.Params)
	case !reflect.DeepEqual(a.Tags, b.Tags):
		return fmt.Sprintf("Tags %#v != %#v", a.Tags, b.Tags)
	case !a.Updated.Equal(b.Updated) || a.CheckpointInterval != b.CheckpointInterval:
		return fmt.Sprintf("Updated, CheckpointInterval %v %v != %v %v", a.Updated, a.CheckpointInterval, b.Updated, b.CheckpointInterval)
	case !reflect.DeepEqual(a.TagTimes, b.TagTimes):
		return fmt.Sprintf("TagTimes %#v != %#v", a.TagTimes, b.TagTimes)
	case (a.Metrics == nil) != (b.Metrics == nil) || len(a.Metrics) != len(b.Metrics):
		return fmt.Sprintf("Metrics %#v != %#v", a.Metrics, b.Metrics)
	}
	for k, av := range a.Params {
		bv, ok := b.Params[k]
		if !ok || !valueSame(av, bv, exact) {
			return fmt.Sprintf("param %q: %#v != %#v", k, av, bv)
		}
	}
	for k, as := range a.Metrics {
		bs, ok := b.Metrics[k]
		if !ok || as.Step != bs.Step || as.Count != bs.Count ||
			!floatSame(as.Last, bs.Last, exact) || !floatSame(as.Min, bs.Min, exact) || !floatSame(as.Max, bs.Max, exact) {
			return fmt.Sprintf("metric %q: %#v != %#v", k, as, bs)
		}
	}
	return ""
}

// tomlCanonical is what DecodeTOML gives back for r: maps never nil, empty
// lists nil, and the format this package writes.
func tomlCanonical(r *run.Record) *run.Record {
	c := *r
	c.Format = run.Format
	if c.Params == nil {
		c.Params = map[string]any{}
	}
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	if c.Metrics == nil {
		c.Metrics = map[string]run.Summary{}
	}
	if c.Env == nil {
		c.Env = map[string]string{}
	}
	if len(c.Command) == 0 {
		c.Command = nil
	}
	if len(c.Source.Skipped) == 0 {
		c.Source.Skipped = nil
	}
	if len(c.Host.GPUs) == 0 {
		c.Host.GPUs = nil
	}
	if len(c.Host.PythonPackages) == 0 {
		c.Host.PythonPackages = nil
	}
	return &c
}

// rerunID is a valid id for records that repeat another.
const rerunID = "01jdq5h8r0zyxwvtsrqpnmkjhg"

// fullHost is a host with every field set.
func fullHost() run.Host {
	return run.Host{
		Hostname: "gpu-1", User: "ada", OS: "linux", Arch: "amd64",
		CPU: "AMD EPYC 7763 64-Core Processor", CPUs: 128, MemoryMiB: 515581,
		GPUs: []run.GPU{
			{Name: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920, Driver: "550.54.15"},
			{Name: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920, Driver: "550.54.15"},
		},
		Python:           "3.11.7",
		PythonExecutable: "/home/ada/.venv/bin/python",
		PythonPackages:   []string{"numpy==1.26.4", "torch==2.2.1"},
	}
}

// edgeRecords are records that stress the encoders: special floats, odd keys
// and strings, empty and missing parts.
func edgeRecords() map[string]*run.Record {
	nan, inf := math.NaN(), math.Inf(1)
	started := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	return map[string]*run.Record{
		"typical": typicalRecord(0),
		"special floats": {
			ID: testID, Status: run.Failed, Started: started, Ended: started.Add(time.Second), ExitCode: intPtr(1),
			Params: map[string]any{
				"nan": nan, "inf": inf, "ninf": -inf, "zero": 0.0, "negzero": math.Copysign(0, -1),
				"ten": 10.0, "big": 1e300, "tiny": 5e-324, "e21": 1e21, "million": 1e6,
				"long": 123456789.0, "third": 1.0 / 3, "neg": -2.5, "small": 1e-05,
				"maxint": int64(math.MaxInt64), "minint": int64(math.MinInt64),
				"floats": []any{nan, inf, -inf, 1.0, 0.5},
			},
			Metrics: map[string]run.Summary{
				"all nan": {Last: nan, Step: 3, Min: nan, Max: nan, Count: 4},
				"inf":     {Last: inf, Step: -1, Min: -inf, Max: inf, Count: math.MaxInt64},
				"zero":    {},
			},
		},
		"nested params": {
			ID: testID, Status: run.Running, Started: started,
			Params: map[string]any{
				"a":             int64(1),
				"b.c":           int64(2),
				"b.d.e":         "deep",
				"b.d.f":         []any{},
				"b-x":           true,
				"optimizer.lr":  0.001,
				"optimizer.eps": 1e-8,
				"z":             []any{[]any{int64(1), "x"}, []any{}, false},
			},
		},
		"unicode and escapes": {
			ID: testID, Status: run.Crashed, Started: started,
			Name:       "名前 \"quoted\" \\ back\nslash",
			Experiment: "exp\ttab\x00nul\x7fdel\x1bescape",
			Command:    []string{"python", "-c", "print(\"hi\")\n", "ü"},
			ExitCode:   intPtr(-9),
			Source:     run.Source{Skipped: []string{"big file.bin", "data/ä.bin"}},
			Host:       run.Host{Hostname: "host\r\n", User: "ümlaut", OS: "darwin", Arch: "arm64"},
			Params: map[string]any{
				"學習率":          0.5,
				"模型.層數":        int64(12),
				"val/acc":      "x",
				"quote\"key":   "q",
				"back\\slash":  "b",
				"space key":    "s",
				"":             "empty key",
				"x..y":         "empty segment",
				"emoji 🦦":      "🦦",
				"tab\tin\tkey": "t",
			},
			Tags: map[string]string{
				"team":       "vision",
				"note":       "say \"hi\"\nand\\bye",
				"日本語":        "値",
				"ctl\x01key": "\x01\x02",
				"":           "",
			},
			Metrics: map[string]run.Summary{
				"train.loss": {Last: 1, Step: 1, Min: 1, Max: 1, Count: 1},
				"val/acc":    {Last: 0.5, Step: 2, Min: 0.25, Max: 0.5, Count: 3},
				"精度":         {Last: 0.9, Step: 0, Min: 0.9, Max: 0.9, Count: 1},
				"a\"b":       {Count: 1},
			},
		},
		"empty": {ID: testID, Status: run.Running},
		"empty maps": {
			ID: testID, Status: run.Killed, Started: started, Command: []string{}, ExitCode: intPtr(137),
			Params: map[string]any{}, Tags: map[string]string{}, Metrics: map[string]run.Summary{},
			Source: run.Source{Skipped: []string{}},
		},
		"zero exit code": {ID: testID, Status: run.Finished, Started: started, Ended: started, ExitCode: intPtr(0)},
		"new fields": {
			ID: testID, Status: run.Killed, Started: started, Ended: started.Add(time.Minute), ExitCode: intPtr(143),
			Signal: "SIGTERM", RerunOf: rerunID, Source: run.Source{Dirty: true, Snapshot: "89abcdef", Dir: "src/train"},
			Env:    map[string]string{"CUDA_VISIBLE_DEVICES": "0,1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"},
			Host:   fullHost(),
			Params: map[string]any{"lr": 0.1, "optimizer.name": "adam"},
			Tags:   map[string]string{"team": "vision"},
		},
		"merge fields": {
			ID: testID, Status: run.Running, Started: started, Updated: started.Add(90 * time.Second),
			CheckpointInterval: 30 * time.Second,
			Tags:               map[string]string{"team": "vision", "a b": "x"},
			TagTimes:           map[string]time.Time{"team": started.Add(time.Second), "a b": started, "removed": started.Add(time.Hour)},
		},
		"new fields, odd values": {
			ID: testID, Status: run.Crashed, Started: started, Signal: "9", Source: run.Source{Dir: "d\n\"ü\"/\\"},
			Env: map[string]string{
				"":            "empty name",
				"with space":  "v",
				"a.b":         "dotted",
				"quote\"s":    "\"\\\n\t\x00\x7f",
				"ünï":         "學🦦",
				"EMPTY_VALUE": "",
			},
			Host: run.Host{
				CPU: "cpu\n\"quoted\"", CPUs: -1, MemoryMiB: math.MaxInt64,
				GPUs:   []run.GPU{{}, {Name: "名前", MemoryMiB: math.MinInt64, Driver: "d\x00"}, {Driver: "only driver"}},
				Python: "ü", PythonExecutable: "C:\\Python\\python.exe",
				PythonPackages: []string{"", "a==1", "\"q\""},
			},
		},
		"new fields, each alone": {ID: testID, Status: run.Running, Host: run.Host{PythonExecutable: "/usr/bin/python3"}},
		"new fields, dir alone":  {ID: testID, Status: run.Running, Source: run.Source{Dir: "src"}},
		"new fields, empty": {
			ID: testID, Status: run.Running, Env: map[string]string{},
			Host: run.Host{GPUs: []run.GPU{}, PythonPackages: []string{}},
		},
	}
}

func TestTOMLRoundTrip(t *testing.T) {
	for name, r := range edgeRecords() {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeTOML(r)
			if err != nil {
				t.Fatal(err)
			}
			// The text must be TOML that the reference decoder accepts.
			var doc map[string]any
			if err := toml.Unmarshal(b, &doc); err != nil {
				t.Fatalf("not valid TOML: %v\n%s", err, b)
			}
			got, err := DecodeTOML(b)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, b)
			}
			if d := recordDiff(tomlCanonical(r), got, false); d != "" {
				t.Errorf("round trip changed the record: %s\n%s", d, b)
			}
			again, err := EncodeTOML(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(b) {
				t.Errorf("encoding is not stable:\n%s\n---\n%s", b, again)
			}
		})
	}
}

func TestEncodeTOMLGolden(t *testing.T) {
	started := time.Date(2026, 11, 26, 22, 52, 19, 123456789, time.UTC)
	r := &run.Record{
		Format:     run.Format,
		ID:         testID,
		Name:       "brave-otter-42",
		Experiment: "default",
		Status:     run.Finished,
		Started:    started,
		Ended:      time.Date(2026, 11, 27, 0, 53, 1, 4e6, time.FixedZone("CET", 2*3600)),
		Command:    []string{"python", "train.py"},
		ExitCode:   intPtr(0),
		Source: run.Source{
			Commit:   "0123456789abcdef0123456789abcdef01234567",
			Branch:   "main",
			Dirty:    true,
			Snapshot: "89abcdef0123456789abcdef0123456789abcdef",
			Skipped:  []string{"data/big.bin"},
		},
		Host: run.Host{Hostname: "gpu-1", User: "ada", OS: "linux", Arch: "amd64"},
		Params: map[string]any{
			"epochs":              int64(10),
			"lr":                  0.01,
			"name":                "rf",
			"layers":              []any{int64(64), int64(32)},
			"scale":               10.0,
			"學習率":                 0.5,
			"optimizer.lr":        0.001,
			"optimizer.eps":       1e-08,
			"optimizer.betas.b1":  0.9,
			"optimizer.betas.b2":  0.999,
			"optimizer.name":      "adam",
			"schedule.warmup.len": int64(5),
		},
		Tags: map[string]string{"team": "vision", "note": "say \"hi\"\n"},
		Metrics: map[string]run.Summary{
			"loss":       {Last: 0.31, Step: 99, Min: 0.2, Max: 2.5, Count: 100},
			"val/acc":    {Last: 0.8, Step: 9, Min: 0.1, Max: 0.85, Count: 10},
			"train.loss": {Last: math.NaN(), Step: 5, Min: math.Inf(1), Max: math.Inf(-1), Count: 6},
		},
	}
	want := `format = 1
id = "01jdq5h8r0abcdefghjkmnpqrs"
name = "brave-otter-42"
experiment = "default"
status = "finished"
started = 2026-11-26T22:52:19.123Z
ended = 2026-11-26T22:53:01.004Z
command = ["python", "train.py"]
exit_code = 0

[source]
commit = "0123456789abcdef0123456789abcdef01234567"
branch = "main"
dirty = true
snapshot = "89abcdef0123456789abcdef0123456789abcdef"
skipped = ["data/big.bin"]

[host]
hostname = "gpu-1"
user = "ada"
os = "linux"
arch = "amd64"

[params]
epochs = 10
layers = [64, 32]
lr = 0.01
name = "rf"
scale = 10.0
"學習率" = 0.5

[params.optimizer]
eps = 1e-08
lr = 0.001
name = "adam"

[params.optimizer.betas]
b1 = 0.9
b2 = 0.999

[params.schedule.warmup]
len = 5

[tags]
note = "say \"hi\"\n"
team = "vision"

[metrics.loss]
last = 0.31
step = 99
min = 0.2
max = 2.5
count = 100

[metrics."train.loss"]
last = nan
step = 5
min = inf
max = -inf
count = 6

[metrics."val/acc"]
last = 0.8
step = 9
min = 0.1
max = 0.85
count = 10
`
	got, err := EncodeTOML(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("EncodeTOML layout differs\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestEncodeTOMLGoldenNewFields(t *testing.T) {
	started := time.Date(2026, 11, 26, 22, 52, 19, 123e6, time.UTC)
	r := &run.Record{
		ID:       testID,
		Name:     "brave-otter-42",
		Status:   run.Killed,
		Started:  started,
		Ended:    started.Add(time.Minute),
		Command:  []string{"python", "train.py"},
		ExitCode: intPtr(143),
		Signal:   "SIGTERM",
		RerunOf:  rerunID,
		Source:   run.Source{Commit: "0123456789abcdef0123456789abcdef01234567", Skipped: []string{"big.bin"}, Dir: "src/train"},
		Env:      map[string]string{"PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "0,1", "my var": "x"},
		Host:     fullHost(),
		Params:   map[string]any{"lr": 0.01},
	}
	want := `format = 1
id = "01jdq5h8r0abcdefghjkmnpqrs"
name = "brave-otter-42"
experiment = ""
status = "killed"
started = 2026-11-26T22:52:19.123Z
ended = 2026-11-26T22:53:19.123Z
command = ["python", "train.py"]
exit_code = 143
signal = "SIGTERM"
rerun_of = "01jdq5h8r0zyxwvtsrqpnmkjhg"

[source]
commit = "0123456789abcdef0123456789abcdef01234567"
branch = ""
dirty = false
skipped = ["big.bin"]
dir = "src/train"

[host]
hostname = "gpu-1"
user = "ada"
os = "linux"
arch = "amd64"
cpu = "AMD EPYC 7763 64-Core Processor"
cpus = 128
memory_mib = 515581
python = "3.11.7"
python_executable = "/home/ada/.venv/bin/python"
python_packages = ["numpy==1.26.4", "torch==2.2.1"]

[[host.gpus]]
name = "NVIDIA A100-SXM4-80GB"
memory_mib = 81920
driver = "550.54.15"

[[host.gpus]]
name = "NVIDIA A100-SXM4-80GB"
memory_mib = 81920
driver = "550.54.15"

[env]
CUDA_VISIBLE_DEVICES = "0,1"
PYTHONHASHSEED = "0"
"my var" = "x"

[params]
lr = 0.01
`
	got, err := EncodeTOML(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("EncodeTOML layout differs\ngot:\n%s\nwant:\n%s", got, want)
	}

	// Each optional key of [host] on its own, and a GPU without a driver:
	// zero keys are left out, but a GPU's table has all three.
	r = &run.Record{ID: testID, Status: run.Running, Host: run.Host{OS: "linux", MemoryMiB: 1024, GPUs: []run.GPU{{Name: "g"}}}}
	want = `format = 1
id = "01jdq5h8r0abcdefghjkmnpqrs"
name = ""
experiment = ""
status = "running"
started = 0001-01-01T00:00:00.000Z

[source]
commit = ""
branch = ""
dirty = false

[host]
hostname = ""
user = ""
os = "linux"
arch = ""
memory_mib = 1024

[[host.gpus]]
name = "g"
memory_mib = 0
driver = ""
`
	got, err = EncodeTOML(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("EncodeTOML layout differs\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// TestEncodeTOMLWithoutNewFields checks that empty new fields leave the text
// exactly as it was before they existed.
func TestEncodeTOMLWithoutNewFields(t *testing.T) {
	for name, r := range edgeRecords() {
		if strings.HasPrefix(name, "new fields") {
			continue
		}
		want, err := EncodeTOML(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"\nsignal = ", "\nrerun_of = ", "\ndir = ", "\n[env]", "[[host.gpus]]", "\ncpu = ", "\ncpus = ", "\nmemory_mib = ", "\npython"} {
			if strings.Contains(string(want), s) {
				t.Errorf("%s: text has %q:\n%s", name, s, want)
			}
		}
		c := *r
		c.Env = map[string]string{}
		c.Host.GPUs = []run.GPU{}
		c.Host.PythonPackages = []string{}
		if got, err := EncodeTOML(&c); err != nil || string(got) != string(want) {
			t.Errorf("%s: empty new fields changed the text (%v):\n%s", name, err, got)
		}
	}
}

func TestEncodeTOMLMinimal(t *testing.T) {
	// Only the always-present parts: no optional keys, no optional tables.
	r := &run.Record{ID: testID, Status: run.Running, Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	want := `format = 1
id = "01jdq5h8r0abcdefghjkmnpqrs"
name = ""
experiment = ""
status = "running"
started = 2026-01-01T00:00:00.000Z

[source]
commit = ""
branch = ""
dirty = false

[host]
hostname = ""
user = ""
os = ""
arch = ""
`
	got, err := EncodeTOML(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestEncodeTOMLOnlyNestedParams(t *testing.T) {
	r := &run.Record{ID: testID, Status: run.Running, Params: map[string]any{"optimizer.lr": 0.1}}
	got, err := EncodeTOML(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(got), "\n[params.optimizer]\nlr = 0.1\n") || strings.Contains(string(got), "[params]") {
		t.Errorf("got:\n%s", got)
	}
}

func TestEncodeTOMLErrors(t *testing.T) {
	ok := func() *run.Record { return &run.Record{ID: testID, Status: run.Running} }
	tests := []struct {
		name string
		edit func(r *run.Record)
		want string
	}{
		{"conflict", func(r *run.Record) { r.Params = map[string]any{"a": int64(1), "a.b": int64(2), "a-c": int64(3)} }, `param "a.b" conflicts with param "a"`},
		{"deep conflict", func(r *run.Record) { r.Params = map[string]any{"x.y": int64(1), "x.y.z": int64(2)} }, `param "x.y.z" conflicts with param "x.y"`},
		{"bad id", func(r *run.Record) { r.ID = "nope" }, `invalid id "nope"`},
		{"bad status", func(r *run.Record) { r.Status = "done" }, `invalid status "done"`},
		{"int param", func(r *run.Record) { r.Params = map[string]any{"n": 3} }, `param "n": unsupported type int`},
		{"nested bad param", func(r *run.Record) { r.Params = map[string]any{"n": []any{int64(1), []string{"x"}}} }, `param "n": unsupported type []string`},
		{"nil param", func(r *run.Record) { r.Params = map[string]any{"n": nil} }, `param "n": unsupported type <nil>`},
		{"invalid utf-8 key", func(r *run.Record) { r.Tags = map[string]string{"a\xff": "x"} }, `key "a\xff" is not valid UTF-8`},
		{"year", func(r *run.Record) { r.Started = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "out of range"},
		{"bad rerun_of", func(r *run.Record) { r.RerunOf = "01jdq5h8r0" }, `invalid rerun_of "01jdq5h8r0"`},
		{"bad signal", func(r *run.Record) { r.Signal = "SIG TERM" }, `invalid signal "SIG TERM"`},
		{"signal number sign", func(r *run.Record) { r.Signal = "-9" }, `invalid signal "-9"`},
		{"invalid utf-8 env name", func(r *run.Record) { r.Env = map[string]string{"A\xff": "x"} }, `key "A\xff" is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok()
			tt.edit(r)
			_, err := EncodeTOML(r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEncodeTOMLInvalidUTF8Value(t *testing.T) {
	r := &run.Record{ID: testID, Status: run.Running, Name: "a\xffb", Tags: map[string]string{"k": "\xc3"}}
	b, err := EncodeTOML(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeTOML(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "a\uFFFDb" || got.Tags["k"] != "\uFFFD" {
		t.Errorf("got name %q, tag %q", got.Name, got.Tags["k"])
	}
}

func TestDecodeTOML(t *testing.T) {
	const head = "format = 1\nid = \"" + testID + "\"\nstatus = \"running\"\n"
	t.Run("unknown keys", func(t *testing.T) {
		r, err := DecodeTOML([]byte(head + "gpu_hours = 3\n[source]\nworktree = \"x\"\n[future]\nthing = 1\n[metrics.loss]\nlast = 1\nstep = 2\np50 = 0.5\n"))
		if err != nil {
			t.Fatal(err)
		}
		if s := r.Metrics["loss"]; s.Last != 1 || s.Step != 2 {
			t.Errorf("got %+v", s)
		}
	})
	t.Run("times", func(t *testing.T) {
		r, err := DecodeTOML([]byte(head + "started = 2026-11-26T23:52:19.123456+01:00\nended = 2026-11-26T22:53:01Z\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2026, 11, 26, 22, 52, 19, 123e6, time.UTC)
		if !reflect.DeepEqual(r.Started, want) {
			t.Errorf("started %#v, want %#v", r.Started, want)
		}
		if !reflect.DeepEqual(r.Ended, time.Date(2026, 11, 26, 22, 53, 1, 0, time.UTC)) {
			t.Errorf("ended %v", r.Ended)
		}
	})
	t.Run("new fields absent", func(t *testing.T) {
		r, err := DecodeTOML([]byte(head + "[host]\nhostname = \"h\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := run.Host{Hostname: "h"}
		if r.Signal != "" || r.RerunOf != "" || r.Env == nil || len(r.Env) != 0 || !reflect.DeepEqual(r.Host, want) {
			t.Errorf("got signal %q, rerun_of %q, env %#v, host %#v", r.Signal, r.RerunOf, r.Env, r.Host)
		}
	})
	t.Run("new fields by hand", func(t *testing.T) {
		// Written as people may write them: empty values, inline tables,
		// keys in any order.
		r, err := DecodeTOML([]byte(head + "signal = \"\"\nrerun_of = \"\"\n" +
			"[host]\npython_packages = []\ngpus = [{driver = \"1\"}, {name = \"g\", memory_mib = 2}]\ncpus = 4\n" +
			"[env]\n\"A B\" = \"x\"\nC = 'y'\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := run.Host{CPUs: 4, GPUs: []run.GPU{{Driver: "1"}, {Name: "g", MemoryMiB: 2}}}
		if r.Signal != "" || r.RerunOf != "" || !reflect.DeepEqual(r.Host, want) ||
			!reflect.DeepEqual(r.Env, map[string]string{"A B": "x", "C": "y"}) {
			t.Errorf("got signal %q, rerun_of %q, env %#v, host %#v", r.Signal, r.RerunOf, r.Env, r.Host)
		}
		r, err = DecodeTOML([]byte(head + "[host]\ngpus = []\n"))
		if err != nil || r.Host.GPUs != nil {
			t.Errorf("empty gpus: %v, %#v", err, r)
		}
	})
	t.Run("params", func(t *testing.T) {
		r, err := DecodeTOML([]byte(head + "[params]\nn = 1\n\"a.b\" = 2\nl = [1, 2.5, \"x\", [true]]\n[params.c]\nd = {e = 3}\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"n": int64(1), "a.b": int64(2), "c.d.e": int64(3),
			"l": []any{int64(1), 2.5, "x", []any{true}},
		}
		if !reflect.DeepEqual(r.Params, want) {
			t.Errorf("got %#v", r.Params)
		}
	})

	tests := []struct {
		name, text, want string
	}{
		{"newer format", "format = 2\nid = \"x\"\n", "record format 2 is newer than this git-runs understands (1)"},
		{"missing format", "id = \"" + testID + "\"\nstatus = \"running\"\n", "decode record: missing format"},
		{"zero format", "format = 0\n", "decode record: invalid format 0"},
		{"float format", "format = 1.0\n", "decode record: format is a float, not an integer"},
		{"missing id", "format = 1\nstatus = \"running\"\n", "decode record: missing id"},
		{"invalid id", "format = 1\nid = \"01JDQ5H8R0ABCDEFGHJKMNPQRS\"\nstatus = \"running\"\n", `decode record: invalid id "01JDQ5H8R0ABCDEFGHJKMNPQRS"`},
		{"missing status", "format = 1\nid = \"" + testID + "\"\n", "decode record: missing status"},
		{"invalid status", head + "status = \"x\"\n", "decode record:"},
		{"bad status", "format = 1\nid = \"" + testID + "\"\nstatus = \"done\"\n", `decode record: invalid status "done"`},
		{"syntax", "format = \n", "decode record:"},
		{"wrong type", head + "name = 3\n", "decode record: name is an integer, not a string"},
		{"wrong time", head + "started = \"today\"\n", "decode record: started is a string, not a datetime"},
		{"wrong tag", head + "[tags]\na = 1\n", `decode record: tag "a" is an integer, not a string`},
		{"wrong metric", head + "[metrics]\nloss = 1\n", `decode record: metric "loss" is an integer, not a table`},
		{"wrong count", head + "[metrics.loss]\ncount = 1.5\n", "decode record: count is a float, not an integer"},
		{"param datetime", head + "[params]\nd = 2024-01-01\n", `decode record: param "d": unsupported value of type a datetime`},
		{"param table array", head + "[[params.x]]\na = 1\n", `decode record: param "x": unsupported value of type an array of tables`},
		{"param twice", head + "[params]\n\"a.b\" = 1\na = {b = 2}\n", `decode record: param "a.b" is set twice`},
		{"param conflict", head + "[params]\n\"a.b\" = 1\n\"a.b.c\" = 2\n", `decode record: param "a.b.c" conflicts with param "a.b"`},
		{"year out of range", head + "started = 0000-01-01T00:00:00+01:00\n", "out of range"},
		{"invalid rerun_of", head + "rerun_of = \"brave-otter-42\"\n", `decode record: invalid rerun_of "brave-otter-42"`},
		{"rerun_of type", head + "rerun_of = 1\n", "decode record: rerun_of is an integer, not a string"},
		{"invalid signal", head + "signal = \"SIGTERM \"\n", `decode record: invalid signal "SIGTERM "`},
		{"signal type", head + "signal = 15\n", "decode record: signal is an integer, not a string"},
		{"env type", head + "env = \"PATH=/bin\"\n", "decode record: env is a string, not a table"},
		{"env value", head + "[env]\nN = 1\n", `decode record: env "N" is an integer, not a string`},
		{"cpus type", head + "[host]\ncpus = \"8\"\n", "decode record: cpus is a string, not an integer"},
		{"memory type", head + "[host]\nmemory_mib = 1.5\n", "decode record: memory_mib is a float, not an integer"},
		{"packages type", head + "[host]\npython_packages = [1]\n", "decode record: python_packages is an array, not an array of strings"},
		{"gpus type", head + "[host]\ngpus = 1\n", "decode record: gpus is an integer, not an array of tables"},
		{"gpus elements", head + "[host]\ngpus = [\"x\"]\n", "decode record: gpus is an array, not an array of tables"},
		{"gpu name", head + "[[host.gpus]]\nname = 1\n", "decode record: name is an integer, not a string"},
		{"gpu memory", head + "[[host.gpus]]\nmemory_mib = \"80 GiB\"\n", "decode record: memory_mib is a string, not an integer"},
		{"dir type", head + "[source]\ndir = [\"src\"]\n", "decode record: dir is an array, not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeTOML([]byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// randomString returns short strings mixing ASCII, escapes and Unicode.
func randomString(rng *rand.Rand) string {
	const pieces = "ab.Z_-/: \"\\\n\t\x00\x7f"
	runes := []rune{'ä', '學', '🦦', 'ß', '\u2028', '\uFFFD'}
	var b strings.Builder
	for n := rng.IntN(8); n > 0; n-- {
		if rng.IntN(4) == 0 {
			b.WriteRune(runes[rng.IntN(len(runes))])
		} else {
			b.WriteByte(pieces[rng.IntN(len(pieces))])
		}
	}
	return b.String()
}

func randomFloat(rng *rand.Rand) float64 {
	switch rng.IntN(8) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1 - 2*rng.IntN(2))
	case 2:
		return float64(rng.IntN(2000) - 1000)
	case 3:
		return math.Float64frombits(rng.Uint64())
	}
	return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
}

func randomValue(rng *rand.Rand, depth int) any {
	switch rng.IntN(6) {
	case 0:
		return int64(rng.Uint64())
	case 1:
		return randomFloat(rng)
	case 2:
		return rng.IntN(2) == 0
	case 3:
		return randomString(rng)
	case 4:
		if depth < 3 {
			a := make([]any, rng.IntN(4))
			for i := range a {
				a[i] = randomValue(rng, depth+1)
			}
			return a
		}
	}
	return int64(rng.IntN(100))
}

// randomRecord returns a valid record with random content: it round-trips
// through every encoding, after tomlCanonical for TOML.
func randomRecord(rng *rand.Rand) *run.Record {
	ms := rng.Int64N(253402300800000 - 1e9) // years 1970 to 9999, ended included
	r := &run.Record{
		Format:     run.Format,
		ID:         testID,
		Name:       randomString(rng),
		Experiment: randomString(rng),
		Status:     []run.Status{run.Running, run.Finished, run.Failed, run.Killed, run.Crashed}[rng.IntN(5)],
		Started:    time.UnixMilli(ms).UTC(),
		Source:     run.Source{Commit: randomString(rng), Branch: randomString(rng), Dirty: rng.IntN(2) == 0},
		Host:       run.Host{Hostname: randomString(rng), User: randomString(rng)},
	}
	if rng.IntN(2) == 0 {
		r.Ended = time.UnixMilli(ms + rng.Int64N(1e9)).UTC()
		r.ExitCode = intPtr(rng.IntN(512) - 256)
	}
	for n := rng.IntN(3); n > 0; n-- {
		r.Command = append(r.Command, randomString(rng))
		r.Source.Skipped = append(r.Source.Skipped, randomString(rng))
	}
	if rng.IntN(4) > 0 {
		r.Params = map[string]any{}
		for n := rng.IntN(12); n > 0; n-- {
			k := randomString(rng)
			if rng.IntN(3) == 0 {
				k = "t" + k + "." + randomString(rng)
			}
			if run.CheckParamShape(r.Params, k) == nil {
				r.Params[k] = randomValue(rng, 0)
			}
		}
	}
	if rng.IntN(4) > 0 {
		r.Tags = map[string]string{}
		for n := rng.IntN(6); n > 0; n-- {
			r.Tags[randomString(rng)] = randomString(rng)
		}
	}
	if rng.IntN(4) > 0 {
		r.Metrics = map[string]run.Summary{}
		for n := rng.IntN(6); n > 0; n-- {
			r.Metrics[randomString(rng)] = run.Summary{
				Last: randomFloat(rng), Step: rng.Int64N(1e6), Min: randomFloat(rng), Max: randomFloat(rng), Count: rng.Int64N(1e6),
			}
		}
	}
	// Half the records use none of the fields added with Signal and
	// Source.Dir, so that
	// the older layout stays as well covered.
	if rng.IntN(2) == 0 {
		addRandomNewFields(rng, r)
	}
	return r
}

// addRandomNewFields sets some of the fields added with Signal: signal,
// rerun_of, source.dir, env and the host details.
func addRandomNewFields(rng *rand.Rand, r *run.Record) {
	if rng.IntN(2) == 0 {
		r.Signal = []string{"SIGTERM", "SIGKILL", "SIGINT", "9", "x"}[rng.IntN(5)]
	}
	if rng.IntN(2) == 0 {
		r.RerunOf = rerunID
	}
	if rng.IntN(2) == 0 {
		r.Source.Dir = randomString(rng)
	}
	if rng.IntN(2) == 0 {
		r.Env = map[string]string{}
		for n := rng.IntN(5); n > 0; n-- {
			r.Env[randomString(rng)] = randomString(rng)
		}
	}
	h := &r.Host
	if rng.IntN(2) == 0 {
		h.CPU = randomString(rng)
	}
	if rng.IntN(2) == 0 {
		h.CPUs = rng.IntN(256) - 8
	}
	if rng.IntN(2) == 0 {
		h.MemoryMiB = int64(rng.Uint64())
	}
	for n := rng.IntN(4) - 1; n > 0; n-- {
		g := run.GPU{Name: randomString(rng), Driver: randomString(rng)}
		if rng.IntN(4) > 0 {
			g.MemoryMiB = rng.Int64N(1 << 20)
		}
		h.GPUs = append(h.GPUs, g)
	}
	if rng.IntN(2) == 0 {
		h.Python = randomString(rng)
	}
	if rng.IntN(2) == 0 {
		h.PythonExecutable = randomString(rng)
	}
	for n := rng.IntN(4) - 1; n > 0; n-- {
		h.PythonPackages = append(h.PythonPackages, randomString(rng))
	}
}

func TestTOMLRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		r := randomRecord(rng)
		b, err := EncodeTOML(r)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got, err := DecodeTOML(b)
		if err != nil {
			t.Fatalf("record %d: %v\n%s", i, err, b)
		}
		if d := recordDiff(tomlCanonical(r), got, false); d != "" {
			t.Fatalf("record %d: %s\n%s", i, d, b)
		}
	}
}

func FuzzDecodeTOML(f *testing.F) {
	for _, r := range edgeRecords() {
		b, err := EncodeTOML(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	head := "format = 1\nid = \"" + testID + "\"\nstatus = \"running\"\n"
	f.Add([]byte(head + "[params]\na = {b = {c = [1, 2.0, nan]}}\n\"a.d\" = -inf\n"))
	f.Add([]byte(head + "started = 1979-05-27T07:32:00.999999-07:00\nended = 1979-05-27T07:32:00\n"))
	f.Add([]byte(head + "[metrics.\"x\"]\nlast = -nan\nmin = 1\n"))
	f.Add([]byte(head + "signal = \"KILL\"\nrerun_of = \"" + rerunID + "\"\n[host]\ngpus = [{name = \"a\"}]\n[env]\nA = \"1\"\n"))
	f.Add([]byte(head + "[[host.gpus]]\nmemory_mib = 1\n[host]\ncpus = 2\npython_packages = [\"a==1\"]\n"))
	f.Add([]byte(hostileHead + "[params]\nx = " + strings.Repeat("{a = ", 40) + "1" + strings.Repeat("}", 40) + "\n"))
	f.Add([]byte(hostileHead + "[params" + strings.Repeat(".a", 20) + "]\nb = 1\n"))
	f.Add([]byte(hostileHead + "x = " + strings.Repeat("[{a = ", 20) + "1" + strings.Repeat("}]", 20) + "\n"))
	f.Add([]byte(hostileHead + "name = '''\n" + strings.Repeat("{", 40) + "'''\n# [[\n\"a.b\" = {c.d = [1, {e = \"]}\"}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r *run.Record
		var err error
		// Memory bounded by the input, whatever it holds.
		checkAlloc(t, "DecodeTOML", len(data), tomlAllocPerByte, func() { r, err = DecodeTOML(data) })
		if err != nil {
			if len(err.Error()) > 400 || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one short line: %q", err)
			}
			return
		}
		b, err := EncodeTOML(r)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		r2, err := DecodeTOML(b)
		if err != nil {
			t.Fatalf("encoded record does not decode: %v\n%s", err, b)
		}
		if d := recordDiff(r, r2, false); d != "" {
			t.Fatalf("decode(encode(decode(x))) differs: %s\n%s", d, b)
		}
		b2, err := EncodeTOML(r2)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("encoding is not stable (%v):\n%s\n---\n%s", err, b, b2)
		}
	})
}

func BenchmarkEncodeTOML(b *testing.B) {
	r := typicalRecord(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeTOML(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTOML(b *testing.B) {
	text, err := EncodeTOML(typicalRecord(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTOML(text); err != nil {
			b.Fatal(err)
		}
	}
}
