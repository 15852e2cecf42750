// The web UI of git-runs: a client of the server's /ui/api/, which does
// the querying, sorting, paging and downsampling. Every value from a
// record is put on the page as text (createTextNode, textContent), never
// as markup: records come from teammates' pushes.
"use strict";

const ROW = 28;       // px, as --row in app.css
const PAGE = 200;     // runs fetched at a time
const COL = 130;      // px of a param or metric column
const COLOURS = ["#0550ae", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d82", "#6e7781", "#953800", "#116329"];

// h makes an element: attrs set as attributes (on* names are refused),
// children appended, strings as text.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) throw new Error("no inline handlers");
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (Array.isArray(v)) v.forEach(x => q.append(k, x));
    else if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const res = await fetch("/ui/api/" + path + (q.toString() ? "?" + q : ""));
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (!isFinite(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4) : String(+v.toPrecision(6));
  }
  if (Array.isArray(v)) return "[" + v.map(fmt).join(", ") + "]";
  return String(v);
}

function ago(iso) {
  if (!iso) return "";
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 90) return Math.round(s) + "s ago";
  if (s < 5400) return Math.round(s / 60) + "m ago";
  if (s < 129600) return Math.round(s / 3600) + "h ago";
  return new Date(iso).toISOString().slice(0, 10);
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

function go(path, params) {
  const q = params && params.toString();
  location.hash = path + (q ? "?" + q : "");
}

const main = () => document.getElementById("main");

function show(...nodes) {
  const m = main();
  m.replaceChildren(...nodes);
}

async function route() {
  const { path, params } = parseHash();
  try {
    if (path.startsWith("/run/")) await viewRun(decodeURIComponent(path.slice(5)), params);
    else if (path === "/compare") await viewCompare(params);
    else await viewRuns(params);
  } catch (e) {
    show(h("p", { class: "error", role: "alert" }, e.message));
  }
}

// ---- the runs table ----

async function viewRuns(params) {
  const state = {
    where: params.get("where") || "", sort: params.get("sort") || "", desc: params.get("desc") === "1",
    cols: params.get("cols") ? params.get("cols").split(",") : null, selected: new Set((params.get("sel") || "").split(",").filter(Boolean)),
  };
  const box = h("input", { type: "search", "aria-label": "Filter runs (the query language of --where)", placeholder: "metrics.acc > 0.9 and params.model = 'rf'", value: state.where, id: "where" });
  const err = h("div", { class: "error", role: "alert", id: "where-error" });
  const count = h("span", { class: "muted", id: "count" });
  const compare = h("button", { id: "compare", disabled: true }, "Compare");
  const colsBtn = h("button", { id: "columns-button", "aria-expanded": "false" }, "Columns");
  const table = h("div", { class: "table", role: "grid", "aria-label": "Runs", id: "runs" });
  const groupSel = h("select", { "aria-label": "group by", id: "group-by" }, h("option", { value: "" }, "no grouping"));
  const groupMetric = h("select", { "aria-label": "metric of the groups", id: "group-metric" });
  const groups = h("div", { id: "groups" });
  show(h("div", { class: "bar" }, box, colsBtn, compare, count, h("label", {}, "group by ", groupSel), h("label", {}, "mean of ", groupMetric)), err, groups, table);
  let groupsAsked = 0;
  const showGroups = async () => {
    const n = ++groupsAsked; // an older answer arriving late is dropped
    if (!groupSel.value) { groups.replaceChildren(); return; }
    let view;
    try {
      const g = await api("groups", { by: groupSel.value, metric: groupMetric.value, where: state.where });
      view = h("table", { class: "kv", id: "groups-table" },
        h("tr", {}, h("th", { scope: "col" }, groupSel.value), h("th", { scope: "col" }, "runs"), h("th", { scope: "col" }, groupMetric.value ? "mean ± std of " + groupMetric.value : "")),
        g.groups.map(x => h("tr", {}, h("td", {}, x.value === "" ? "(none)" : x.value), h("td", {}, String(x.runs.length)),
          h("td", {}, x.n ? fmt(x.mean) + " ± " + fmt(x.std) + " (" + x.n + ")" : ""))));
    } catch (e) { view = h("p", { class: "error" }, e.message); }
    if (n === groupsAsked) groups.replaceChildren(view);
  };
  groupSel.addEventListener("change", showGroups);
  groupMetric.addEventListener("change", showGroups);

  const update = () => {
    const p = new URLSearchParams();
    if (state.where) p.set("where", state.where);
    if (state.sort) p.set("sort", state.sort);
    if (state.desc) p.set("desc", "1");
    if (state.cols) p.set("cols", state.cols.join(","));
    if (state.selected.size) p.set("sel", [...state.selected].join(","));
    history.replaceState(null, "", "#/" + (p.toString() ? "?" + p : ""));
  };
  const refreshCompare = () => {
    compare.disabled = state.selected.size < 2 || state.selected.size > 50;
    compare.textContent = "Compare (" + state.selected.size + ")";
  };
  refreshCompare();
  compare.addEventListener("click", () => go("/compare", new URLSearchParams({ runs: [...state.selected].join(",") })));

  let grid, poll;
  const load = async () => {
    // Marks in the page's performance timeline, which the browser
    // benchmarks read: when a query was asked, and when its rows showed.
    performance.mark("gitruns:query");
    err.textContent = "";
    try {
      const first = await api("runs", { where: state.where, sort: state.sort, desc: state.desc ? "1" : "", limit: PAGE });
      const keep = groupSel.value, keepM = groupMetric.value;
      groupSel.replaceChildren(h("option", { value: "" }, "no grouping"), ...first.params.map(k => h("option", { value: "params." + k, selected: "params." + k === keep }, k)));
      groupMetric.replaceChildren(h("option", { value: "" }, ""), ...first.metrics.map(k => h("option", { value: k, selected: k === keepM }, k)));
      showGroups();
      grid = new RunGrid(table, first, state, { onSort: key => {
        if (state.sort === key) state.desc = !state.desc; else { state.sort = key; state.desc = true; }
        update(); load();
      }, onSelect: () => { refreshCompare(); update(); } });
      count.textContent = first.total + (first.total === 1 ? " run" : " runs");
      box.removeAttribute("aria-invalid");
      clearInterval(poll);
      // Live runs update in place: the pages in view are fetched again.
      poll = setInterval(() => { if (!document.getElementById("runs")) clearInterval(poll); else if (grid.hasLive()) grid.refresh(); }, 2000);
    } catch (e) {
      err.textContent = e.message;
      box.setAttribute("aria-invalid", "true");
    }
  };
  let timer;
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.where = box.value.trim(); update(); load(); }, 250);
  });
  colsBtn.addEventListener("click", () => grid && grid.pickColumns(colsBtn, cols => { state.cols = cols; update(); load(); }));
  await load();
}

// RunGrid is the virtualized table: only the rows and columns in view
// are in the page, and pages of runs are fetched as they scroll into it.
class RunGrid {
  constructor(el, first, state, on) {
    this.el = el; this.state = state; this.on = on;
    this.total = first.total; this.pages = new Map([[0, first.runs]]);
    this.allParams = first.params; this.allMetrics = first.metrics;
    const dp = first.params.slice(0, first.differing.params), dm = first.metrics.slice(0, first.differing.metrics);
    const picked = state.cols || [...dp.slice(0, 12).map(k => "params." + k), ...dm.slice(0, 12).map(k => "metrics." + k)];
    this.columns = [
      { key: "sel", label: "", cls: "sel" }, { key: "name", label: "name", cls: "name" },
      { key: "status", label: "status" }, { key: "started", label: "started" },
      ...picked.map(k => ({ key: k, label: k.replace(/^(params|metrics)\./, "") })),
    ];
    this.head = h("div", { class: "head", role: "row" });
    this.body = h("div", { class: "rows", role: "rowgroup" });
    el.replaceChildren(this.head, this.body);
    this.body.style.height = this.total * ROW + "px";
    this.body.style.width = this.width() + "px";
    el.onscroll = () => this.render();
    el.onkeydown = e => this.key(e);
    this.render();
  }
  hasLive() {
    for (const [k, page] of this.pages) if (typeof k === "number" && page.some(r => r.status === "running")) return true;
    return false;
  }
  async refresh() {
    for (const k of [...this.pages.keys()].filter(k => typeof k === "number")) {
      const res = await api("runs", { where: this.state.where, sort: this.state.sort, desc: this.state.desc ? "1" : "", offset: k, limit: PAGE, columns: "0" });
      this.pages.set(k, res.runs);
      if (res.total !== this.total) { this.total = res.total; this.body.style.height = this.total * ROW + "px"; }
    }
    this.render();
  }
  width() { return this.columns.reduce((w, c) => w + (c.cls === "sel" ? 34 : c.cls === "name" ? 200 : COL), 0); }
  visibleColumns() {
    // Columns are virtualized too: 10,000 metric columns cost what shows.
    const left = this.el.scrollLeft, right = left + this.el.clientWidth + COL;
    let x = 0; const out = [];
    for (const c of this.columns) {
      const w = c.cls === "sel" ? 34 : c.cls === "name" ? 200 : COL;
      if (x + w >= left - COL && x <= right) out.push({ c, x, w });
      x += w;
    }
    return out;
  }
  render() {
    const cols = this.visibleColumns();
    this.head.replaceChildren(...cols.map(({ c, x, w }) => {
      const cell = h("div", { class: "cell " + (c.cls || ""), role: "columnheader", tabindex: c.key === "sel" ? null : "0",
        "aria-sort": this.state.sort === sortKey(c.key) ? (this.state.desc ? "descending" : "ascending") : null, title: c.key }, c.label);
      cell.style.position = "absolute"; cell.style.left = x + "px"; cell.style.width = w + "px";
      if (c.key !== "sel") {
        cell.addEventListener("click", () => this.on.onSort(sortKey(c.key)));
        cell.addEventListener("keydown", e => { if (e.key === "Enter") this.on.onSort(sortKey(c.key)); });
      }
      return cell;
    }));
    this.head.style.width = this.width() + "px";
    const top = this.el.scrollTop, first = Math.max(0, Math.floor(top / ROW) - 5);
    const last = Math.min(this.total, Math.ceil((top + this.el.clientHeight) / ROW) + 5);
    const rows = [];
    for (let i = first; i < last; i++) {
      const r = this.runAt(i);
      rows.push(r ? this.row(r, i, cols) : this.placeholder(i));
    }
    this.body.replaceChildren(...rows);
    if (rows.length && !this.painted) { this.painted = true; performance.mark("gitruns:rows"); }
  }
  runAt(i) {
    const p = Math.floor(i / PAGE) * PAGE, page = this.pages.get(p);
    if (page) return page[i - p];
    if (!this.pages.has("loading" + p)) {
      this.pages.set("loading" + p, true);
      api("runs", { where: this.state.where, sort: this.state.sort, desc: this.state.desc ? "1" : "", offset: p, limit: PAGE, columns: "0" })
        .then(res => { this.pages.set(p, res.runs); this.render(); });
    }
    return null;
  }
  placeholder(i) {
    const el = h("div", { class: "row muted", role: "row" }, h("div", { class: "cell" }, "…"));
    el.style.top = i * ROW + "px";
    return el;
  }
  row(r, i, cols) {
    const el = h("div", { class: "row" + (this.state.selected.has(r.id) ? " selected" : ""), role: "row", tabindex: "0", "data-id": r.id, "data-index": i });
    el.style.top = i * ROW + "px"; el.style.width = this.width() + "px";
    for (const { c, x, w } of cols) {
      const cell = this.cell(r, c);
      cell.style.position = "absolute"; cell.style.left = x + "px"; cell.style.width = w + "px";
      el.append(cell);
    }
    return el;
  }
  cell(r, c) {
    if (c.key === "sel") {
      const box = h("input", { type: "checkbox", "aria-label": "select " + r.name, checked: this.state.selected.has(r.id) });
      box.addEventListener("change", () => { this.toggle(r.id); });
      return h("div", { class: "cell sel", role: "gridcell" }, box);
    }
    if (c.key === "name") return h("div", { class: "cell name", role: "gridcell" }, h("a", { href: "#/run/" + encodeURIComponent(r.id) }, r.name), r.parent ? h("span", { class: "muted" }, " ⊂ " + r.parent.name) : null);
    if (c.key === "status") return h("div", { class: "cell status-" + r.status, role: "gridcell" }, r.status + (r.live ? " ●" : ""));
    if (c.key === "started") return h("div", { class: "cell", role: "gridcell", title: r.started }, ago(r.started));
    let v = "";
    if (c.key.startsWith("params.")) v = fmt(r.params[c.key.slice(7)]);
    else if (c.key.startsWith("metrics.")) { const m = r.metrics[c.key.slice(8)]; v = m ? fmt(m.last) : ""; }
    return h("div", { class: "cell", role: "gridcell", title: v }, v);
  }
  toggle(id) {
    if (this.state.selected.has(id)) this.state.selected.delete(id); else this.state.selected.add(id);
    this.on.onSelect(); this.render();
  }
  key(e) {
    const row = e.target.closest && e.target.closest(".row");
    if (!row) return;
    const i = +row.dataset.index;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const j = Math.max(0, Math.min(this.total - 1, i + (e.key === "ArrowDown" ? 1 : -1)));
      if (j * ROW < this.el.scrollTop + ROW || (j + 2) * ROW > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = Math.max(0, j * ROW - this.el.clientHeight / 2);
      this.render();
      const next = this.body.querySelector('[data-index="' + j + '"]');
      if (next) next.focus();
    } else if (e.key === " ") { e.preventDefault(); this.toggle(row.dataset.id); }
    else if (e.key === "Enter") go("/run/" + encodeURIComponent(row.dataset.id));
  }
  pickColumns(button, done) {
    const old = document.getElementById("columns");
    if (old) { old.remove(); button.setAttribute("aria-expanded", "false"); return; }
    const chosen = new Set(this.columns.map(c => c.key).filter(k => k.includes(".")));
    const search = h("input", { type: "search", placeholder: "find a column", "aria-label": "find a column" });
    const list = h("div");
    const fill = () => {
      const q = search.value.toLowerCase(), keys = [...this.allParams.map(k => "params." + k), ...this.allMetrics.map(k => "metrics." + k)];
      list.replaceChildren(...keys.filter(k => k.toLowerCase().includes(q)).slice(0, 300).map(k => {
        const box = h("input", { type: "checkbox", checked: chosen.has(k) });
        box.addEventListener("change", () => { if (box.checked) chosen.add(k); else chosen.delete(k); });
        return h("label", {}, box, " " + k);
      }));
    };
    search.addEventListener("input", fill);
    const apply = h("button", {}, "Apply");
    apply.addEventListener("click", () => { panel.remove(); done([...chosen]); });
    const panel = h("div", { class: "columns", id: "columns", role: "dialog", "aria-label": "Columns" }, search, apply, list);
    button.after(panel); button.setAttribute("aria-expanded", "true"); fill(); search.focus();
  }
}

function sortKey(col) {
  return { name: "attributes.run_name", status: "attributes.status", started: "attributes.started" }[col] || col;
}

// ---- one run ----

async function viewRun(id, params) {
  const r = await api("runs/" + encodeURIComponent(id));
  const kv = (obj, fmtv) => h("table", { class: "kv" }, Object.keys(obj || {}).sort().map(k => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, fmtv ? fmtv(obj[k]) : fmt(obj[k])))));
  const attrs = { status: r.status, experiment: r.experiment, started: r.started, ended: r.ended || "", commit: r.source.commit, branch: r.source.branch, dirty: r.source.dirty, "run commit": r.commit };
  if (r.command && r.command.length) attrs.command = r.command.join(" ");
  if (r.parent) attrs.parent = r.parent.name;
  const charts = h("div", { class: "charts", id: "charts" });
  const out = h("pre", { id: "output", "aria-label": "output" });
  const outSearch = h("input", { type: "search", id: "output-search", placeholder: "find in the output", "aria-label": "find in the output" });
  const arts = h("ul", {}, (r.artifacts || []).map(a => {
    const url = "/get-artifact?" + new URLSearchParams({ run_uuid: r.id, path: a.path });
    const item = h("li", {}, h("a", { href: url, download: a.path.split("/").pop() }, a.path), " " + a.size + " B");
    if (/\.(png|jpe?g|gif|webp)$/i.test(a.path)) item.append(h("br"), h("img", { src: url, alt: a.path, class: "thumb" }));
    else if (/\.(txt|json|ya?ml|csv|log|md|toml|py)$|MLmodel$/i.test(a.path) && a.size <= 65536) {
      const pre = h("pre", { class: "artifact-text", "data-path": a.path });
      fetch(url).then(r => r.text()).then(t => { pre.textContent = t; });
      item.append(pre);
    }
    return item;
  }));
  const diffBox = h("pre", { id: "diff" });
  const diffBtn = h("button", { id: "diff-worktree" }, "Diff against the work tree");
  const other = h("input", { type: "text", id: "diff-other", placeholder: "another run (id, prefix, name, @~1)", "aria-label": "run to diff against" });
  const otherBtn = h("button", { id: "diff-run" }, "Diff against it");
  show(
    h("h2", {}, r.name + " ", h("span", { class: "muted" }, r.id)),
    h("section", {}, kv(attrs)),
    h("section", {}, h("h3", {}, "Params"), kv(r.params)),
    h("section", {}, h("h3", {}, "Tags"), kv(r.tags)),
    h("section", {}, h("h3", {}, "Metrics"), charts),
    h("section", {}, h("h3", {}, "Artifacts"), arts),
    h("section", {}, h("h3", {}, "Output"), outSearch, out),
    h("section", {}, h("h3", {}, "Code"), h("div", { class: "bar" }, diffBtn, other, otherBtn), diffBox),
  );
  for (const key of Object.keys(r.metrics || {}).sort().slice(0, 50)) {
    const box = h("div", { class: "chart", "data-metric": key }, h("h3", {}, key));
    charts.append(box);
    chart(box, [r.id], key, { width: 420, height: 220 });
  }
  await showOutput(r.id, out, outSearch);
  const diffWith = async b => {
    try {
      const d = await api("diff", { a: r.id, b });
      renderDiff(diffBox, d.code || "(no change in the code)");
    } catch (e) { diffBox.replaceChildren(h("span", { class: "error" }, e.message)); }
  };
  diffBtn.addEventListener("click", () => diffWith("worktree"));
  otherBtn.addEventListener("click", () => other.value.trim() && diffWith(other.value.trim()));
  if (r.status === "running") {
    // A live run's page follows it: its charts and record, every 5 s.
    const timer = setInterval(() => {
      if (!document.getElementById("charts")) { clearInterval(timer); return; }
      route();
    }, 5000);
  }
}

// showOutput puts a run's output log into pre, a page at a time, its
// terminal colours as classes, as text; search keeps the lines that hold
// what is typed.
async function showOutput(id, pre, search) {
  let text = "", next = 0;
  const more = h("button", { id: "output-more" }, "Load more");
  const draw = () => {
    const q = search.value;
    const lines = text.split("\n").filter(l => !q || stripANSI(l).includes(q));
    pre.replaceChildren(...lines.map(l => h("span", {}, ...ansiSpans(l), "\n")));
    if (!text) pre.textContent = "(no output kept)";
    if (next >= 0) pre.append(more);
  };
  const page = async () => {
    const o = await api("output", { run: id, offset: next });
    text += o.text; next = o.next;
    draw();
  };
  more.addEventListener("click", page);
  search.addEventListener("input", draw);
  await page();
}

const ESC = String.fromCharCode(27);
const SGR = new RegExp(ESC + "\\[([0-9;]*)m", "g");
const CSI = new RegExp(ESC + "\\[[0-9;?]*[A-Za-z]|" + ESC + "\\][^" + String.fromCharCode(7) + "]*" + String.fromCharCode(7) + "?", "g");

function stripANSI(s) { return s.replace(CSI, ""); }

// ansiSpans turns a line with SGR colour codes into spans of classes
// (ansi-fg-1, ansi-bold): text only, the codes never reach the page.
function ansiSpans(line) {
  const out = []; let cls = [], last = 0, m;
  SGR.lastIndex = 0;
  while ((m = SGR.exec(line)) !== null) {
    if (m.index > last) out.push(h("span", { class: cls.join(" ") || null }, stripANSI(line.slice(last, m.index))));
    for (const code of (m[1] || "0").split(";").map(Number)) {
      if (code === 0) cls = [];
      else if (code === 1) cls.push("ansi-bold");
      else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) cls = cls.filter(c => !c.startsWith("ansi-fg")).concat("ansi-fg-" + (code % 10 + (code >= 90 ? 8 : 0)));
    }
    last = SGR.lastIndex;
  }
  out.push(h("span", { class: cls.join(" ") || null }, stripANSI(line.slice(last))));
  return out;
}

function renderDiff(pre, text) {
  pre.replaceChildren(...text.split("\n").map(l => h("span", { class: l.startsWith("+") ? "diff-add" : l.startsWith("-") ? "diff-del" : l.startsWith("@@") ? "diff-hunk" : null }, l + "\n")));
}

// ---- charts ----

// chart draws the history of key for runs into box, asking the server for
// one bucket a pixel, and for finer ones when zoomed.
async function chart(box, runs, key, o) {
  const q = { run: runs, key, width: o.width, x: o.x || "step" };
  const res = await api("history", q);
  const data = align(res.series, o.smooth || 0);
  const series = [{ label: { step: "step", time: "time", relative: "ms since start" }[q.x] }];
  res.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    if (o.smooth) series.push({ label: s.name + " (raw)", stroke: colour + "40", width: 1 });
    series.push({ label: s.name, stroke: colour, width: 1.5 });
  });
  const plot = new uPlot({
    width: o.width, height: o.height, series,
    scales: { x: { time: q.x === "time" }, y: { distr: o.log ? 3 : 1 } },
    axes: [{}, {}],
    cursor: { drag: { x: true, y: false } },
    hooks: { setScale: [(u, k) => { if (k === "x") refine(u); }] },
  }, data, box);
  performance.mark("gitruns:chart");
  box.dataset.series = String(res.series.length);
  box.dataset.last = res.series.map(s => { const l = s.last[s.last.length - 1]; return l === null ? "" : String(l); }).join(",");
  let pending = false;
  async function refine(u) {
    if (pending) return;
    const min = u.scales.x.min, max = u.scales.x.max;
    if (min === null || max === null || !(min < max)) return;
    pending = true;
    try {
      const r = await api("history", { ...q, from: min, to: max });
      u.setData(align(r.series, o.smooth || 0), false);
    } finally { pending = false; }
  }
  return plot;
}

// align puts series of different x onto one x axis, as uPlot takes them,
// with a faint raw line behind each smoothed one when smoothing.
function align(series, smooth) {
  const xs = [...new Set(series.flatMap(s => s.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const cols = [xs];
  for (const s of series) {
    const raw = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => { raw[at.get(x)] = s.last[i]; });
    if (smooth) {
      const sm = raw.slice(); let acc = null;
      for (let i = 0; i < sm.length; i++) {
        if (sm[i] === null) continue;
        acc = acc === null ? sm[i] : smooth * acc + (1 - smooth) * sm[i];
        sm[i] = acc;
      }
      cols.push(raw, sm);
    } else cols.push(raw);
  }
  return cols;
}

// ---- compare ----

async function viewCompare(params) {
  const ids = (params.get("runs") || "").split(",").filter(Boolean);
  if (ids.length < 1) throw new Error("no runs to compare: select them in the table");
  const where = "attributes.run_id IN (" + ids.map(i => "'" + i.replace(/'/g, "''") + "'").join(", ") + ")";
  const res = await api("runs", { where, limit: 50 });
  const metricSel = h("select", { "aria-label": "metric", id: "metric" }, res.metrics.map(m => h("option", { value: m, selected: m === params.get("metric") }, m)));
  const xSel = h("select", { "aria-label": "x axis", id: "x" }, ["step", "time", "relative"].map(x => h("option", { value: x, selected: x === (params.get("x") || "step") }, x)));
  const log = h("input", { type: "checkbox", id: "log", checked: params.get("log") === "1" });
  const smooth = h("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: params.get("smooth") || "0", id: "smooth", "aria-label": "smoothing" });
  const only = h("input", { type: "checkbox", id: "only-diff", checked: params.get("all") !== "1" });
  const box = h("div", { class: "chart", id: "compare-chart" });
  const tableBox = h("div");
  const pickRun = (id, i) => h("select", { id, "aria-label": id === "diff-a" ? "first run of the code diff" : "second run of the code diff" },
    res.runs.map((r, j) => h("option", { value: r.id, selected: j === i }, r.name)));
  // Runs come newest first: the diff goes from the older to the newer.
  const diffA = pickRun("diff-a", Math.min(1, res.runs.length - 1)), diffB = pickRun("diff-b", 0);
  const diffGo = h("button", { id: "diff-compare" }, "Diff the code");
  const diffOut = h("pre", { id: "compare-diff" });
  diffGo.addEventListener("click", async () => {
    try {
      const d = await api("diff", { a: diffA.value, b: diffB.value });
      renderDiff(diffOut, d.code || "(no change in the code)");
    } catch (e) { diffOut.replaceChildren(h("span", { class: "error" }, e.message)); }
  });
  show(h("h2", {}, "Compare " + res.runs.length + " runs"),
    h("div", { class: "bar" }, h("label", {}, "metric ", metricSel), h("label", {}, "x ", xSel), h("label", {}, log, " log"), h("label", {}, "smoothing ", smooth), h("label", {}, only, " only differences")),
    box, tableBox, h("h3", {}, "Code"), h("div", { class: "bar" }, diffA, "→", diffB, diffGo), diffOut);
  const sync = () => {
    const p = new URLSearchParams({ runs: ids.join(","), metric: metricSel.value, x: xSel.value });
    if (log.checked) p.set("log", "1");
    if (+smooth.value) p.set("smooth", smooth.value);
    if (!only.checked) p.set("all", "1");
    history.replaceState(null, "", "#/compare?" + p);
  };
  const draw = () => {
    box.replaceChildren();
    if (metricSel.value) chart(box, res.runs.map(r => r.id), metricSel.value, { width: Math.min(1100, main().clientWidth - 40), height: 380, x: xSel.value, log: log.checked, smooth: +smooth.value });
    tableBox.replaceChildren(compareTable(res, only.checked));
    sync();
  };
  for (const el of [metricSel, xSel, log, smooth, only]) el.addEventListener("change", draw);
  draw();
}

function compareTable(res, onlyDiff) {
  const params = onlyDiff ? res.params.slice(0, res.differing.params) : res.params;
  const metrics = onlyDiff ? res.metrics.slice(0, res.differing.metrics) : res.metrics;
  const head = h("tr", {}, h("th", {}, ""), res.runs.map(r => h("th", { scope: "col" }, h("a", { href: "#/run/" + encodeURIComponent(r.id) }, r.name))));
  const rows = [
    ...params.map(k => h("tr", {}, h("th", { scope: "row" }, "params." + k), res.runs.map(r => h("td", {}, fmt(r.params[k]))))),
    ...metrics.map(k => h("tr", {}, h("th", { scope: "row" }, "metrics." + k), res.runs.map(r => h("td", {}, r.metrics[k] ? fmt(r.metrics[k].last) : "")))),
  ];
  return h("table", { class: "kv", id: "compare-table" }, head, rows);
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
