package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gitruns/gitruns/server"
)

// auditJS lists what keeps a page from the basics of accessibility: a
// control without a name a screen reader can say, and text whose contrast
// with what is behind it is below WCAG's AA (4.5:1, or 3:1 for large
// text). Canvas drawings are outside it; the compare table says what the
// charts draw.
const auditJS = `(() => {
  const fails = [];
  const named = el => (el.getAttribute("aria-label") || "").trim() || (el.labels && [...el.labels].map(l => l.textContent).join("").trim()) ||
    (el.tagName === "BUTTON" && el.textContent.trim()) || (el.getAttribute("title") || "").trim();
  for (const el of document.querySelectorAll("input, select, button, textarea"))
    if (!named(el)) fails.push("unnamed control: " + el.outerHTML.slice(0, 100));
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (f, b) => [0, 1, 2].map(i => f[i] * f[3] + b[i] * (1 - f[3])).concat([1]);
  const back = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) { layers.push(c); if (c[3] === 1) break; } }
    return layers.reverse().reduce((b, c) => over(c, b), [255, 255, 255, 1]);
  };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  for (const el of document.querySelectorAll("body *")) {
    if (el.tagName === "OPTION" || el.closest("[disabled]")) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(el);
    if (st.visibility === "hidden" || el.getClientRects().length === 0) continue;
    const b = back(el), fg = over(parse(st.color), b);
    const l1 = lum(fg), l2 = lum(b), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), large = size >= 24 || (size >= 18.66 && +st.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5)) fails.push("contrast " + ratio.toFixed(2) + ": " + el.tagName.toLowerCase() + (el.className ? "." + String(el.className).replace(/ /g, ".") : "") + " " + JSON.stringify(el.textContent.trim().slice(0, 40)));
  }
  return [...new Set(fails)];
})()`

// TestBrowserAccessibility audits every view: the table with a row
// selected and a live run, a run's page with coloured output and its
// diff, the compare view with its charts and their legends.
func TestBrowserAccessibility(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := logScheduled(s, 3, 4)
	s.createRun("0", "live-one")
	cli(t, s.Dir, "exec", "--name", "colourful", "--", "sh", "-c",
		`for c in 30 31 32 33 34 35 36 37 90 91 92 93 94 95 96 97; do printf "\033[${c}mcolour $c\033[0m\n"; done; printf '\033[1;31mbold red\033[0m\n'`)
	ctx := browser(t)
	audit := func(view string, actions ...chromedp.Action) {
		t.Helper()
		var fails []string
		drive(t, ctx, view, append(actions, chromedp.Evaluate(auditJS, &fails))...)
		if len(fails) > 0 {
			t.Errorf("%s:\n  %s", view, strings.Join(fails, "\n  "))
		}
	}
	audit("the runs table",
		chromedp.Navigate(s.URL+"/#/?sel="+ids[0]),
		chromedp.WaitVisible(`#runs .row.selected`),
		chromedp.Click(`#columns-button`), chromedp.WaitVisible(`#columns`))
	audit("a bad filter",
		chromedp.Navigate(s.URL+"/#/?where=metrics.loss%20%3E"), chromedp.WaitVisible(`#where[aria-invalid]`))
	audit("a run's page",
		chromedp.Navigate(s.URL+"/#/run/colourful"), chromedp.WaitVisible(`#output .ansi-fg-1`),
		chromedp.Click(`#diff-worktree`), chromedp.WaitVisible(`#diff span`))
	audit("the compare view",
		chromedp.Navigate(s.URL+"/#/compare?runs="+strings.Join(ids, ",")+"&metric=loss&group=params.lr"),
		chromedp.WaitVisible(`#compare-chart .u-legend`),
		chromedp.ScrollIntoView(`#all-charts`), poll(`document.querySelector("#all-charts").dataset.drawn === "all"`))
}
