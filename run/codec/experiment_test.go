package codec

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

func exampleExperiment() *run.Experiment {
	return &run.Experiment{
		ID:      "348211746031837561",
		Name:    "/Users/ada/churn model",
		Former:  []string{"churn"},
		Tags:    map[string]string{"mlflow.note.content": "two\nlines", "team": "growth"},
		Created: time.Date(2026, 11, 26, 22, 52, 19, 123e6, time.UTC),
		Updated: time.Date(2026, 11, 27, 8, 1, 2, 3e6, time.UTC),
	}
}

func TestEncodeExperimentLayout(t *testing.T) {
	b, err := EncodeExperiment(exampleExperiment())
	if err != nil {
		t.Fatal(err)
	}
	want := `format = 1
id = "348211746031837561"
name = "/Users/ada/churn model"
former = ["churn"]
created = 2026-11-26T22:52:19.123Z
updated = 2026-11-27T08:01:02.003Z
deleted = false

[tags]
"mlflow.note.content" = "two\nlines"
team = "growth"
`
	if string(b) != want {
		t.Errorf("encoded\n%s\nwant\n%s", b, want)
	}
}

func TestExperimentRoundTrip(t *testing.T) {
	for _, e := range []*run.Experiment{
		exampleExperiment(),
		{ID: "0", Name: "Default", Former: []string{"default"}, Deleted: true, Tags: map[string]string{}},
	} {
		b, err := EncodeExperiment(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeExperiment(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("read back %+v, want %+v", got, e)
		}
	}
}

func TestDecodeExperimentIgnoresUnknownKeys(t *testing.T) {
	text := `format = 1
id = "7"
name = "x"
artifact_location = "s3://somewhere"
[tags]
a = "b"
[later]
what = 3
`
	e, err := DecodeExperiment([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "7" || e.Name != "x" || e.Tags["a"] != "b" || e.Deleted || !e.Created.IsZero() {
		t.Errorf("decoded %+v", e)
	}
}

func TestDecodeExperimentRefuses(t *testing.T) {
	head := "format = 1\nid = \"7\"\nname = \"x\"\n"
	for _, tc := range []struct{ text, want string }{
		{"id = \"7\"\nname = \"x\"\n", "missing format"},
		{"format = 2\nid = \"7\"\nname = \"x\"\n", "newer than"},
		{"format = 1\nname = \"x\"\n", "missing id"},
		{"format = 1\nid = \"07\"\nname = \"x\"\n", "invalid id"},
		{"format = 1\nid = \"1234567890123456789\"\nname = \"x\"\n", "invalid id"},
		{"format = 1\nid = \"7\"\n", "missing name"},
		{"format = 1\nid = \"7\"\nname = \"a\\nb\"\n", "newline is not allowed"},
		{"format = 1\nid = \"7\"\nname = \"" + strings.Repeat("n", 251) + "\"\n", "longer than 250 bytes"},
		{head + "former = [\"ok\", \"\"]\n", "former name"},
		{head + "former = \"x\"\n", "former is a string, not an array"},
		{head + "deleted = \"yes\"\n", "deleted is a string"},
		{head + "created = 12\n", "created is an integer"},
		{head + "[tags]\na = 1\n", "not a string"},
		{head + "[tags]\n\"a\\u0007\" = \"x\"\n", "control character"},
		{head + "[tags]\n\"" + strings.Repeat("k", 251) + "\" = \"x\"\n", "longer than 250"},
		{head + "x = " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n", "values nest deeper"},
		{head + "[" + strings.Repeat("a.", 40) + "a]\n", "keys nest deeper"},
		{head + "x = \"" + strings.Repeat("y", run.MaxExperimentSize) + "\"\n", "more than 65536"},
		{head + "name = \"dup\"\n", "decode experiment"},
		{head + "z = \"\n" + strings.Repeat("\x01", 1000), "decode experiment"},
	} {
		_, err := DecodeExperiment([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decode %.60q: error %v, want one saying %q", tc.text, err, tc.want)
			continue
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || len(msg) > 400 {
			t.Errorf("decode %.60q: error is not one short line: %q", tc.text, msg)
		}
	}
}

func TestEncodeExperimentRefuses(t *testing.T) {
	for _, edit := range []func(*run.Experiment){
		func(e *run.Experiment) { e.ID = "" },
		func(e *run.Experiment) { e.ID = "x1" },
		func(e *run.Experiment) { e.Name = "" },
		func(e *run.Experiment) { e.Name = "a\tb" },
		func(e *run.Experiment) { e.Former = []string{"ok", "a\nb"} },
		func(e *run.Experiment) { e.Tags[""] = "x" },
		func(e *run.Experiment) { e.Tags["\xff"] = "x" },
		func(e *run.Experiment) { e.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(e *run.Experiment) { e.Tags["big"] = strings.Repeat("x", run.MaxExperimentSize) },
	} {
		e := exampleExperiment()
		edit(e)
		if b, err := EncodeExperiment(e); err == nil {
			t.Errorf("encoded %+v as\n%s", e, b)
		}
	}
}

func FuzzDecodeExperiment(f *testing.F) {
	b, _ := EncodeExperiment(exampleExperiment())
	f.Add(b)
	f.Add([]byte("format = 1\nid = \"0\"\nname = \"Default\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeExperiment(b)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error of more than one line: %q", err)
			}
			return
		}
		again, err := EncodeExperiment(e)
		if err != nil {
			t.Fatalf("what was read cannot be written: %v", err)
		}
		e2, err := DecodeExperiment(again)
		if err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("read back %+v, %v; want %+v", e2, err, e)
		}
	})
}
