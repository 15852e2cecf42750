package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/server"
)

// uiRuns is what /ui/api/runs answers, in part.
type uiRuns struct {
	Total   int      `json:"total"`
	Offset  int      `json:"offset"`
	Params  []string `json:"params"`
	Metrics []string `json:"metrics"`
	Runs    []struct {
		ID      string         `json:"id"`
		Name    string         `json:"name"`
		Status  string         `json:"status"`
		Params  map[string]any `json:"params"`
		Live    bool           `json:"live"`
		Parent  *struct{ ID, Name string }
		Metrics map[string]struct {
			Last float64 `json:"last"`
		} `json:"metrics"`
	} `json:"runs"`
}

func (s *testServer) ui(status int, path string, v any) {
	s.t.Helper()
	r := s.do("GET", "/ui/api/"+path, nil)
	if r.Status != status {
		s.t.Fatalf("GET /ui/api/%s: status %d, want %d\n%s", path, r.Status, status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			s.t.Fatalf("GET /ui/api/%s: %v\n%s", path, err, r.Body)
		}
	}
}

// logRuns records n finished runs over MLflow's API, run i with param lr
// and a loss history of steps points, and returns their ids, oldest first.
func logRuns(s *testServer, n, steps int) []string {
	var ids []string
	for i := 0; i < n; i++ {
		id := s.createRun("0", fmt.Sprintf("run-%d", i))
		var ms []map[string]any
		for st := 0; st < steps; st++ {
			ms = append(ms, map[string]any{"key": "loss", "value": float64(i) + 1/float64(st+1), "timestamp": 1700000000000 + st, "step": st})
		}
		for len(ms) > 0 {
			n := min(len(ms), 500)
			s.api(200, "POST", "runs/log-batch", map[string]any{"run_id": id, "metrics": ms[:n]})
			ms = ms[n:]
		}
		s.api(200, "POST", "runs/log-batch", map[string]any{"run_id": id,
			"params": []map[string]string{{"key": "lr", "value": []string{"0.1", "0.01"}[i%2]}, {"key": "seed", "value": "7"}}})
		s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
		ids = append(ids, id)
	}
	return ids
}

// TestUIRunsTable: the table's rows are the query's, sorted and paged on
// the server, the same records git runs ls --json gives, and the columns
// that differ between the runs come first.
func TestUIRunsTable(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logRuns(s, 5, 3)
	var all uiRuns
	s.ui(200, "runs", &all)
	var cliRuns []struct {
		ID     string         `json:"id"`
		Name   string         `json:"name"`
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal([]byte(cli(t, s.Dir, "ls", "--json")), &cliRuns); err != nil {
		t.Fatal(err)
	}
	if all.Total != 5 || len(all.Runs) != 5 || len(cliRuns) != 5 {
		t.Fatalf("table of %d (%d rows), CLI %d", all.Total, len(all.Runs), len(cliRuns))
	}
	for i := range cliRuns {
		if all.Runs[i].ID != cliRuns[i].ID || all.Runs[i].Name != cliRuns[i].Name || fmt.Sprint(all.Runs[i].Params) != fmt.Sprint(cliRuns[i].Params) {
			t.Errorf("row %d: %+v, CLI %+v", i, all.Runs[i], cliRuns[i])
		}
	}
	if len(all.Params) != 2 || all.Params[0] != "lr" || all.Params[1] != "seed" {
		t.Errorf("param columns %v: want lr (differs) before seed", all.Params)
	}
	var page uiRuns
	s.ui(200, "runs?"+url.Values{"where": {"params.lr = 0.1"}, "sort": {"metrics.loss"}, "desc": {"1"}, "offset": {"1"}, "limit": {"1"}}.Encode(), &page)
	if page.Total != 3 || len(page.Runs) != 1 || page.Runs[0].ID != ids[2] {
		t.Errorf("filtered, sorted page: total %d, %+v; want run-2", page.Total, page.Runs)
	}
	s.ui(400, "runs?where="+url.QueryEscape("metrics.loss >"), nil)
	s.ui(400, "runs?limit=0", nil)
}

// TestUIHistory: a chart's series are condensed on the server into at
// most width buckets that keep min, max and last; a zoom gives finer ones.
func TestUIHistory(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logRuns(s, 2, 1000)
	var h struct {
		Series []struct {
			Run    string     `json:"run"`
			X      []float64  `json:"x"`
			Min    []*float64 `json:"min"`
			Max    []*float64 `json:"max"`
			Last   []*float64 `json:"last"`
			Points int        `json:"points"`
		} `json:"series"`
	}
	s.ui(200, "history?"+url.Values{"run": ids, "key": {"loss"}, "width": {"100"}}.Encode(), &h)
	if len(h.Series) != 2 {
		t.Fatalf("%d series", len(h.Series))
	}
	for i, se := range h.Series {
		n := len(se.X)
		if se.Run != ids[i] || n != 100 || se.Points != 1000 || se.X[n-1] != 999 {
			t.Errorf("series %d: run %s, %d buckets of %d points, last x %v", i, se.Run, n, se.Points, se.X[n-1])
		}
		if *se.Max[0] != float64(i)+1 || *se.Last[n-1] != float64(i)+1.0/1000 {
			t.Errorf("series %d: first max %v, last %v", i, *se.Max[0], *se.Last[n-1])
		}
	}
	s.ui(200, "history?"+url.Values{"run": ids[:1], "key": {"loss"}, "width": {"100"}, "from": {"10"}, "to": {"19"}}.Encode(), &h)
	if len(h.Series[0].X) != 10 || h.Series[0].X[0] != 10 {
		t.Errorf("zoomed: %v", h.Series[0].X)
	}
	var lastOnly struct {
		Series []map[string]any `json:"series"`
	}
	s.ui(200, "history?"+url.Values{"run": ids[:1], "key": {"loss"}, "width": {"100"}, "fields": {"last"}}.Encode(), &lastOnly)
	if se := lastOnly.Series[0]; se["min"] != nil || se["count"] != nil || len(se["last"].([]any)) != 100 {
		t.Errorf("fields=last: %v", se)
	}
	s.ui(400, "history?key=loss", nil)
	s.ui(400, "history?run="+ids[0]+"&key=loss&x=sideways", nil)
	s.ui(404, "history?run=nosuchrun&key=loss", nil)
}

// TestUIGroupsAndRun: groups by a param with a metric's mean; one run with
// its artifacts and children; the output and diff of runs.
func TestUIGroupsAndRun(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logRuns(s, 4, 2)
	var g struct {
		Groups []struct {
			Value string   `json:"value"`
			Runs  []string `json:"runs"`
			N     int      `json:"n"`
			Mean  float64  `json:"mean"`
		} `json:"groups"`
	}
	s.ui(200, "groups?by=params.lr&metric=loss", &g)
	if len(g.Groups) != 2 || g.Groups[0].N != 2 || g.Groups[0].Value != "0.01" || g.Groups[0].Mean != 2.5 {
		t.Errorf("groups: %+v", g.Groups)
	}
	var one struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Artifacts []any  `json:"artifacts"`
	}
	s.ui(200, "runs/"+ids[1], &one)
	if one.ID != ids[1] || one.Name != "run-1" {
		t.Errorf("run: %+v", one)
	}
	s.ui(200, "runs/run-2", &one)
	if one.ID != ids[2] {
		t.Errorf("run by name: %+v", one)
	}
	s.ui(404, "runs/nosuchrun", nil)
	var d struct {
		Diff struct{ Params []any } `json:"diff"`
	}
	s.ui(200, "diff?a="+ids[0]+"&b="+ids[1], &d)
	if len(d.Diff.Params) != 1 {
		t.Errorf("diff of params lr: %+v", d.Diff)
	}
	r := s.do("POST", "/ui/api/runs", "{}")
	if r.Status != 405 {
		t.Errorf("POST to the UI's API: %d", r.Status)
	}
}

// TestUIHostileRecord: what a teammate's push holds comes back as JSON
// strings, never as markup the API itself writes.
func TestUIHostileRecord(t *testing.T) {
	s := startServer(t, server.Options{})
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>` + "\x1b[31m"
	id := s.api(200, "POST", "runs/create", map[string]any{"experiment_id": "0",
		"tags": []map[string]string{{"key": "note", "value": evil}}}).Str("run.info.run_id")
	s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	r := s.do("GET", "/ui/api/runs/"+id, nil)
	if r.JSON == nil {
		t.Fatalf("not JSON: %s", r.Body)
	}
	if strings.Contains(string(r.Body), "<") {
		t.Errorf("a '<' reached the answer unescaped: %s", r.Body)
	}
	var got struct {
		Tags map[string]string `json:"tags"`
	}
	json.Unmarshal(r.Body, &got)
	if got.Tags["note"] != evil {
		t.Errorf("tag came back as %q", got.Tags["note"])
	}
}

// TestUIConcurrent: one listing of runs serves many requests at once (the
// table's pages, MLflow's searches by experiment, runs with parents):
// under -race, nothing it builds on first use is built twice at once.
func TestUIConcurrent(t *testing.T) {
	s := startServer(t, server.Options{})
	parent := s.createRun("0", "parent")
	s.api(200, "POST", "runs/create", map[string]any{"experiment_id": "0", "run_name": "child",
		"tags": []map[string]string{{"key": "mlflow.parentRunId", "value": parent}}})
	done := make(chan response, 16)
	for i := 0; i < 16; i++ {
		go func() {
			if i%2 == 0 {
				done <- s.do("GET", "/ui/api/runs", nil)
			} else {
				done <- s.do("POST", "/api/2.0/mlflow/runs/search", map[string]any{"experiment_ids": []string{"0"}})
			}
		}()
	}
	for i := 0; i < 16; i++ {
		if r := <-done; r.Status != 200 {
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	}
}

// TestUITableCells: the table's cells are the values of query keys, as
// --sort reads them; the columns that differ come by default; every param
// and metric with col=*; record=0 leaves the records out; a bad key is
// refused with its error.
func TestUITableCells(t *testing.T) {
	s := startServer(t, server.Options{})
	logRuns(s, 3, 4)
	type answer struct {
		Cols []string `json:"cols"`
		Tags []string `json:"tags"`
		Runs []struct {
			Name   string         `json:"name"`
			Params map[string]any `json:"params"`
			Cells  []any          `json:"cells"`
		} `json:"runs"`
	}
	var res answer
	s.ui(200, "runs", &res)
	if fmt.Sprint(res.Cols) != "[params.lr metrics.loss]" {
		t.Errorf("default columns %v: want those that differ", res.Cols)
	}
	if got := fmt.Sprint(res.Runs[0].Cells); got != "[0.1 2.25]" {
		t.Errorf("newest run's default cells %s", got)
	}
	res = answer{}
	s.ui(200, "runs?"+url.Values{"col": {"metrics.loss.min", "metrics.loss.max", "params.seed", "tags.none", "attributes.status"}, "record": {"0"}, "columns": {"0"}}.Encode(), &res)
	if got := fmt.Sprint(res.Runs[2].Cells); got != "[0.25 1 7 <nil> finished]" {
		t.Errorf("oldest run's cells %s", got)
	}
	if res.Runs[2].Name != "run-0" || res.Runs[2].Params != nil || res.Cols != nil {
		t.Errorf("record=0, columns=0: %+v, cols %v", res.Runs[2], res.Cols)
	}
	res = answer{}
	s.ui(200, "runs?col=*&cells=1", &res)
	if fmt.Sprint(res.Cols) != "[params.lr params.seed metrics.loss]" || len(res.Runs[0].Cells) != 1 {
		t.Errorf("col=*: %v, cells of the first %v", res.Cols, res.Runs[0].Cells)
	}
	// The key lists are kept per listing: a new run's new param shows.
	id := s.createRun("0", "extra")
	s.api(200, "POST", "runs/log-parameter", map[string]any{"run_id": id, "key": "extra", "value": "1"})
	var keys struct {
		Params []string `json:"params"`
	}
	s.ui(200, "runs", &keys)
	if fmt.Sprint(keys.Params) != "[extra lr seed]" {
		t.Errorf("params after a run with a new one: %v", keys.Params)
	}
	r := s.do("GET", "/ui/api/runs?col="+url.QueryEscape("metrics.loss >"), nil)
	if r.Status != 400 || !strings.Contains(string(r.Body), "read column") {
		t.Errorf("a bad column: %d %s", r.Status, r.Body)
	}
}

// logScheduled records n finished runs over MLflow's API: run i has
// params lr (0.1 or 0.01, in turn) and seed 7, and steps points of loss
// i + 1/(st+1) and of an lr schedule 1/(st+1) that falls as steps go, so
// that loss against lr runs in lr's order. It returns their ids, oldest
// first.
func logScheduled(s *testServer, n, steps int) []string {
	var ids []string
	for i := range n {
		id := s.createRun("0", fmt.Sprintf("run-%d", i))
		var ms []map[string]any
		for st := 0; st < steps; st++ {
			ms = append(ms, map[string]any{"key": "loss", "value": float64(i) + 1/float64(st+1), "timestamp": 1700000000000 + st, "step": st},
				map[string]any{"key": "lr_now", "value": 1 / float64(st+1), "timestamp": 1700000000000 + st, "step": st})
		}
		s.api(200, "POST", "runs/log-batch", map[string]any{"run_id": id, "metrics": ms,
			"params": []map[string]string{{"key": "lr", "value": []string{"0.1", "0.01"}[i%2]}, {"key": "seed", "value": "7"}}})
		s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
		ids = append(ids, id)
	}
	return ids
}

// TestUIHistoryAgainstAndGroups: a chart with another metric as its x
// axis, and runs grouped by a param into a mean with its spread.
func TestUIHistoryAgainstAndGroups(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logScheduled(s, 4, 5)
	var h struct {
		Series []struct {
			X    []float64 `json:"x"`
			Last []float64 `json:"last"`
		} `json:"series"`
	}
	s.ui(200, "history?"+url.Values{"run": ids[:1], "key": {"loss"}, "x": {"metrics.lr_now"}}.Encode(), &h)
	// run-0: loss 1/(st+1) at lr 1/(st+1): the same numbers, in x order.
	if got := fmt.Sprint(h.Series[0].X, h.Series[0].Last); got != "[0.2 0.25 0.3333333333333333 0.5 1] [0.2 0.25 0.3333333333333333 0.5 1]" {
		t.Errorf("loss against lr: %s", got)
	}
	s.ui(400, "history?"+url.Values{"run": ids[:1], "key": {"loss"}, "x": {"params.lr"}}.Encode(), nil)

	var g struct {
		Group  string `json:"group"`
		Groups []struct {
			Value string    `json:"value"`
			Runs  []string  `json:"runs"`
			X     []float64 `json:"x"`
			Mean  []float64 `json:"mean"`
			Std   []float64 `json:"std"`
			Min   []float64 `json:"min"`
			Max   []float64 `json:"max"`
			N     []float64 `json:"n"`
		} `json:"groups"`
	}
	s.ui(200, "history?"+url.Values{"run": ids, "key": {"loss"}, "group": {"params.lr"}, "width": {"100"}}.Encode(), &g)
	if g.Group != "params.lr" || len(g.Groups) != 2 {
		t.Fatalf("groups: %+v", g)
	}
	// lr 0.1 is runs 0 and 2: loss i + 1/(st+1), so at step 0 the mean
	// of 1 and 3 is 2, spread 1, range 1 to 3.
	a := g.Groups[0]
	if a.Value != "0.1" || len(a.Runs) != 2 || len(a.X) != 5 || a.X[0] != 0 || a.Mean[0] != 2 || a.Std[0] != 1 || a.Min[0] != 1 || a.Max[0] != 3 || a.N[0] != 2 {
		t.Errorf("group lr=0.1: %+v", a)
	}
	s.ui(400, "history?"+url.Values{"run": ids, "key": {"loss"}, "group": {"params."}}.Encode(), nil)
}

// TestUIPageFiles: the page names its files by their content's hash, and
// those are kept by the browser for good; the scripts come as one file;
// a file asked for by an old hash is served fresh, not kept.
func TestUIPageFiles(t *testing.T) {
	s := startServer(t, server.Options{})
	page := s.do("GET", "/", nil)
	m := regexp.MustCompile(`/ui/app\.js\?v=([0-9a-f]{16})`).FindStringSubmatch(string(page.Body))
	if page.Status != 200 || m == nil || page.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("the page: %d, Cache-Control %q, no hashed app.js in\n%s", page.Status, page.Header.Get("Cache-Control"), page.Body)
	}
	js := s.do("GET", m[0], nil)
	if js.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.Contains(string(js.Body), "function viewCompare(") || !strings.Contains(string(js.Body), "function route(") {
		t.Errorf("app.js by its hash: Cache-Control %q, %d bytes, scripts missing", js.Header.Get("Cache-Control"), len(js.Body))
	}
	if old := s.do("GET", "/ui/app.js?v=0000000000000000", nil); old.Status != 200 || old.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("app.js by another hash: %d, Cache-Control %q", old.Status, old.Header.Get("Cache-Control"))
	}
	if css := s.do("GET", "/ui/app.css", nil); css.Status != 200 || css.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("app.css: %d, CSP %q", css.Status, css.Header.Get("Content-Security-Policy"))
	}
}
