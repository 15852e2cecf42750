package server_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/gitruns/gitruns/server"
)

// TestFixtures replays testdata/api/*.txt: conversations with the server
// written from MLflow's protocol definitions (service.proto,
// mlflow_artifacts.proto). Each file is a txtar archive of exchanges: a
// section named "METHOD /path" holding the request body, then a section
// named by the status expected, holding the JSON answer expected.
//
// In an expected answer, objects must have exactly the keys given, arrays
// exactly the items given, in order, and:
//
//	"<any>"      matches any value
//	"<number>"   matches any number
//	"<$NAME>"    matches any string, kept as $NAME for what follows
//	"$NAME"      matches the string kept as $NAME
//
// $NAME in a request (path or body) is replaced by the value kept. A
// request body is sent without its surrounding white space.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "api", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/api: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			a, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			replay(t, startServer(t, server.Options{}), a)
		})
	}
}

func replay(t *testing.T, s *testServer, a *txtar.Archive) {
	vars := map[string]string{}
	if len(a.Files)%2 != 0 {
		t.Fatalf("fixture has %d sections: want pairs of request and answer", len(a.Files))
	}
	for i := 0; i < len(a.Files); i += 2 {
		req, want := a.Files[i], a.Files[i+1]
		method, path, ok := strings.Cut(expand(req.Name, vars), " ")
		if !ok {
			t.Fatalf("section %q: want METHOD /path", req.Name)
		}
		status, err := strconv.Atoi(want.Name)
		if err != nil {
			t.Fatalf("section %q after %q: want a status", want.Name, req.Name)
		}
		var body any
		if b := strings.TrimSpace(string(req.Data)); b != "" {
			body = expand(b, vars)
		}
		res := s.do(method, path, body)
		if res.Status != status {
			t.Fatalf("%s %s: status %d, want %d\n%s", method, path, res.Status, status, res.Body)
		}
		if strings.TrimSpace(string(want.Data)) == "" {
			continue
		}
		var exp any
		if err := json.Unmarshal(want.Data, &exp); err != nil {
			t.Fatalf("expected answer of %s %s is not JSON: %v", method, path, err)
		}
		var got any
		if err := json.Unmarshal(res.Body, &got); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, res.Body)
		}
		capture(exp, got, vars)
		if err := match(exp, got, "", vars); err != nil {
			t.Fatalf("%s %s: %v\nanswer: %s", method, path, err, res.Body)
		}
	}
}

var varPattern = regexp.MustCompile(`\$[A-Z][A-Z0-9_]*`)

func expand(s string, vars map[string]string) string {
	return varPattern.ReplaceAllStringFunc(s, func(v string) string {
		if x, ok := vars[v]; ok {
			return x
		}
		return v
	})
}

// capture keeps what the "<$NAME>" of want match in got, before match
// checks the rest, which may use them wherever they stand.
func capture(want, got any, vars map[string]string) {
	switch w := want.(type) {
	case string:
		if g, ok := got.(string); ok && strings.HasPrefix(w, "<$") && strings.HasSuffix(w, ">") {
			vars[w[1:len(w)-1]] = g
		}
	case map[string]any:
		if g, ok := got.(map[string]any); ok {
			for k, v := range w {
				capture(v, g[k], vars)
			}
		}
	case []any:
		if g, ok := got.([]any); ok {
			for i := range min(len(w), len(g)) {
				capture(w[i], g[i], vars)
			}
		}
	}
}

// match checks got against the pattern want, keeping what "<$NAME>"
// captures in vars.
func match(want, got any, at string, vars map[string]string) error {
	if s, ok := want.(string); ok {
		switch {
		case s == "<any>":
			return nil
		case s == "<number>":
			if _, ok := got.(float64); !ok {
				return fmt.Errorf("at %s: got %v, want a number", at, got)
			}
			return nil
		case strings.HasPrefix(s, "<$") && strings.HasSuffix(s, ">"):
			g, ok := got.(string)
			if !ok || g == "" {
				return fmt.Errorf("at %s: got %v, want a string to keep as %s", at, got, s[1:len(s)-1])
			}
			vars[s[1:len(s)-1]] = g
			return nil
		}
		want = expand(s, vars)
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("at %s: got %v, want an object", at, got)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Errorf("at %s: unexpected key %q", at, k)
			}
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("at %s: missing key %q", at, k)
			}
			if err := match(w[k], gv, at+"."+k, vars); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("at %s: got %v, want %d items", at, got, len(w))
		}
		for i := range w {
			if err := match(w[i], g[i], fmt.Sprintf("%s[%d]", at, i), vars); err != nil {
				return err
			}
		}
		return nil
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Errorf("at %s: got %v, want %v", at, got, want)
	}
	return nil
}
