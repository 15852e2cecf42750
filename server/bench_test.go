package server_test

// The benchmarks of the server talk HTTP to a server in this process
// (the harness's startServer) on 127.0.0.1, over one keep-alive
// connection: what they time is the round trip that a client on the same
// machine waits for, loopback TCP and net/http on both sides included, up
// to the last byte of the answer (not the client's decoding of it). Each
// times GET /health over the same connection, alternately with its
// operation, as the same-run baseline (docs/BENCHMARKS.md), and reports
// medians: op-ms (op-s for BenchmarkCreateEnd2000) for the operation,
// health-ms (health-s), and their ratio op/health. ns/op is the mean of
// the operation alone.
//
//	go test ./server -run '^$' -bench . -count 3 -timeout 60m

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/server"
)

// roundTrips keeps the times of an operation and of the baseline.
type roundTrips struct {
	op, health []time.Duration
}

// timeOp times f as one operation.
func (rt *roundTrips) timeOp(b *testing.B, f func() error) {
	b.Helper()
	t0 := time.Now()
	err := f()
	rt.op = append(rt.op, time.Since(t0))
	if err != nil {
		b.Fatal(err)
	}
}

// timeHealth times n round trips of GET /health as one baseline.
func (rt *roundTrips) timeHealth(b *testing.B, c *client, n int) {
	b.Helper()
	t0 := time.Now()
	for range n {
		status, body, err := c.do("GET", "/health", nil)
		if err != nil || status != 200 || string(body) != "OK" {
			b.Fatalf("GET /health: %d %q %v", status, body, err)
		}
	}
	rt.health = append(rt.health, time.Since(t0))
}

// report reports the medians, in unit (ms or s) per operation.
func (rt *roundTrips) report(b *testing.B, unit string) {
	scale := float64(time.Millisecond)
	if unit == "s" {
		scale = float64(time.Second)
	}
	op, health := median(rt.op), median(rt.health)
	b.ReportMetric(float64(op)/scale, "op-"+unit)
	b.ReportMetric(float64(health)/scale, "health-"+unit)
	b.ReportMetric(float64(op)/float64(health), "op/health")
	var sum time.Duration
	for _, d := range rt.op {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(rt.op)), "ns/op")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// post sends a JSON body and fails unless the answer is 200.
func (c *client) post(route string, body []byte) error {
	status, b, err := c.send("POST", route, body)
	if err != nil {
		return fmt.Errorf("POST %s: %w", route, err)
	}
	return answer("POST", route, status, b, nil)
}

func mustJSON(b testing.TB, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return j
}

// BenchmarkLogMetric times one log-metric call (MLflow's server: 2.4 ms).
func BenchmarkLogMetric(b *testing.B) {
	s := startServer(b, server.Options{})
	c := newClient(s.URL)
	defer c.close()
	id, err := c.createRun("bench")
	if err != nil {
		b.Fatal(err)
	}
	var rt roundTrips
	var n int64
	for b.Loop() {
		body := logMetricBody(id, point{Key: "loss", Value: 1 / float64(n+3), Timestamp: loadEpoch + n, Step: n})
		rt.timeOp(b, func() error { return c.post("runs/log-metric", body) })
		rt.timeHealth(b, c, 1)
		n++
	}
	rt.report(b, "ms")
	checkCount(b, c, id, "loss", int(n), 25_000)
}

// BenchmarkLogBatch1000 times a log-batch of 1,000 metrics.
func BenchmarkLogBatch1000(b *testing.B) {
	s := startServer(b, server.Options{})
	c := newClient(s.URL)
	defer c.close()
	id, err := c.createRun("bench")
	if err != nil {
		b.Fatal(err)
	}
	var rt roundTrips
	var n int64
	ps := make([]point, 1000)
	for b.Loop() {
		for i := range ps {
			step := n*int64(len(ps)) + int64(i)
			ps[i] = point{Key: "loss", Value: 1 / float64(step+3), Timestamp: loadEpoch + step, Step: step}
		}
		body := mustJSON(b, map[string]any{"run_id": id, "metrics": ps})
		rt.timeOp(b, func() error { return c.post("runs/log-batch", body) })
		rt.timeHealth(b, c, 1)
		n++
	}
	rt.report(b, "ms")
	checkCount(b, c, id, "loss", int(n)*len(ps), 25_000)
}

// checkCount checks that the run has n points of key, steps 0 to n-1
// with the values logged, reading its history in pages of size.
func checkCount(b *testing.B, c *client, id, key string, n, size int) {
	b.Helper()
	got, err := c.history(id, key, size)
	if err != nil {
		b.Fatal(err)
	}
	if len(got) != n {
		b.Fatalf("%d points of %s, want %d", len(got), key, n)
	}
	for i, p := range got {
		if p.Step != int64(i) || p.Value != 1/float64(i+3) {
			b.Fatalf("point %d is %+v", i, p)
		}
	}
}

// The runs of BenchmarkSearchRuns10k: lr takes four values, acc is
// spread over [0, 1) without ties, so that a quarter of the runs match
// the filter and the order is one.
var searchLRs = []float64{0.001, 0.01, 0.1, 0.3}

func searchAcc(i int) float64 {
	_, f := math.Modf(float64(i) * 0.6180339887498949)
	return f
}

// makeRuns records n finished runs in the repository at dir through the
// library, as a sweep does (one capture of the source for all), each with
// three params and two metrics of three points, and returns their ids.
func makeRuns(b *testing.B, dir string, n int) []string {
	b.Helper()
	repo, tr := openTracker(b, dir)
	defer repo.Close()
	ctx := context.Background()
	src, err := repo.CaptureSource(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range n {
		lr, err := tr.Start(ctx, live.Options{
			Name:   "sweep-" + strconv.Itoa(i),
			Source: &src,
			Params: map[string]any{"lr": searchLRs[i%len(searchLRs)], "batch_size": 32 << (i % 3), "model": "m" + strconv.Itoa(i%5)},
		})
		if err != nil {
			b.Fatal(err)
		}
		acc := searchAcc(i)
		for step := range int64(3) {
			if err := errors.Join(lr.LogMetric("acc", acc*float64(step+1)/3, step), lr.LogMetric("loss", 1-acc*float64(step+1)/3, step)); err != nil {
				b.Fatal(err)
			}
		}
		if err := lr.End(run.Finished); err != nil {
			b.Fatal(err)
		}
		ids[i] = lr.ID()
	}
	return ids
}

// BenchmarkSearchRuns10k times runs/search over 10,000 finished runs with
// a filter on a metric and a param, ordered by the metric, first page of
// 100 (MLflow's server: about 240 ms, FastTrackML about 20 ms). The
// server keeps its listing of runs for 250 ms unless it writes: "listed"
// searches mostly reuse it, "relisted" ones follow a write through the
// server (a log-metric into a run of another experiment, not timed), so
// that each lists the runs afresh, as a search after any call that logs.
func BenchmarkSearchRuns10k(b *testing.B) {
	dir := newRepo(b)
	// The runs are packed afterwards, as a repository used for a while
	// is: git gc must not start in the background meanwhile.
	git(b, dir, "config", "gc.auto", "0")
	ids := makeRuns(b, dir, 10_000)
	git(b, dir, "gc", "--quiet") // packs the objects and the refs (pack-refs --all)
	git(b, dir, "config", "--unset", "gc.auto")

	var want []string
	type ranked struct {
		id  string
		acc float64
	}
	var match []ranked
	for i, id := range ids {
		if searchAcc(i) > 0.5 && searchLRs[i%len(searchLRs)] < 0.1 {
			match = append(match, ranked{id, searchAcc(i)})
		}
	}
	slices.SortFunc(match, func(a, b ranked) int { return -cmpFloat(a.acc, b.acc) })
	for _, m := range match[:100] {
		want = append(want, m.id)
	}

	s := serveRepo(b, dir, server.Options{})
	c := newClient(s.URL)
	defer c.close()
	var exp struct {
		ID string `json:"experiment_id"`
	}
	if err := c.call("POST", "experiments/create", map[string]any{"name": "writes"}, &exp); err != nil {
		b.Fatal(err)
	}
	var writer struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := c.call("POST", "runs/create", map[string]any{"experiment_id": exp.ID}, &writer); err != nil {
		b.Fatal(err)
	}
	query := mustJSON(b, map[string]any{
		"experiment_ids": []string{"0"},
		"filter":         "metrics.acc > 0.5 and params.lr < 0.1",
		"order_by":       []string{"metrics.acc DESC"},
		"max_results":    100,
	})
	search := func() error {
		status, body, err := c.send("POST", "runs/search", query)
		if err != nil {
			return err
		}
		return answer("POST", "runs/search", status, body, nil)
	}
	// The first search lists the runs and fills the record cache; its
	// answer is checked against the runs as recorded.
	var first struct {
		Runs []struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"runs"`
		Next string `json:"next_page_token"`
	}
	if err := c.call("POST", "runs/search", json.RawMessage(query), &first); err != nil {
		b.Fatal(err)
	}
	var got []string
	for _, r := range first.Runs {
		got = append(got, r.Info.RunID)
	}
	if !slices.Equal(got, want) || first.Next == "" {
		b.Fatalf("runs/search: %d runs, next page %q; want the %d best of %d matching", len(got), first.Next, len(want), len(match))
	}

	b.Run("listed", func(b *testing.B) {
		var rt roundTrips
		for b.Loop() {
			rt.timeOp(b, search)
			rt.timeHealth(b, c, 1)
		}
		rt.report(b, "ms")
	})
	b.Run("relisted", func(b *testing.B) {
		var rt roundTrips
		var n int64
		for b.Loop() {
			if err := c.post("runs/log-metric", logMetricBody(writer.Run.Info.RunID, point{Key: "tick", Value: 1, Timestamp: loadEpoch + n, Step: n})); err != nil {
				b.Fatal(err)
			}
			n++
			rt.timeOp(b, search)
			rt.timeHealth(b, c, 1)
		}
		rt.report(b, "ms")
	})
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// BenchmarkGetHistory100k times metrics/get-history of a metric of
// 100,000 points: in one page, and in the pages of 25,000 that MLflow's
// client asks for (the four requests timed as one operation); of a
// finished run (read from its commit) and of a live one (from the
// server's memory of its journal).
func BenchmarkGetHistory100k(b *testing.B) {
	const n = 100_000
	s := startServer(b, server.Options{})
	c := newClient(s.URL)
	defer c.close()
	ps := make([]point, 1000)
	runs := map[string]string{}
	for _, state := range []string{"finished", "live"} {
		id, err := c.createRun(state)
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off < n; off += len(ps) {
			for i := range ps {
				step := int64(off + i)
				ps[i] = point{Key: "loss", Value: 1 / float64(step+3), Timestamp: loadEpoch + step, Step: step}
			}
			if err := c.post("runs/log-batch", mustJSON(b, map[string]any{"run_id": id, "metrics": ps})); err != nil {
				b.Fatal(err)
			}
		}
		if state == "finished" {
			if err := c.post("runs/update", mustJSON(b, map[string]any{"run_id": id, "status": "FINISHED"})); err != nil {
				b.Fatal(err)
			}
		}
		runs[state] = id
		for _, size := range []int{n, 25_000} {
			checkCount(b, c, id, "loss", n, size)
		}
	}
	for _, state := range []string{"finished", "live"} {
		for _, size := range []int{n, 25_000} {
			name := state + "/one-page"
			if size < n {
				name = state + "/pages-of-25k"
			}
			b.Run(name, func(b *testing.B) {
				var rt roundTrips
				for b.Loop() {
					rt.timeOp(b, func() error { return pages(c, runs[state], "loss", size, n/size) })
					rt.timeHealth(b, c, 1)
				}
				rt.report(b, "ms")
			})
		}
	}
}

// pages fetches the history of key in pages of size, reading each
// answer whole without decoding more of it than the next page's token,
// and checks that there were as many pages as want.
func pages(c *client, id, key string, size, want int) error {
	tok := ""
	for page := 1; ; page++ {
		q := url.Values{"run_id": {id}, "metric_key": {key}, "max_results": {strconv.Itoa(size)}}
		if tok != "" {
			q.Set("page_token", tok)
		}
		status, body, err := c.send("GET", "metrics/get-history?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		if err := answer("GET", "metrics/get-history", status, body, nil); err != nil {
			return err
		}
		tok = nextToken(body)
		if tok == "" {
			if page != want {
				return fmt.Errorf("history of %s in %d pages of %d, want %d", id, page, size, want)
			}
			return nil
		}
	}
}

// nextToken finds next_page_token in an answer of get-history, which the
// server writes after the metrics: decoding the whole answer would time
// the client's JSON decoder, not the server.
func nextToken(body []byte) string {
	const field = `"next_page_token":"`
	i := bytes.LastIndex(body, []byte(field))
	if i < 0 {
		return ""
	}
	rest := body[i+len(field):]
	for j, ch := range rest {
		if ch == '"' {
			return string(rest[:j])
		}
	}
	return ""
}

// BenchmarkCreateEnd2000 times the creation and end of 2,000 runs through
// runs/create and runs/update (FINISHED) from one client, in seconds,
// against 4,000 round trips of GET /health. The client decodes each
// answer of runs/create, for the run's id.
func BenchmarkCreateEnd2000(b *testing.B) {
	const n = 2000
	dir := newRepo(b)
	// The 2,000 runs leave about 6,000 loose objects, on git's threshold:
	// the server's Close may then start git gc --auto, detached, which
	// would still be writing into the repository as the test's temporary
	// directory is removed ("directory not empty"). No gc starts while
	// the runs are recorded (gitstore's sweepSlack), so this changes
	// nothing measured.
	git(b, dir, "config", "gc.auto", "0")
	s := serveRepo(b, dir, server.Options{})
	c := newClient(s.URL)
	defer c.close()
	var rt roundTrips
	var ids []string
	for b.Loop() {
		rt.timeOp(b, func() error {
			for i := range n {
				id, err := c.createRun("r" + strconv.Itoa(i))
				if err != nil {
					return err
				}
				if err := c.post("runs/update", mustJSON(b, map[string]any{"run_id": id, "status": "FINISHED"})); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		rt.timeHealth(b, c, 2*n)
	}
	rt.report(b, "s")
	recs := lsJSON(b, s.Dir)
	if got := lsIDs(recs); !slices.Equal(got, sorted(ids)) {
		b.Fatalf("git runs ls lists %d runs, want the %d created", len(got), len(ids))
	}
	for _, r := range recs {
		if r.Status != "finished" {
			b.Fatalf("run %s is %s", r.ID, r.Status)
		}
	}
}
