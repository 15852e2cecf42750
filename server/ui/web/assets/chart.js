// Charts of metric histories, drawn by uPlot from the server's buckets:
// one per pixel, each keeping its min, max and last, refined on zoom.
"use strict";

const AXES = { step: "step", time: "time", relative: "ms since start" };

// chart draws the history of key for runs into box and returns the plot.
// o: width, height, x (step, time, relative or a metric key), log,
// smooth (0 to 0.99), group (a param or tag: a mean line a group, with a
// band of band: "minmax" or "std"), alive (when it says no once the
// answer comes, a newer chart replaced this one: nothing is drawn).
async function chart(box, runs, key, o) {
  // Up to four runs on a big chart, each line has its buckets' range
  // behind it, so a spike among a million points shows; more lines (where
  // bands would hide each other, and tripled series cost a third more to
  // draw: measured at ten runs of a million points), or a small chart,
  // draw the last values only and ask for nothing else.
  const envelope = !o.small && !o.group && runs.length <= 4;
  const q = { run: runs, key, width: o.width, x: o.x || "step", group: o.group || "", fields: envelope ? "" : "last" };
  const res = await api("history", q);
  if (o.alive && !o.alive()) return null;
  const view = o.group ? groupView(res, o) : runView(res, o);
  const xLabel = AXES[q.x] || keyLabel(q.x);
  const plot = new uPlot({
    width: o.width, height: o.height,
    series: [{ label: xLabel }, ...view.series],
    bands: view.bands,
    scales: { x: { time: q.x === "time" }, y: { distr: o.log ? 3 : 1 } },
    axes: [o.small ? {} : { label: xLabel }, {}],
    legend: { show: !o.small },
    cursor: { drag: { x: true, y: false } },
    hooks: { setScale: [(u, k) => { if (k === "x") refine(u); }] },
  }, view.data, box);
  performance.mark("gitruns:chart");
  box.dataset.series = String(view.lines.length);
  // The highest value drawn, bands included: tests check no spike is lost.
  box.dataset.peak = String(Math.max(...view.data.slice(1).map(col => Math.max(...col.filter(v => v !== null)))));
  box.dataset.last = view.lines.map(l => { const v = l[l.length - 1]; return v === null || v === undefined ? "" : String(v); }).join(",");
  let pending = false;
  async function refine(u) {
    if (pending) return;
    const min = u.scales.x.min, max = u.scales.x.max;
    if (min === null || max === null || !(min < max)) return;
    pending = true;
    try {
      const r = await api("history", { ...q, from: min, to: max });
      u.setData((o.group ? groupView(r, o) : runView(r, o)).data, false);
    } finally { pending = false; }
  }
  return plot;
}

// runView lays one line a run, with a faint raw line behind each
// smoothed one when smoothing.
function runView(res, o) {
  const series = [], cols = [], bands = [];
  res.series.forEach((s, i) => {
    if (s.count && s.count.some(c => c > 1)) {
      // Downsampled: the buckets' min and max as a faint band.
      bands.push({ series: [1 + cols.length, 2 + cols.length], fill: colour(i, 0.15) });
      series.push({ label: s.name + " max", stroke: colour(i, 0.3), width: 0.5 }, { label: s.name + " min", stroke: colour(i, 0.3), width: 0.5 });
      cols.push({ x: s.x, y: s.max }, { x: s.x, y: s.min });
    }
    if (o.smooth) {
      series.push({ label: s.name + " (raw)", stroke: colour(i, 0.25), width: 1 });
      cols.push({ x: s.x, y: s.last });
    }
    series.push({ label: s.name, stroke: colour(i), width: 1.5 });
    cols.push({ x: s.x, y: s.last, smooth: o.smooth });
  });
  const data = align(cols);
  return { series, data, bands, lines: res.series.map(s => s.last) };
}

// groupView lays one mean line a group, with a band around it: its
// runs' range (minmax) or one standard deviation either side (std).
function groupView(res, o) {
  const series = [], cols = [], bands = [];
  res.groups.forEach((g, i) => {
    const name = keyLabel(res.group) + "=" + (g.value === "" ? "(none)" : g.value) + " (" + g.runs.length + ")";
    const lo = o.band === "std" ? g.mean.map((m, j) => m - g.std[j]) : g.min;
    const hi = o.band === "std" ? g.mean.map((m, j) => m + g.std[j]) : g.max;
    const base = 1 + cols.length;
    series.push({ label: name + (o.band === "std" ? " +std" : " max"), stroke: colour(i, 0.35), width: 0.5 });
    series.push({ label: name + (o.band === "std" ? " −std" : " min"), stroke: colour(i, 0.35), width: 0.5 });
    series.push({ label: name, stroke: colour(i), width: 2 });
    cols.push({ x: g.x, y: hi }, { x: g.x, y: lo }, { x: g.x, y: g.mean, smooth: o.smooth });
    bands.push({ series: [base, base + 1], fill: colour(i, 0.12) });
  });
  const data = align(cols);
  return { series, data, bands, lines: res.groups.map(g => g.mean) };
}

// align puts columns of different x onto one x axis, as uPlot takes them,
// smoothing those that ask for it (an exponential moving average).
function align(cols) {
  const xs = [...new Set(cols.flatMap(c => c.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const out = [xs];
  for (const c of cols) {
    const y = new Array(xs.length).fill(null);
    c.x.forEach((x, i) => { y[at.get(x)] = c.y[i]; });
    if (c.smooth) {
      let acc = null;
      for (let i = 0; i < y.length; i++) {
        if (y[i] === null) continue;
        acc = acc === null ? y[i] : c.smooth * acc + (1 - c.smooth) * y[i];
        y[i] = acc;
      }
    }
    out.push(y);
  }
  return out;
}

// lazyCharts fills grid with one small chart a metric, each drawn when it
// scrolls into view: a run of 10,000 metrics, or 50 runs of 100, opens at
// once and costs what is looked at.
function lazyCharts(grid, runs, keys, o) {
  delete grid.dataset.drawn;
  const seen = new IntersectionObserver(entries => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      seen.unobserve(e.target);
      chart(e.target, runs, e.target.dataset.metric, o).then(() => {
        if (!e.target.isConnected) return; // the grid was drawn anew since
        e.target.classList.add("drawn");
        if (!grid.querySelector(".chart:not(.drawn)")) grid.dataset.drawn = "all";
      }, err => e.target.append(h("p", { class: "error" }, err.message)));
    }
  }, { rootMargin: "200px" });
  grid.replaceChildren(...keys.map(key => {
    const box = h("div", { class: "chart", "data-metric": key }, h("h4", {}, key));
    box.style.minHeight = (o.height + 30) + "px"; box.style.minWidth = o.width + "px";
    seen.observe(box);
    return box;
  }));
  return seen;
}
