// The compare view: 2 to 50 runs, their curves overlaid (or grouped into
// means with bands), every metric as a small chart, a table of what
// differs, a parallel-coordinates chart, and the code diff of any two.
"use strict";

async function viewCompare(params) {
  const ids = (params.get("runs") || "").split(",").filter(Boolean);
  if (ids.length < 1) throw new Error("no runs to compare: select them in the table");
  if (ids.length > 50) throw new Error("at most 50 runs compare at once: " + ids.length + " are asked");
  const where = "attributes.run_id IN (" + ids.map(i => "'" + i.replace(/'/g, "''") + "'").join(", ") + ")";
  const res = await api("runs", { where, limit: 50 });
  const differing = res.params.slice(0, res.differing.params);
  const opt = (value, label, chosen) => h("option", { value, selected: value === chosen }, label);
  const metricSel = h("select", { "aria-label": "metric", id: "metric" }, res.metrics.map(m => opt(m, m, params.get("metric"))));
  const xSel = h("select", { "aria-label": "x axis", id: "x" },
    ["step", "time", "relative"].map(x => opt(x, { step: "step", time: "wall time", relative: "relative time" }[x], params.get("x") || "step")),
    h("optgroup", { label: "another metric" }, res.metrics.map(m => opt(metricKey(m), m, params.get("x")))));
  const log = h("input", { type: "checkbox", id: "log", checked: params.get("log") === "1" });
  const smooth = h("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: params.get("smooth") || "0", id: "smooth", "aria-label": "smoothing" });
  const groupSel = h("select", { "aria-label": "group runs by", id: "group" }, opt("", "no grouping", params.get("group")),
    differing.map(k => opt("params." + k, k, params.get("group"))), res.tags.map(k => opt("tags." + k, "tag " + k, params.get("group"))));
  const bandSel = h("select", { "aria-label": "band around the mean", id: "band" }, opt("minmax", "min–max", params.get("band") || "minmax"), opt("std", "± std", params.get("band")));
  const only = h("input", { type: "checkbox", id: "only-diff", checked: params.get("all") !== "1" });
  const pcMetric = h("select", { "aria-label": "metric of the parallel coordinates", id: "pc-metric" }, res.metrics.map(m => opt(m, m, params.get("pc") || params.get("metric"))));
  const box = h("div", { class: "chart", id: "compare-chart" });
  const tableBox = h("div");
  const pc = h("div", { id: "parallel" });
  const small = h("div", { class: "charts", id: "all-charts" });
  const pickRun = (id, i, label) => h("select", { id, "aria-label": label }, res.runs.map((r, j) => opt(r.id, r.name, res.runs[i] && res.runs[i].id)));
  // Runs come newest first: the diff goes from the older to the newer.
  const diffA = pickRun("diff-a", Math.min(1, res.runs.length - 1), "first run of the code diff"), diffB = pickRun("diff-b", 0, "second run of the code diff");
  const diffGo = h("button", { id: "diff-compare" }, "Diff the code");
  const diffOut = h("pre", { id: "compare-diff" });
  diffGo.addEventListener("click", async () => {
    try {
      const d = await api("diff", { a: diffA.value, b: diffB.value });
      renderDiff(diffOut, d.code || "(no change in the code)");
    } catch (e) { diffOut.replaceChildren(h("span", { class: "error" }, e.message)); }
  });
  const missing = ids.length - res.runs.length;
  show(h("h2", {}, "Compare " + res.runs.length + " runs"),
    missing > 0 ? h("p", { class: "error", role: "alert" }, missing + " of the runs asked for are not here (fetched elsewhere, or removed)") : null,
    h("div", { class: "bar" }, h("label", {}, "metric ", metricSel), h("label", {}, "x ", xSel), h("label", {}, log, " log scale"),
      h("label", {}, "smoothing ", smooth), h("label", {}, "group by ", groupSel), h("label", {}, "band ", bandSel)),
    box,
    // Sections below the first screen are laid out when scrolled to
    // (content-visibility): a table of 50 runs by 100 metrics costs
    // nothing until it is looked at.
    h("section", { class: "later" }, h("h3", {}, "Params and metrics"), h("div", { class: "bar" }, h("label", {}, only, " only differences")), tableBox),
    h("section", { class: "later" }, h("h3", {}, "Parallel coordinates"), h("div", { class: "bar" }, h("label", {}, "against ", pcMetric)), pc),
    h("section", { class: "later" }, h("h3", {}, "Code"), h("div", { class: "bar" }, diffA, "→", diffB, diffGo), diffOut),
    h("section", {}, h("h3", {}, "Every metric"), small));
  const sync = () => {
    const p = new URLSearchParams({ runs: ids.join(","), metric: metricSel.value, x: xSel.value });
    if (log.checked) p.set("log", "1");
    if (+smooth.value) p.set("smooth", smooth.value);
    if (groupSel.value) { p.set("group", groupSel.value); p.set("band", bandSel.value); }
    if (!only.checked) p.set("all", "1");
    if (pcMetric.value !== metricSel.value) p.set("pc", pcMetric.value);
    history.replaceState(null, "", "#/compare?" + p);
  };
  const runIDs = res.runs.map(r => r.id);
  let observer, drawn = 0;
  const chartOpts = () => ({ x: xSel.value, log: log.checked, smooth: +smooth.value, group: groupSel.value, band: bandSel.value });
  const drawCharts = async () => {
    bandSel.disabled = !groupSel.value;
    const gen = ++drawn;
    box.replaceChildren();
    if (observer) observer.disconnect();
    sync();
    if (metricSel.value) await chart(box, runIDs, metricSel.value, { ...chartOpts(), width, height: 380, alive: () => gen === drawn });
    // The small charts wait for the big one: their calls would share the
    // server with it.
    if (gen === drawn) observer = lazyCharts(small, runIDs, res.metrics, { ...chartOpts(), width: 340, height: 180, small: true });
  };
  const drawTable = () => { tableBox.replaceChildren(compareTable(res, only.checked)); sync(); };
  // The widths are read before the table is in the page: reading one
  // after makes the browser lay the whole table out at once.
  const width = Math.min(1100, Math.max(400, main().clientWidth - 40));
  const drawPC = () => { parallel(pc, res, differing, pcMetric.value, width); sync(); };
  for (const el of [metricSel, xSel, log, smooth, groupSel, bandSel]) el.addEventListener("change", drawCharts);
  only.addEventListener("change", drawTable);
  pcMetric.addEventListener("change", drawPC);
  drawTable();
  drawPC();
  await drawCharts();
  performance.mark("gitruns:compare");
}

function compareTable(res, onlyDiff) {
  const params = onlyDiff ? res.params.slice(0, res.differing.params) : res.params;
  const metrics = onlyDiff ? res.metrics.slice(0, res.differing.metrics) : res.metrics;
  const head = h("tr", {}, h("th", { scope: "col" }, "key"), res.runs.map((r, i) => h("th", { scope: "col" }, h("span", { class: "swatch", "aria-hidden": "true" }, "■"), " ", h("a", { href: "#/run/" + encodeURIComponent(r.id) }, r.name))));
  head.querySelectorAll(".swatch").forEach((s, i) => { s.style.color = colour(i); });
  const rows = [
    ...params.map(k => h("tr", {}, h("th", { scope: "row" }, "params." + k), res.runs.map(r => h("td", {}, fmt(r.params[k]))))),
    ...metrics.map(k => h("tr", {}, h("th", { scope: "row" }, "metrics." + k), res.runs.map(r => h("td", {}, r.metrics[k] ? fmt(r.metrics[k].last) : "")))),
  ];
  if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: res.runs.length + 1, class: "muted" }, "no param or metric differs between these runs")));
  return h("table", { class: "kv", id: "compare-table" }, head, rows);
}
