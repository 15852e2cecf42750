package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestLifecycle runs testdata/lifecycle/*.txt: a sweep under exec whose
// trials are runs of their own (the Python package, run by the python3 on
// PATH as a user's would be), and metrics, tags and artifacts added to
// runs that have ended, each a terminal session against the real binary,
// with git as referee.
func TestLifecycle(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("needs python3 on PATH")
	}
	pkg, err := filepath.Abs(filepath.Join("..", "..", "python"))
	if err != nil {
		t.Fatal(err)
	}
	p := scriptParams(filepath.Join("testdata", "lifecycle"))
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		env.Setenv("PYTHONPATH", pkg)
		env.Setenv("PYTHONDONTWRITEBYTECODE", "1")
		return setup(env)
	}
	p.Cmds["jsonget"] = cmdJSONGet
	p.Cmds["jsonis"] = cmdJSONIs
	p.Cmds["capturere"] = cmdCaptureRE
	testscript.Run(t, p)
}

// jsonAt returns the value at path in the JSON of the last command's
// standard output: keys and array indexes separated by /, with ~1 for a
// / within a key and ~0 for ~ (as JSON pointers write them), "length" last
// for the length of an array or object.
func jsonAt(ts *testscript.TestScript, path string) any {
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &v); err != nil {
		ts.Fatalf("stdout is not JSON: %v", err)
	}
	for _, seg := range strings.Split(path, "/") {
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		switch x := v.(type) {
		case []any:
			if seg == "length" {
				return float64(len(x))
			}
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("%s: no element %q in an array of %d", path, seg, len(x))
			}
			v = x[i]
		case map[string]any:
			if seg == "length" {
				return float64(len(x))
			}
			var ok bool
			if v, ok = x[seg]; !ok {
				ts.Fatalf("%s: no key %q", path, seg)
			}
		default:
			ts.Fatalf("%s: %q is below a %T", path, seg, v)
		}
	}
	return v
}

// jsonText is a JSON value as the commands below compare it: a string as
// it is, anything else as compact JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// cmdJSONGet sets VAR to the value at PATH of the last standard output:
// "jsonget 0/id ID".
func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonget PATH VAR")
	}
	ts.Setenv(args[1], jsonText(jsonAt(ts, args[0])))
}

// cmdJSONIs fails unless the value at PATH of the last standard output is
// WANT: "jsonis 0/status finished", "jsonis length 3".
func cmdJSONIs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonis PATH WANT")
	}
	got := jsonText(jsonAt(ts, args[0]))
	if (got == args[1]) == neg {
		ts.Fatalf("%s is %s, want %s%s", args[0], got, map[bool]string{true: "other than "}[neg], args[1])
	}
}

// cmdCaptureRE sets VAR to the first group of REGEX's first match in the
// last standard output: "capturere ID '^(\w+) +sweep '".
func cmdCaptureRE(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capturere VAR REGEX")
	}
	m := regexp.MustCompile("(?m)" + args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("no match of %s in stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
}
