package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gitruns/gitruns/server"
)

// removeProfile removes a browser's profile directory once nothing writes
// to it: chromium's helper processes can still be writing there for a
// moment after the browser itself has exited (t.TempDir's cleanup failed
// on "directory not empty").
func removeProfile(dir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := os.RemoveAll(dir)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser opens a headless Chromium (Debian's chromium, which .ci/run
// installs) for the test, reporting the page's console errors and any
// dialog a script opened as failures.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("no chromium on PATH: apt-get install chromium (the UI's tests drive a real browser)")
	}
	profile, err := os.MkdirTemp("", "gitruns-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(profile))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		if err := removeProfile(profile); err != nil {
			t.Error(err)
		}
	})
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			t.Errorf("a script opened a dialog: %q", ev.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		case *runtime.EventExceptionThrown:
			t.Errorf("page error: %s", ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				t.Errorf("console error: %s", strings.Join(parts, " "))
			}
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644)
}

func drive(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowserRunsTableAndCompare opens the UI in a real browser over runs
// recorded through MLflow's API: the table's rows against git runs ls
// --json, a filter, a sort, selecting two runs and comparing them (a
// chart of two series), a run's page, and the URL kept for each.
func TestBrowserRunsTableAndCompare(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logRuns(s, 6, 50)
	ctx := browser(t)

	var names []string
	drive(t, ctx, "open the table",
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`#runs .row[data-id]`),
		chromedp.Evaluate(`[...document.querySelectorAll("#runs .row[data-id] .cell.name a")].map(a => a.textContent)`, &names))
	var listed []struct {
		Name string `json:"name"`
	}
	json.Unmarshal([]byte(cli(t, s.Dir, "ls", "--json")), &listed)
	if len(names) != len(listed) {
		t.Fatalf("table shows %d runs, git runs ls --json %d", len(names), len(listed))
	}
	for i := range listed {
		if names[i] != listed[i].Name {
			t.Errorf("row %d: %q, git runs ls: %q", i, names[i], listed[i].Name)
		}
	}
	screenshot(t, ctx, "table")

	var count string
	drive(t, ctx, "filter",
		chromedp.SendKeys(`#where`, "params.lr = 0.1"),
		chromedp.WaitVisible(`#count`),
		chromedp.Poll(`document.querySelector("#count").textContent === "3 runs"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`#count`, &count))
	var loc string
	drive(t, ctx, "the filter is in the URL", chromedp.Evaluate(`decodeURIComponent(location.hash)`, &loc))
	if !strings.Contains(loc, "where=params.lr = 0.1") && !strings.Contains(loc, "where=params.lr+=+0.1") {
		t.Errorf("URL after filtering: %q", loc)
	}
	drive(t, ctx, "a bad filter shows its error where it was typed",
		chromedp.SendKeys(`#where`, " and"),
		chromedp.Poll(`document.querySelector("#where-error").textContent.includes("query")`, nil, chromedp.WithPollingTimeout(10*time.Second)))

	var sorted []string
	drive(t, ctx, "sort by loss",
		chromedp.Navigate(s.URL+"/#/?where="+strings.ReplaceAll("params.lr = 0.1", " ", "%20")),
		chromedp.WaitVisible(`#runs .row[data-id]`),
		chromedp.Click(`.head .cell[title="metrics.loss"]`),
		chromedp.Poll(`document.querySelector('.head .cell[title="metrics.loss"]').getAttribute("aria-sort") === "descending"`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.WaitVisible(`#runs .row[data-id]`),
		chromedp.Evaluate(`[...document.querySelectorAll("#runs .row[data-id] .cell.name a")].map(a => a.textContent)`, &sorted))
	if strings.Join(sorted, ",") != "run-4,run-2,run-0" {
		t.Errorf("sorted by loss, descending: %v", sorted)
	}

	var series, last string
	drive(t, ctx, "select two runs and compare them",
		chromedp.Click(`#runs .row[data-id="`+ids[4]+`"] input[type=checkbox]`),
		chromedp.Click(`#runs .row[data-id="`+ids[2]+`"] input[type=checkbox]`),
		chromedp.Poll(`!document.querySelector("#compare").disabled`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Click(`#compare`),
		chromedp.WaitVisible(`#compare-chart canvas`),
		chromedp.AttributeValue(`#compare-chart`, "data-series", &series, nil),
		chromedp.AttributeValue(`#compare-chart`, "data-last", &last, nil))
	if series != "2" || last != "4.02,2.02" {
		t.Errorf("compare chart: %s series, last values %q", series, last)
	}
	screenshot(t, ctx, "compare")
	drive(t, ctx, "the compare view is a URL", chromedp.Evaluate(`location.hash`, &loc))
	if !strings.Contains(loc, "#/compare?runs=") || !strings.Contains(loc, "metric=loss") {
		t.Errorf("compare URL: %q", loc)
	}

	var title string
	drive(t, ctx, "a run's page",
		chromedp.Navigate(s.URL+"/#/run/"+ids[1]),
		chromedp.WaitVisible(`#charts .chart canvas`),
		chromedp.Text(`h2`, &title))
	if !strings.HasPrefix(title, "run-1 ") {
		t.Errorf("run page title %q", title)
	}
	screenshot(t, ctx, "run")
}

// TestBrowserHostileRecord: a run whose name, tags and output hold markup
// and terminal escapes shows them as text, and no script of theirs runs.
func TestBrowserHostileRecord(t *testing.T) {
	s := startServer(t, server.Options{})
	evil := `<img src=x onerror="alert(1)"><script>alert(2)</script>`
	id := s.api(200, "POST", "runs/create", map[string]any{"experiment_id": "0", "run_name": "evil-run",
		"tags": []map[string]string{{"key": "note", "value": evil + "\x1b[31mred"}}}).Str("run.info.run_id")
	s.api(200, "POST", "runs/log-parameter", map[string]any{"run_id": id, "key": "p", "value": evil})
	s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	ctx := browser(t)
	var imgs, scripts int
	var text string
	drive(t, ctx, "the run's page",
		chromedp.Navigate(s.URL+"/#/run/"+id),
		chromedp.WaitVisible(`h2`),
		chromedp.Evaluate(`document.querySelectorAll("main img").length`, &imgs),
		chromedp.Evaluate(`document.querySelectorAll("main script").length`, &scripts),
		chromedp.Text(`main`, &text))
	if imgs != 0 || scripts != 0 || !strings.Contains(text, evil) {
		t.Errorf("hostile values: %d images and %d scripts made of them; text shown: %v", imgs, scripts, strings.Contains(text, evil))
	}
	drive(t, ctx, "the table", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(`#runs .row[data-id]`),
		chromedp.Evaluate(`document.querySelectorAll("main img, main script").length`, &imgs))
	if imgs != 0 {
		t.Errorf("the table made %d elements of a hostile value", imgs)
	}
}

// TestBrowserLiveGroupsOutput: a live run's row updates in place without
// a reload; the runs group by a param with the mean of a metric; a run's
// output shows its terminal colours as classes, and searches.
func TestBrowserLiveGroupsOutput(t *testing.T) {
	s := startServer(t, server.Options{})
	logRuns(s, 4, 2)
	liveID := s.createRun("0", "live-one")
	s.api(200, "POST", "runs/log-metric", map[string]any{"run_id": liveID, "key": "loss", "value": 9, "timestamp": 1, "step": 0})
	cli(t, s.Dir, "exec", "--name", "colourful", "--", "sh", "-c", `printf '\033[31mred\033[0m plain\nsecond line\n'`)
	ctx := browser(t)
	drive(t, ctx, "the table shows the live run",
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`#runs .row[data-id="`+liveID+`"]`),
		chromedp.Poll(`document.querySelector('#runs .row[data-id="`+liveID+`"]').textContent.includes("9")`, nil, chromedp.WithPollingTimeout(10*time.Second)))
	s.api(200, "POST", "runs/log-metric", map[string]any{"run_id": liveID, "key": "loss", "value": 7.5, "timestamp": 2, "step": 1})
	drive(t, ctx, "the live run's row updates in place",
		chromedp.Poll(`document.querySelector('#runs .row[data-id="`+liveID+`"]').textContent.includes("7.5")`, nil, chromedp.WithPollingTimeout(20*time.Second)))

	var rows [][]string
	drive(t, ctx, "group by lr with the mean of loss",
		chromedp.SetValue(`#group-metric`, "loss"),
		chromedp.SetValue(`#group-by`, "params.lr"),
		chromedp.Evaluate(`document.querySelector("#group-by").dispatchEvent(new Event("change"))`, nil),
		chromedp.WaitVisible(`#groups-table`),
		chromedp.Evaluate(`[...document.querySelectorAll("#groups-table tr")].slice(1).map(tr => [...tr.children].map(td => td.textContent))`, &rows))
	// Newest first: the two runs without lr (the live one has loss 7.5),
	// then lr 0.01 (runs 3 and 1: 3.5 and 1.5), then 0.1 (2.5 and 0.5).
	want := [][]string{{"(none)", "2", "7.5 ± 0 (1)"}, {"0.01", "2", "2.5 ± 1 (2)"}, {"0.1", "2", "1.5 ± 1 (2)"}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("groups: %v, want %v", rows, want)
	}

	var red string
	var shown int
	drive(t, ctx, "the output of a run, in colour",
		chromedp.Navigate(s.URL+"/#/run/colourful"),
		chromedp.WaitVisible(`#output .ansi-fg-1`),
		chromedp.Text(`#output .ansi-fg-1`, &red),
		chromedp.SendKeys(`#output-search`, "second"),
		chromedp.Evaluate(`document.querySelectorAll("#output > span").length`, &shown))
	if red != "red" || shown != 1 {
		t.Errorf("output: red span %q, %d lines found for 'second'", red, shown)
	}
	screenshot(t, ctx, "output")
}

// TestBrowserCodeDiffAndTextArtifact: the compare view diffs the code of
// two runs, as git runs diff --code does; a text artifact shows inline.
func TestBrowserCodeDiffAndTextArtifact(t *testing.T) {
	s := startServer(t, server.Options{})
	cli(t, s.Dir, "exec", "--name", "before", "--", "sh", "-c", "echo note > note.txt && "+binary+" artifact note.txt")
	os.WriteFile(filepath.Join(s.Dir, "train.py"), []byte("print('hello')\nprint('changed')\n"), 0o644)
	git(t, s.Dir, "commit", "-qam", "change")
	cli(t, s.Dir, "exec", "--name", "after", "--", "true")
	var listed []struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(cli(t, s.Dir, "ls", "--json")), &listed)
	ctx := browser(t)
	var diff, note string
	drive(t, ctx, "the code diff of two compared runs",
		chromedp.Navigate(s.URL+"/#/compare?runs="+listed[1].ID+","+listed[0].ID),
		chromedp.WaitVisible(`#diff-compare`),
		chromedp.Click(`#diff-compare`),
		chromedp.WaitVisible(`#compare-diff .diff-add`),
		chromedp.Evaluate(`document.querySelector("#compare-diff").textContent`, &diff))
	if !strings.Contains(diff, "+print('changed')") {
		t.Errorf("compare diff:\n%s", diff)
	}
	drive(t, ctx, "a text artifact inline",
		chromedp.Navigate(s.URL+"/#/run/before"),
		chromedp.Poll(`(document.querySelector('.artifact-text[data-path="note.txt"]') || {}).textContent === "note\n"`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`.artifact-text`, &note))
	if strings.TrimSpace(note) != "note" {
		t.Errorf("artifact text %q", note)
	}
}
