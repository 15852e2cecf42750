package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gitruns/gitruns/server"
)

// poll waits for a JavaScript condition to hold, for at most 20 s.
func poll(cond string) chromedp.Action {
	return chromedp.Poll(cond, nil, chromedp.WithPollingTimeout(20*time.Second))
}

// change sets a control's value and tells the page, as a user's choice does.
func change(sel, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (el.type === "checkbox") el.checked = %s; else el.value = %q; el.dispatchEvent(new Event("change")); })()`,
		sel, map[bool]string{true: "true", false: "false"}[value == "on"], value), nil)
}

// TestBrowserCompareView drives the compare view of four runs: curves
// against another metric, runs grouped by a param into mean lines with
// bands, smoothing, a hover that shows every run's value, the parallel
// coordinates with a hover and click, every metric as a small chart, the
// table's "only differences", and the URL that brings it all back.
func TestBrowserCompareView(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logScheduled(s, 4, 5)
	ctx := browser(t)
	url := s.URL + "/#/compare?runs=" + strings.Join(ids, ",") + "&metric=loss"
	var series, last, xlabel string
	drive(t, ctx, "the compare view",
		chromedp.Navigate(url),
		chromedp.WaitVisible(`#compare-chart canvas`),
		chromedp.AttributeValue(`#compare-chart`, "data-series", &series, nil))
	if series != "4" {
		t.Errorf("%s series, want 4", series)
	}

	drive(t, ctx, "x by another metric",
		change("#x", "metrics.`lr_now`"),
		poll(`(document.querySelector("#compare-chart .u-legend .u-series th") || {}).textContent === "lr_now"`),
		chromedp.Text(`#compare-chart .u-legend .u-series th`, &xlabel),
		chromedp.Evaluate(`document.querySelector("#compare-chart").dataset.last`, &last))
	// Newest first: run-3's loss at the last lr point (lr 1, step 0) is
	// 4, and so on down to run-0's 1.
	if last != "4,3,2,1" {
		t.Errorf("against lr_now: last values %q, want 4,3,2,1 (the points at the highest lr)", last)
	}

	drive(t, ctx, "group by lr with a band",
		change("#x", "step"),
		change("#group", "params.lr"),
		poll(`document.querySelector("#compare-chart").dataset.series === "2"`),
		chromedp.Evaluate(`document.querySelector("#compare-chart").dataset.last`, &last))
	// lr 0.01 (runs 3 and 1) come first: last losses 3.2 and 1.2, mean
	// 2.2; lr 0.1 (runs 2 and 0): 2.2 and 0.2, mean 1.2.
	if !closeList(last, []float64{2.2, 1.2}) {
		t.Errorf("group means %q, want 2.2,1.2", last)
	}
	var legend []string
	drive(t, ctx, "the band's series are in the legend, and std is a choice",
		chromedp.Evaluate(`[...document.querySelectorAll("#compare-chart .u-legend .u-series th")].map(e => e.textContent)`, &legend))
	if len(legend) != 7 || !strings.Contains(strings.Join(legend, "|"), "lr=0.01 (2) min") {
		t.Errorf("grouped legend %q", legend)
	}
	drive(t, ctx, "std band", change("#band", "std"), poll(`location.hash.includes("band=std")`))
	screenshot(t, ctx, "compare-grouped")

	var values []string
	drive(t, ctx, "ungroup, smooth, and hover",
		change("#group", ""),
		change("#smooth", "0.5"),
		poll(`document.querySelectorAll("#compare-chart .u-legend .u-series").length === 9`),
		chromedp.Evaluate(`(() => { const o = document.querySelector("#compare-chart .u-over"), r = o.getBoundingClientRect();
			o.dispatchEvent(new MouseEvent("mousemove", { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true })); })()`, nil),
		poll(`[...document.querySelectorAll("#compare-chart .u-legend .u-series .u-value")].slice(1).every(e => e.textContent !== "--" && e.textContent !== "")`),
		chromedp.Evaluate(`[...document.querySelectorAll("#compare-chart .u-legend .u-series .u-value")].map(e => e.textContent)`, &values))
	if len(values) != 9 {
		t.Errorf("hover values %q: want x and 8 series (4 raw, 4 smoothed)", values)
	}

	var axes, lines, tip string
	drive(t, ctx, "parallel coordinates",
		chromedp.AttributeValue(`#parallel`, "data-axes", &axes, nil),
		chromedp.AttributeValue(`#parallel`, "data-lines", &lines, nil))
	if axes != "params.lr|loss" || lines != "4" {
		t.Errorf("parallel coordinates: axes %q, %s lines", axes, lines)
	}
	// Half way between the two axes, run-2's line (lr 0.1 at the top of
	// the first, loss 2.2 a third down the second) is 79 px down: 36 px
	// of labels and a sixth of 260.
	drive(t, ctx, "hover a line of the parallel coordinates",
		chromedp.ScrollIntoView(`#parallel canvas`),
		chromedp.Evaluate(`(() => { const c = document.querySelector("#parallel canvas"), r = c.getBoundingClientRect();
			c.dispatchEvent(new MouseEvent("mousemove", { clientX: r.left + r.width / 2, clientY: r.top + 79, bubbles: true })); })()`, nil),
		poll(`document.querySelector("#pc-tip").textContent !== ""`),
		chromedp.Text(`#pc-tip`, &tip))
	if tip != "run-2: lr 0.1, loss 2.2" {
		t.Errorf("parallel coordinates tip %q", tip)
	}

	var rows []string
	drive(t, ctx, "only differences in the table, then all",
		chromedp.Evaluate(`[...document.querySelectorAll("#compare-table th[scope=row]")].map(e => e.textContent)`, &rows))
	if strings.Join(rows, ",") != "params.lr,metrics.loss" {
		t.Errorf("only differences: rows %v", rows)
	}
	drive(t, ctx, "all rows", change("#only-diff", "off"),
		chromedp.Evaluate(`[...document.querySelectorAll("#compare-table th[scope=row]")].map(e => e.textContent)`, &rows))
	if strings.Join(rows, ",") != "params.lr,params.seed,metrics.loss,metrics.lr_now" {
		t.Errorf("all: rows %v", rows)
	}

	var drawn string
	drive(t, ctx, "every metric as a small chart",
		chromedp.ScrollIntoView(`#all-charts`),
		poll(`document.querySelector("#all-charts").dataset.drawn === "all"`),
		chromedp.Evaluate(`[...document.querySelectorAll("#all-charts .chart")].map(c => c.dataset.metric + ":" + c.dataset.series).join(",")`, &drawn))
	if drawn != "loss:4,lr_now:4" {
		t.Errorf("small charts %q", drawn)
	}

	var hash string
	drive(t, ctx, "the URL keeps the view", change("#log", "on"), chromedp.Evaluate(`location.hash`, &hash))
	var state []string
	drive(t, ctx, "the URL brings it back",
		chromedp.Navigate(s.URL+"/#/"), chromedp.WaitVisible(`#runs .row[data-id]`),
		chromedp.Navigate(s.URL+"/"+hash), chromedp.WaitVisible(`#compare-chart canvas`),
		chromedp.Evaluate(`["#x", "#group", "#smooth", "#metric"].map(s => document.querySelector(s).value).concat([String(document.querySelector("#log").checked), String(document.querySelector("#only-diff").checked)])`, &state))
	if strings.Join(state, ",") != "step,,0.5,loss,true,false" {
		t.Errorf("view from its URL %q: %v", hash, state)
	}

	var loc string
	drive(t, ctx, "a click on a line opens its run",
		chromedp.ScrollIntoView(`#parallel canvas`),
		chromedp.Evaluate(`(() => { const c = document.querySelector("#parallel canvas"), r = c.getBoundingClientRect();
			c.dispatchEvent(new MouseEvent("mousemove", { clientX: r.left + r.width / 2, clientY: r.top + 79, bubbles: true }));
			c.dispatchEvent(new MouseEvent("click", { clientX: r.left + r.width / 2, clientY: r.top + 79, bubbles: true })); })()`, nil),
		poll(`location.hash.startsWith("#/run/")`),
		chromedp.Evaluate(`location.hash`, &loc))
	if loc != "#/run/"+ids[2] {
		t.Errorf("clicked run-2's line: %q; runs %v", loc, ids)
	}
}

func closeList(got string, want []float64) bool {
	parts := strings.Split(got, ",")
	if len(parts) != len(want) {
		return false
	}
	for i, p := range parts {
		var v float64
		if _, err := fmt.Sscan(p, &v); err != nil || v-want[i] > 1e-9 || want[i]-v > 1e-9 {
			return false
		}
	}
	return true
}

// TestBrowserKeyboard: the table is used without a mouse: arrows and End
// move between rows, Space selects, Enter on a heading sorts, Enter on a
// row opens it.
func TestBrowserKeyboard(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logRuns(s, 5, 2)
	ctx := browser(t)
	var at, count, sort string
	key := func(k string) chromedp.Action { return chromedp.KeyEvent(k) }
	drive(t, ctx, "arrows, End and Space in the table",
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`#runs .row[data-index="0"]`),
		chromedp.Focus(`#runs .row[data-index="0"]`),
		key(kb.ArrowDown), key(kb.ArrowDown),
		chromedp.Evaluate(`document.activeElement.dataset.index`, &at))
	if at != "2" {
		t.Errorf("two arrows down: row %q has the focus", at)
	}
	drive(t, ctx, "select with Space",
		key(" "),
		poll(`document.querySelector("#compare").textContent === "Compare (1)"`),
		key(kb.End),
		chromedp.Evaluate(`document.activeElement.dataset.index`, &at),
		chromedp.Text(`#compare`, &count))
	if at != "4" || count != "Compare (1)" {
		t.Errorf("after Space and End: row %q focused, %q", at, count)
	}
	drive(t, ctx, "sort by a heading with Enter",
		chromedp.Focus(`.head .cell[title="metrics.loss"]`),
		key(kb.Enter),
		poll(`document.querySelector('.head .cell[title="metrics.loss"]').getAttribute("aria-sort") === "descending"`),
		chromedp.Evaluate(`location.hash`, &sort))
	if !strings.Contains(sort, "sort=metrics.loss") {
		t.Errorf("sorted: URL %q", sort)
	}
	var loc string
	drive(t, ctx, "open a run with Enter",
		chromedp.Focus(`#runs .row[data-index="0"]`),
		key(kb.Enter),
		poll(`location.hash.startsWith("#/run/")`),
		chromedp.Evaluate(`location.hash`, &loc))
	// Sorted by loss descending, run-4 (loss about 4.5) is first.
	if loc != "#/run/"+ids[4] {
		t.Errorf("Enter on the first row opened %q", loc)
	}
}

// TestBrowserSpikeKept: a run of 5,000 points drawn 420 pixels wide keeps
// its one spike: the chart draws each bucket's range behind its line.
func TestBrowserSpikeKept(t *testing.T) {
	s := startServer(t, server.Options{})
	id := s.createRun("0", "spiky")
	var ms []map[string]any
	for st := range 5000 {
		v := 1.0
		if st == 2222 {
			v = 100
		}
		ms = append(ms, map[string]any{"key": "loss", "value": v, "timestamp": 1700000000000 + st, "step": st})
	}
	for len(ms) > 0 {
		n := min(len(ms), 1000)
		s.api(200, "POST", "runs/log-batch", map[string]any{"run_id": id, "metrics": ms[:n]})
		ms = ms[n:]
	}
	s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	ctx := browser(t)
	var peak string
	drive(t, ctx, "the run's chart",
		chromedp.Navigate(s.URL+"/#/run/spiky"),
		chromedp.WaitVisible(`#charts .chart canvas`),
		poll(`document.querySelector('#charts .chart[data-metric="loss"]').dataset.peak !== undefined`),
		chromedp.Evaluate(`document.querySelector('#charts .chart[data-metric="loss"]').dataset.peak`, &peak))
	if peak != "100" {
		t.Errorf("the chart's highest value is %s: the spike of 100 at step 2222 is lost", peak)
	}
}
