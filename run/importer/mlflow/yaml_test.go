package mlflow

import (
	"strings"
	"testing"
)

func TestParseMeta(t *testing.T) {
	m, err := parseMeta([]byte(`artifact_uri: file:///home/ada/mlruns/0/abc/artifacts
deleted_time: null
end_time: 1700000060000
entry_point_name: ''
experiment_id: '0'
lifecycle_stage: active
run_name: it's here
note: 'it''s: quoted'
dq: "tab\there \u00e9 \"q\" \\"
long: a name that PyYAML folded
  onto the next line
tags: []
old_tags:
- key: a
  value: b
user_id: ada # a comment
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"artifact_uri": "file:///home/ada/mlruns/0/abc/artifacts", "end_time": "1700000060000",
		"entry_point_name": "", "experiment_id": "0", "lifecycle_stage": "active",
		"run_name": "it's here", "note": "it's: quoted", "dq": "tab\there é \"q\" \\",
		"long": "a name that PyYAML folded onto the next line", "user_id": "ada",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	for _, k := range []string{"deleted_time", "tags", "old_tags"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s is there: %q", k, m[k])
		}
	}
	if len(m) != len(want) {
		t.Errorf("%d keys, want %d: %v", len(m), len(want), m)
	}
}

// TestParseMetaHostile: what is not MLflow's meta.yaml is an error
// naming the line, never a guess, a panic or a long wait.
func TestParseMetaHostile(t *testing.T) {
	for _, in := range []string{
		"{{{ this is not: yaml",
		"\x00\x01\x02",
		"key: 'unterminated",
		"key: \"unterminated",
		"key: \"bad \\q escape\"",
		"key: \"short \\u12\"",
		"key: &anchor value",
		"key: *alias",
		"key: !!python/object:os.system ls",
		"key: |\n  block",
		" indented: first",
		"- a list",
		"Key: capital",
		"a: 1\na: 2",
		"no colon here",
		"key:value",
		"\xff\xfe: x",
		"key: 'a' 'b'",
		strings.Repeat("k: v\n", 20000),
	} {
		if m, err := parseMeta([]byte(in)); err == nil {
			t.Errorf("parseMeta(%.40q) = %v, want an error", in, m)
		}
	}
}

func FuzzParseMeta(f *testing.F) {
	f.Add([]byte("name: x\nexperiment_id: '1'\n"))
	f.Add([]byte("a: \"\\u00e9\\x41\"\nb: 'it''s'\nc:\n  - d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMeta(data)
		if err == nil && len(m) > len(data) {
			t.Fatalf("%d keys from %d bytes", len(m), len(data))
		}
	})
}

func TestParsePoint(t *testing.T) {
	for in, ok := range map[string]bool{
		"1700000000000 0.5 3": true, "1700000000000 nan 0": true, "1700000000000 -inf 1": true,
		"1700000000000 1e-05": true, "1700000000000 0.5 3 4": false, "x 0.5 3": false,
		"1700000000000 0x10 3": false, "1700000000000 0.5 3.5": false, "1700000000000  0.5": false,
		"1700000000000 1_000 1": false, "1700000000000": false,
	} {
		if _, err := parsePoint([]byte(in)); (err == nil) != ok {
			t.Errorf("parsePoint(%q): error %v, want ok %v", in, err, ok)
		}
	}
}
