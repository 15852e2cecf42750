package server_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run/tracker"
	"github.com/gitruns/gitruns/server"
)

// TestBeyondLoopbackNeedsToken: the server binds to loopback unless told
// otherwise, and refuses to listen beyond it without a token.
func TestBeyondLoopbackNeedsToken(t *testing.T) {
	dir := newRepo(t)
	repo, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	tr := tracker.New(repo, tracker.Options{})
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0"} {
		if _, err := server.New(tr, server.Options{Addr: addr}); !errors.Is(err, server.ErrTokenRequired) {
			t.Errorf("listen on %s without a token: %v, want ErrTokenRequired", addr, err)
		}
	}
	if !server.Loopback("127.0.0.1") || !server.Loopback("::1") || !server.Loopback("localhost") || server.Loopback("0.0.0.0") {
		t.Error("Loopback misjudges an address")
	}
}

// TestToken: with a token, every request must carry it, as a bearer
// token or the password of basic authentication (MLflow's clients send
// either), and a request without it changes nothing.
func TestToken(t *testing.T) {
	s := startServer(t, server.Options{Token: "s3cret"})
	before := git(t, s.Dir, "for-each-ref")
	try := func(set func(*http.Request)) int {
		req, _ := http.NewRequest("POST", s.URL+"/api/2.0/mlflow/runs/create", strings.NewReader(`{"experiment_id":"0"}`))
		set(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for name, set := range map[string]func(*http.Request){
		"none":         func(*http.Request) {},
		"wrong bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") },
		"wrong basic":  func(r *http.Request) { r.SetBasicAuth("ada", "nope") },
		"empty basic":  func(r *http.Request) { r.SetBasicAuth("s3cret", "") },
	} {
		if got := try(set); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	if after := git(t, s.Dir, "for-each-ref"); after != before {
		t.Errorf("refused requests changed refs:\n%s\nthen\n%s", before, after)
	}
	if got := try(func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }); got != 200 {
		t.Errorf("bearer token: status %d", got)
	}
	if got := try(func(r *http.Request) { r.SetBasicAuth("ada", "s3cret") }); got != 200 {
		t.Errorf("basic password: status %d", got)
	}
}

// TestForeignHost: without a token, a request naming another host is
// refused, so that a web page cannot reach the server through a DNS name
// it points at 127.0.0.1.
func TestForeignHost(t *testing.T) {
	s := startServer(t, server.Options{})
	for host, want := range map[string]int{"evil.example:5000": 403, "localhost:5000": 200, "127.0.0.1": 200, "[::1]:80": 200} {
		req, _ := http.NewRequest("GET", s.URL+"/api/2.0/mlflow/experiments/get?experiment_id=0", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, res.StatusCode, want)
		}
	}
}

// TestBadRequests sends every endpoint malformed JSON, wrong types,
// oversized bodies and unknown runs: each gets one of MLflow's errors,
// never an internal error, and nothing changes.
func TestBadRequests(t *testing.T) {
	s := startServer(t, server.Options{})
	id := s.createRun("0", "target")
	s.api(200, "POST", "runs/log-metric", map[string]any{"run_id": id, "key": "m", "value": 1, "timestamp": 1, "step": 0})
	before := git(t, s.Dir, "for-each-ref")
	routes := []string{
		"experiments/create", "experiments/search", "experiments/update", "experiments/delete",
		"experiments/restore", "experiments/set-experiment-tag", "experiments/delete-experiment-tag",
		"runs/create", "runs/update", "runs/delete", "runs/restore", "runs/search", "runs/log-metric",
		"runs/log-parameter", "runs/log-batch", "runs/set-tag", "runs/delete-tag", "runs/log-inputs",
		"runs/outputs", "runs/log-model", "logged-models", "logged-models/search",
	}
	huge := `{"run_id":"` + id + `","key":"k","value":"` + strings.Repeat("x", 2<<20) + `"}`
	bodies := []string{
		`{`, `[]`, `null`, `"text"`, `{"run_id": 5}`, `{"experiment_id": ["0"]}`, `{"run_id": "` + id + `", "key": 7}`,
		`{"run_id": "no/such", "key": "k", "value": 1, "timestamp": 1}`, `{"name": {"x": 1}}`,
		`{"run_id": "` + id + `", "metrics": "all"}`, `{"max_results": "many"}`, `{"max_results": 1e300}`,
		`{"run_id": "` + id + `", "key": "a\u0000b", "value": "v"}`, `{"run_id": "` + id + `", "key": "../../x", "value": 1, "timestamp": 1}`,
		huge,
	}
	for _, route := range routes {
		for _, body := range bodies {
			r := s.do("POST", "/api/2.0/mlflow/"+route, body)
			code := r.Str("error_code")
			if r.Status >= 500 || (r.Status != 200 && code == "") {
				label := body
				if len(label) > 60 {
					label = label[:60] + "…"
				}
				t.Errorf("%s %s: status %d, %s", route, label, r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), "\n") && r.Status != 200 {
				t.Errorf("%s: error of more than one line: %s", route, r.Body)
			}
		}
	}
	r := s.do("POST", "/api/2.0/mlflow/runs/log-parameter", huge)
	if r.Status != 400 || r.Str("error_code") != "INVALID_PARAMETER_VALUE" {
		t.Errorf("oversized body: %d %s", r.Status, r.Body)
	}
	hist := s.api(200, "GET", "metrics/get-history?run_id="+id+"&metric_key=m", nil)
	if n := len(hist.JSON["metrics"].([]any)); n != 1 {
		t.Errorf("bad requests changed the run: %d points of m", n)
	}
	if after := git(t, s.Dir, "for-each-ref"); after != before {
		t.Errorf("bad requests changed refs:\n%s\nthen\n%s", before, after)
	}
}

// TestBatchLimits: MLflow's limits on one log-batch, and an over-limit
// batch writes nothing.
func TestBatchLimits(t *testing.T) {
	s := startServer(t, server.Options{})
	id := s.createRun("0", "limits")
	metrics := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"key": "m", "value": i, "timestamp": 1, "step": i}
		}
		return out
	}
	kvs := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"key": "k" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + strings.Repeat("y", i/26), "value": "v"}
		}
		return out
	}
	for name, body := range map[string]map[string]any{
		"1001 metrics":        {"run_id": id, "metrics": metrics(1001)},
		"101 params":          {"run_id": id, "params": kvs(101)},
		"101 tags":            {"run_id": id, "tags": kvs(101)},
		"1001 in total":       {"run_id": id, "metrics": metrics(901), "params": kvs(50), "tags": kvs(51)},
		"a key of 251 chars":  {"run_id": id, "params": []map[string]any{{"key": strings.Repeat("k", 251), "value": "v"}}},
		"a param of 6001":     {"run_id": id, "params": []map[string]any{{"key": "p", "value": strings.Repeat("v", 6001)}}},
		"one param, 2 values": {"run_id": id, "params": []map[string]any{{"key": "p", "value": "1"}, {"key": "p", "value": "2"}}},
	} {
		r := s.do("POST", "/api/2.0/mlflow/runs/log-batch", body)
		if r.Status != 400 || r.Str("error_code") != "INVALID_PARAMETER_VALUE" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	s.api(200, "POST", "runs/log-batch", map[string]any{"run_id": id, "metrics": metrics(1000)})
	hist := s.api(200, "GET", "metrics/get-history?run_id="+id+"&metric_key=m", nil)
	if n := len(hist.JSON["metrics"].([]any)); n != 1000 {
		t.Errorf("%d points after the refused batches and one of 1,000", n)
	}
	run := s.api(200, "GET", "runs/get?run_id="+id, nil)
	if params := run.JSON["run"].(map[string]any)["data"].(map[string]any)["params"].([]any); len(params) != 0 {
		t.Errorf("refused batches left params: %v", params)
	}
}
