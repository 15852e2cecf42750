package server_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gitruns/gitruns/server"
)

// TestBrowserColumnPicker: a metric's min and a tag chosen in the column
// picker show the values git runs ls --json has; the choice is in the URL.
func TestBrowserColumnPicker(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logScheduled(s, 3, 4)
	for i, id := range ids {
		s.api(200, "POST", "runs/set-tag", map[string]any{"run_id": id, "key": "team", "value": "t" + strconv.Itoa(i)})
	}
	ctx := browser(t)
	var mins, teams []string
	var hash string
	drive(t, ctx, "choose loss.min and the tag team",
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`#runs .row[data-id]`),
		chromedp.Click(`#columns-button`),
		chromedp.SendKeys(`#columns input[type=search]`, "loss.min"),
		poll(`[...document.querySelectorAll("#columns-list label")].some(l => l.textContent.trim() === "metrics: loss.min")`),
		chromedp.Evaluate(`[...document.querySelectorAll("#columns-list label")].find(l => l.textContent.trim() === "metrics: loss.min").querySelector("input").click()`, nil),
		chromedp.SetValue(`#columns input[type=search]`, "team"),
		chromedp.Evaluate(`document.querySelector("#columns input[type=search]").dispatchEvent(new Event("input"))`, nil),
		poll(`[...document.querySelectorAll("#columns-list label")].some(l => l.textContent.trim() === "tags: team")`),
		chromedp.Evaluate(`[...document.querySelectorAll("#columns-list label")].find(l => l.textContent.trim() === "tags: team").querySelector("input").click()`, nil),
		chromedp.Click(`#columns-apply`),
		poll(`document.querySelector('.head .cell[title="metrics.loss.min"]') && document.querySelector('.head .cell[title="tags.team"]') && document.querySelector("#runs .row[data-id]")`),
		chromedp.Evaluate(`(() => { const heads = [...document.querySelectorAll(".head .cell")].map(c => c.title);
			const col = k => [...document.querySelectorAll("#runs .row[data-id]")].map(r => r.children[heads.indexOf(k)].textContent);
			return col("metrics.loss.min"); })()`, &mins),
		chromedp.Evaluate(`(() => { const heads = [...document.querySelectorAll(".head .cell")].map(c => c.title);
			return [...document.querySelectorAll("#runs .row[data-id]")].map(r => r.children[heads.indexOf("tags.team")].textContent); })()`, &teams),
		chromedp.Evaluate(`decodeURIComponent(location.hash)`, &hash))
	var listed []struct {
		Metrics map[string]struct {
			Min float64 `json:"min"`
		} `json:"metrics"`
		Tags map[string]string `json:"tags"`
	}
	json.Unmarshal([]byte(cli(t, s.Dir, "ls", "--json")), &listed)
	for i, l := range listed {
		if i >= len(mins) || mins[i] != fmt.Sprint(l.Metrics["loss"].Min) || teams[i] != l.Tags["team"] {
			t.Errorf("row %d: loss.min %q, team %q; git runs ls: %v, %q", i, mins, teams, l.Metrics["loss"].Min, l.Tags["team"])
		}
	}
	if !strings.Contains(hash, "cols=") || !strings.Contains(hash, "metrics.`loss`.min") || !strings.Contains(hash, "tags.`team`") {
		t.Errorf("the columns are not in the URL: %q", hash)
	}
}

// TestBrowserWideTable: runs of 300 metrics, every one a column
// (cols=*): the table fetches the columns scrolled into view, and the
// last one shows its values.
func TestBrowserWideTable(t *testing.T) {
	s := startServer(t, server.Options{})
	for i := range 3 {
		id := s.createRun("0", "wide-"+strconv.Itoa(i))
		var ms []map[string]any
		for j := range 300 {
			ms = append(ms, map[string]any{"key": fmt.Sprintf("m%03d", j), "value": i*1000 + j, "timestamp": 1700000000000, "step": 0})
		}
		s.api(200, "POST", "runs/log-batch", map[string]any{"run_id": id, "metrics": ms})
		s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	}
	ctx := browser(t)
	var heads int
	var last []string
	drive(t, ctx, "every column, scrolled to the last",
		chromedp.Navigate(s.URL+"/#/?cols=*"),
		chromedp.WaitVisible(`#runs .row[data-id]`),
		chromedp.Evaluate(`document.querySelectorAll(".head .cell").length`, &heads),
		chromedp.Evaluate(`(() => { const t = document.querySelector("#runs"); t.scrollLeft = t.scrollWidth; })()`, nil),
		poll(`(() => { const h = [...document.querySelectorAll(".head .cell")].pop(); const r = document.querySelector("#runs .row[data-id]");
			return h && h.title === "metrics.m299" && r && r.lastChild.textContent !== "…"; })()`),
		chromedp.Evaluate(`[...document.querySelectorAll("#runs .row[data-id]")].map(r => r.dataset.id ? r.lastChild.textContent : "")`, &last))
	// Newest first: wide-2 has m299 = 2299.
	if strings.Join(last, ",") != "2299,1299,299" {
		t.Errorf("the last column shows %v", last)
	}
	if heads > 40 {
		t.Errorf("%d headings in the page for 300 columns: the columns are not virtualized", heads)
	}
}
