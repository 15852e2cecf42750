package server_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
	"github.com/gitruns/gitruns/server"
)

// The browser benchmarks drive headless Chromium against a server of a
// large repository and read the page's own performance marks (set by
// app.js): navigation start to the first rows painted, a query asked to
// its rows shown, a chart drawn. Each figure is the median of
// b.N rounds; the same-run baseline is a fetch of /health from the page.

// benchBrowser is browser for a benchmark.
func benchBrowser(b *testing.B) context.Context {
	b.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		b.Fatal("no chromium on PATH: apt-get install chromium")
	}
	profile, err := os.MkdirTemp("", "gitruns-chromium-")
	if err != nil {
		b.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(profile))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	b.Cleanup(func() {
		cancelC()
		cancelA()
		if err := removeProfile(profile); err != nil {
			b.Error(err)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		b.Fatal(err)
	}
	return ctx
}

// pageMs evaluates a JavaScript expression giving milliseconds.
func pageMs(b *testing.B, ctx context.Context, expr string) float64 {
	b.Helper()
	var ms float64
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ms, await)); err != nil {
		b.Fatal(err)
	}
	return ms
}

// healthMs is the baseline: one fetch of /health from the page.
func healthMs(b *testing.B, ctx context.Context) float64 {
	return pageMs(b, ctx, `(async () => { const t = performance.now(); await fetch("/health"); return performance.now() - t; })()`)
}

func medianMs(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// makeManyRuns records n finished runs quickly, as makeRuns does, then
// packs the repository as one used for a while is.
func makeManyRuns(b *testing.B, dir string, n int) {
	b.Helper()
	makeRuns(b, dir, n)
	git(b, dir, "gc", "-q")
}

// BenchmarkBrowserTable times the runs table over many runs (100,000, or
// GITRUNS_UI_BENCH_RUNS): navigation to its first rows painted, and a
// filter and a sort from asked to shown.
func BenchmarkBrowserTable(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("GITRUNS_UI_BENCH_RUNS")); err == nil && v > 0 {
		n = v
	}
	dir := newRepo(b)
	makeManyRuns(b, dir, n)
	s := serveRepo(b, dir, server.Options{})
	ctx := benchBrowser(b)
	var first, filter, sorted, health []float64
	wait := chromedp.WithPollingTimeout(60 * time.Second)
	// One round untimed: the first makes the server's listing of the
	// runs (most of a second at 100,000), which it then reuses.
	if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/#/"), chromedp.Poll(`performance.getEntriesByName("gitruns:rows").length > 0`, nil, wait)); err != nil {
		b.Fatal(err)
	}
	pageQuery(b, ctx, `document.querySelector("#where").value = "metrics.acc > 0.5 and params.lr < 0.1"; document.querySelector("#where").dispatchEvent(new Event("input"))`, 250)
	pageQuery(b, ctx, `document.querySelector('.head .cell[title="metrics.acc"]').click()`, 0)
	for b.Loop() {
		if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/?r="+strconv.Itoa(len(first))+"#/"),
			chromedp.Poll(`performance.getEntriesByName("gitruns:rows").length > 0`, nil, wait)); err != nil {
			b.Fatal(err)
		}
		first = append(first, pageMs(b, ctx, `performance.getEntriesByName("gitruns:rows")[0].startTime`))
		health = append(health, healthMs(b, ctx))
		filter = append(filter, pageQuery(b, ctx, `document.querySelector("#where").value = "metrics.acc > 0.5 and params.lr < 0.1"; document.querySelector("#where").dispatchEvent(new Event("input"))`, 250))
		sorted = append(sorted, pageQuery(b, ctx, `document.querySelector('.head .cell[title="metrics.acc"]').click()`, 0))
	}
	b.ReportMetric(medianMs(first), "first-rows-ms")
	b.ReportMetric(medianMs(filter), "filter-ms")
	b.ReportMetric(medianMs(sorted), "sort-ms")
	b.ReportMetric(medianMs(health), "health-ms")
	b.ReportMetric(float64(n), "runs")
}

// pageQuery runs js, which starts a query of the table, and returns the
// time from the query's mark to its rows painted, less debounce (the
// filter box waits for typing to stop).
func pageQuery(b *testing.B, ctx context.Context, js string, debounce float64) float64 {
	b.Helper()
	if err := chromedp.Run(ctx, chromedp.Evaluate(`performance.clearMarks(); `+js, nil),
		chromedp.Poll(`performance.getEntriesByName("gitruns:rows").length > 0 && performance.getEntriesByName("gitruns:query").length > 0`, nil, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		b.Fatal(err)
	}
	return pageMs(b, ctx, `performance.getEntriesByName("gitruns:rows")[0].startTime - performance.getEntriesByName("gitruns:query")[0].startTime`)
}

// BenchmarkBrowserChart times a chart of 10 runs of 1,000,000 points
// each: the server's answer in buckets sized to the chart, and the
// compare page from navigation to the chart drawn.
func BenchmarkBrowserChart(b *testing.B) {
	dir := newRepo(b)
	ids := makeLongRuns(b, dir, 10, 1_000_000)
	s := serveRepo(b, dir, server.Options{})
	ctx := benchBrowser(b)
	q := s.URL + "/ui/api/history?key=loss&width=1100"
	for _, id := range ids {
		q += "&run=" + id
	}
	full, q := q, q+"&fields=last" // what the page asks for ten runs; full adds min, max and counts
	get := func() float64 {
		t := time.Now()
		res, err := http.Get(q)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("history: %s", res.Status)
		}
		return float64(time.Since(t).Microseconds()) / 1000
	}
	get() // the histories are read once, then kept by commit
	var answer, answerFull, paint, health []float64
	for b.Loop() {
		answer = append(answer, get())
		q, full = full, q
		answerFull = append(answerFull, get())
		q, full = full, q
		if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/?r="+strconv.Itoa(len(paint))+"#/compare?metric=loss&runs="+joinIDs(ids)),
			chromedp.Poll(`performance.getEntriesByName("gitruns:chart").length > 0`, nil, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			b.Fatal(err)
		}
		paint = append(paint, pageMs(b, ctx, `performance.getEntriesByName("gitruns:chart")[0].startTime`))
		health = append(health, healthMs(b, ctx))
	}
	b.ReportMetric(medianMs(answer), "answer-ms")
	b.ReportMetric(medianMs(answerFull), "answer-full-ms")
	b.ReportMetric(medianMs(paint), "chart-ms")
	b.ReportMetric(medianMs(health), "health-ms")
}

func joinIDs(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += id
	}
	return out
}

// makeLongRuns records n finished runs of points points of loss each.
func makeLongRuns(b *testing.B, dir string, n, points int) []string {
	b.Helper()
	repo, tr := openTracker(b, dir)
	defer repo.Close()
	ctx := context.Background()
	var ids []string
	for i := range n {
		lr, err := tr.Start(ctx, live.Options{Name: "long-" + strconv.Itoa(i), Checkpoint: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		for st := range points {
			if err := lr.LogMetric("loss", float64(i)+1/float64(st+1), int64(st)); err != nil {
				b.Fatal(err)
			}
		}
		if err := lr.End(run.Finished); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, lr.ID())
	}
	return ids
}

// BenchmarkBrowserCompare times the compare view of 50 runs of 100
// metrics (500 points each): from navigation to the view ready (its main
// chart, table and parallel coordinates drawn), and to every one of the
// 100 small charts drawn, scrolled through as a reader would.
func BenchmarkBrowserCompare(b *testing.B) {
	dir := newRepo(b)
	ids := makeWideRuns(b, dir, 50, 100, 500)
	s := serveRepo(b, dir, server.Options{})
	ctx := benchBrowser(b)
	var ready, every, health []float64
	for b.Loop() {
		if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/?r="+strconv.Itoa(len(ready))+"#/compare?metric=m000&runs="+joinIDs(ids)),
			chromedp.Poll(`performance.getEntriesByName("gitruns:compare").length > 0`, nil, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			b.Fatal(err)
		}
		ready = append(ready, pageMs(b, ctx, `performance.getEntriesByName("gitruns:compare")[0].startTime`))
		every = append(every, pageMs(b, ctx, `(async () => {
			const t = performance.now(), grid = document.querySelector("#all-charts");
			while (grid.dataset.drawn !== "all") { window.scrollBy(0, 400); await new Promise(r => requestAnimationFrame(r)); await new Promise(r => setTimeout(r, 0)); }
			return performance.now() - t; })()`))
		health = append(health, healthMs(b, ctx))
	}
	b.ReportMetric(medianMs(ready), "ready-ms")
	b.ReportMetric(medianMs(every), "all-charts-ms")
	b.ReportMetric(medianMs(health), "health-ms")
}

// BenchmarkBrowserWideTable opens a table of runs of 10,000 metrics with
// every metric a column (cols=*) and scrolls it right across all of them
// and down, watching the page's long tasks (the browser's own record of
// work that kept it from answering input): it reports the longest, and
// the time to the first rows.
func BenchmarkBrowserWideTable(b *testing.B) {
	dir := newRepo(b)
	makeWideRuns(b, dir, 100, 10_000, 1)
	s := serveRepo(b, dir, server.Options{})
	ctx := benchBrowser(b)
	var first, longest, scroll, health []float64
	for b.Loop() {
		if err := chromedp.Run(ctx, chromedp.Navigate(s.URL+"/?r="+strconv.Itoa(len(first))+"#/?cols=*"),
			chromedp.Evaluate(`window.longTasks = []; new PerformanceObserver(l => window.longTasks.push(...l.getEntries().map(e => e.duration))).observe({ type: "longtask", buffered: true })`, nil),
			chromedp.Poll(`performance.getEntriesByName("gitruns:rows").length > 0`, nil, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			b.Fatal(err)
		}
		first = append(first, pageMs(b, ctx, `performance.getEntriesByName("gitruns:rows")[0].startTime`))
		scroll = append(scroll, pageMs(b, ctx, `(async () => {
			const t = performance.now(), el = document.querySelector("#runs"), frame = () => new Promise(r => requestAnimationFrame(r));
			for (let x = 0; x < el.scrollWidth; x += 2000) { el.scrollLeft = x; await frame(); }
			for (let y = 0; y < el.scrollHeight; y += 300) { el.scrollTop = y; await frame(); }
			await new Promise(r => setTimeout(r, 500)); // let the last blocks arrive and draw
			return performance.now() - t; })()`))
		longest = append(longest, pageMs(b, ctx, `Math.max(0, ...window.longTasks)`))
		health = append(health, healthMs(b, ctx))
	}
	b.ReportMetric(medianMs(first), "first-rows-ms")
	b.ReportMetric(medianMs(longest), "longest-task-ms")
	b.ReportMetric(medianMs(scroll), "scroll-ms")
	b.ReportMetric(medianMs(health), "health-ms")
}

// makeWideRuns records n finished runs of metrics metrics of points
// points each, metric j of run i at i + j/1000 + 1/(step+1).
func makeWideRuns(b *testing.B, dir string, n, metrics, points int) []string {
	b.Helper()
	repo, tr := openTracker(b, dir)
	defer repo.Close()
	ctx := context.Background()
	keys := make([]string, metrics)
	for j := range keys {
		keys[j] = "m" + strconv.Itoa(1000 + j)[1:]
		if metrics > 1000 {
			keys[j] = "m" + strconv.Itoa(100000 + j)[1:]
		}
	}
	var ids []string
	for i := range n {
		lr, err := tr.Start(ctx, live.Options{Name: "wide-" + strconv.Itoa(i), Checkpoint: time.Hour,
			Params: map[string]any{"lr": []float64{0.1, 0.01, 0.001}[i%3], "layers": 2 + i%4}})
		if err != nil {
			b.Fatal(err)
		}
		for st := range points {
			for j, k := range keys {
				if err := lr.LogMetric(k, float64(i)+float64(j)/1000+1/float64(st+1), int64(st)); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := lr.End(run.Finished); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, lr.ID())
	}
	git(b, dir, "gc", "-q")
	return ids
}

// openTracker opens the repository of dir for a benchmark's setup; the
// caller closes it.
func openTracker(b *testing.B, dir string) (*gitstore.Repo, *tracker.Tracker) {
	b.Helper()
	repo, err := gitstore.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	return repo, tracker.New(repo, tracker.Options{})
}
