// The runs table: queried, sorted and paged on the server; virtualized in
// rows and in columns, so 100,000 runs and 10,000 columns cost what shows.
"use strict";

async function viewRuns(params) {
  const cols = params.get("cols");
  const state = {
    where: params.get("where") || "", sort: params.get("sort") || "", desc: params.get("desc") === "1",
    cols: cols ? cols.split(",") : null, selected: new Set((params.get("sel") || "").split(",").filter(Boolean)),
  };
  const box = h("input", { type: "search", "aria-label": "Filter runs (the query language of --where)", placeholder: "metrics.acc > 0.9 and params.model = 'rf'", value: state.where, id: "where", "aria-describedby": "where-error" });
  const err = h("div", { class: "error", role: "alert", id: "where-error" });
  const count = h("span", { class: "muted", id: "count", "aria-live": "polite" });
  const compare = h("button", { id: "compare", disabled: true }, "Compare");
  const colsBtn = h("button", { id: "columns-button", "aria-expanded": "false", "aria-controls": "columns" }, "Columns");
  const table = h("div", { class: "table", role: "grid", "aria-label": "Runs", id: "runs" });
  const groupBy = keyInput("group-by", "group by a param or tag", "params.lr"), groupSel = groupBy.input;
  const groupOf = keyInput("group-metric", "metric of the groups", "a metric"), groupMetric = groupOf.input;
  const groups = h("div", { id: "groups" });
  show(h("div", { class: "bar" }, box, colsBtn, compare, count, h("label", {}, "group by ", groupBy.el), h("label", {}, "mean of ", groupOf.el)), err, groups, table);
  let groupsAsked = 0;
  const showGroups = async () => {
    const n = ++groupsAsked; // an older answer arriving late is dropped
    if (!groupSel.value) { groups.replaceChildren(); return; }
    let view;
    try {
      const g = await api("groups", { by: groupSel.value, metric: groupMetric.value, where: state.where });
      view = h("table", { class: "kv", id: "groups-table" },
        h("tr", {}, h("th", { scope: "col" }, keyLabel(groupSel.value)), h("th", { scope: "col" }, "runs"), h("th", { scope: "col" }, groupMetric.value ? "mean ± std of " + groupMetric.value : "")),
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
    if (state.cols) p.set("cols", state.cols.join(",")); // keys hold no commas
    if (state.selected.size) p.set("sel", [...state.selected].join(","));
    history.replaceState(null, "", "#/" + (p.toString() ? "?" + p : ""));
  };
  const refreshCompare = () => {
    compare.disabled = state.selected.size < 2 || state.selected.size > 50;
    compare.textContent = "Compare (" + state.selected.size + ")";
    compare.title = state.selected.size > 50 ? "at most 50 runs" : state.selected.size < 2 ? "select 2 to 50 runs" : "";
  };
  refreshCompare();
  compare.addEventListener("click", () => go("/compare", new URLSearchParams({ runs: [...state.selected].join(",") })));

  let grid, poll, asked = 0;
  const load = async () => {
    // Marks in the page's performance timeline, which the browser
    // benchmarks read: when a query was asked, and when its rows showed.
    performance.mark("gitruns:query");
    const n = ++asked;
    try {
      const first = await api("runs", { ...query(state), limit: PAGE, record: "0", col: state.cols ? (state.cols.length ? state.cols : [""]) : undefined, cells: BLOCK });
      if (n !== asked) return; // typing went on: a newer query is coming
      err.textContent = "";
      groupBy.setKeys(first.params.map(k => "params." + k).concat(first.tags.map(k => "tags." + k)));
      groupOf.setKeys(first.metrics);
      showGroups();
      if (grid) grid.close();
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
      if (n !== asked) return;
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

// query is the part of a table's calls that names its runs and order.
function query(state) {
  return { where: state.where, sort: state.sort, desc: state.desc ? "1" : "" };
}

// The columns every table has, before the chosen ones.
const FIXED = [
  { key: "sel", label: "", cls: "sel", w: 34 },
  { key: "attributes.run_name", label: "name", cls: "name", w: 200 },
  { key: "attributes.status", label: "status", w: 110 },
  { key: "attributes.started", label: "started", w: 100 },
];

// RunGrid is the virtualized table: only the rows and columns in view
// are in the page, and blocks of rows and columns are fetched as they
// scroll into it.
class RunGrid {
  constructor(el, first, state, on) {
    this.el = el; this.state = state; this.on = on;
    this.total = first.total;
    this.keys = first.cols;
    this.all = { params: first.params, metrics: first.metrics, tags: first.tags };
    this.columns = [...FIXED, ...this.keys.map((k, i) => ({ key: k, label: keyLabel(k), kind: k.split(".")[0], data: i, w: COL }))];
    let x = 0;
    for (const c of this.columns) { c.x = x; x += c.w; }
    this.width = x;
    // A block of rows and columns: rows p.., columns b*BLOCK..
    this.blocks = new Map([["0:0", first.runs]]);
    this.head = h("div", { class: "head", role: "row" });
    this.body = h("div", { class: "rows", role: "rowgroup" });
    el.replaceChildren(this.head, this.body);
    this.body.style.height = this.total * ROW + "px";
    this.body.style.width = this.width + "px";
    this.head.style.width = this.width + "px";
    this.frame = 0;
    el.onscroll = () => { if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); }); };
    el.onkeydown = e => this.key(e);
    this.render();
  }
  close() { this.closed = true; }
  hasLive() {
    for (const page of this.blocks.values()) if (Array.isArray(page) && page.some(r => r.status === "running")) return true;
    return false;
  }
  fetchBlock(p, b) {
    const cols = this.keys.slice(b * BLOCK, (b + 1) * BLOCK);
    return api("runs", { ...query(this.state), offset: p, limit: PAGE, columns: "0", record: "0", col: cols.length ? cols : [""] });
  }
  async refresh() {
    for (const k of [...this.blocks.keys()]) {
      if (!Array.isArray(this.blocks.get(k))) continue;
      const [p, b] = k.split(":").map(Number);
      const res = await this.fetchBlock(p, b);
      if (this.closed) return;
      this.blocks.set(k, res.runs);
      if (res.total !== this.total) { this.total = res.total; this.body.style.height = this.total * ROW + "px"; }
    }
    this.render();
  }
  // block returns the runs of rows p.. with the cells of columns
  // b*BLOCK.., asking for them when they are not here yet.
  block(p, b) {
    const k = p + ":" + b, got = this.blocks.get(k);
    if (got === undefined) {
      this.blocks.set(k, "loading");
      this.fetchBlock(p, b).then(res => { this.blocks.set(k, res.runs); if (!this.closed) this.render(); },
        () => this.blocks.delete(k));
    }
    return Array.isArray(got) ? got : null;
  }
  visibleColumns() {
    const left = this.el.scrollLeft, right = left + this.el.clientWidth;
    // Columns are found by binary search: 10,000 of them cost nothing.
    let lo = 0, hi = this.columns.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (this.columns[m].x + this.columns[m].w < left - COL) lo = m + 1; else hi = m; }
    const out = this.columns.slice(0, FIXED.length).filter(c => c.x + c.w >= left - COL);
    for (let i = Math.max(lo, FIXED.length); i < this.columns.length && this.columns[i].x <= right + COL; i++) out.push(this.columns[i]);
    return out;
  }
  render() {
    const cols = this.visibleColumns();
    this.head.replaceChildren(...cols.map(c => this.heading(c)));
    const top = this.el.scrollTop, first = Math.max(0, Math.floor(top / ROW) - 5);
    const last = Math.min(this.total, Math.ceil((top + this.el.clientHeight) / ROW) + 5);
    const rows = [];
    for (let i = first; i < last; i++) rows.push(this.row(i, cols));
    this.body.replaceChildren(...rows);
    if (rows.length && !this.painted) { this.painted = true; performance.mark("gitruns:rows"); }
  }
  heading(c) {
    const sorted = this.state.sort === c.key;
    const cell = h("div", { class: "cell " + (c.cls || "") + (c.kind ? " kind-" + c.kind : ""), role: "columnheader", tabindex: c.key === "sel" ? null : "0",
      "aria-sort": sorted ? (this.state.desc ? "descending" : "ascending") : null, title: c.key }, c.label);
    cell.style.left = c.x + "px"; cell.style.width = c.w + "px";
    if (c.key !== "sel") {
      cell.addEventListener("click", () => this.on.onSort(c.key));
      cell.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); this.on.onSort(c.key); } });
    }
    return cell;
  }
  // base is what row i shows beside its cells: from any block of its
  // rows that is here.
  base(i) {
    const p = Math.floor(i / PAGE) * PAGE;
    for (const [k, page] of this.blocks) if (Array.isArray(page) && k.startsWith(p + ":")) return page[i - p];
    return null;
  }
  row(i, cols) {
    const p = Math.floor(i / PAGE) * PAGE, r = this.base(i) || (this.block(p, 0), null);
    if (!r) {
      const el = h("div", { class: "row muted", role: "row" }, h("div", { class: "cell" }, "…"));
      el.style.top = i * ROW + "px";
      return el;
    }
    const el = h("div", { class: "row" + (this.state.selected.has(r.id) ? " selected" : ""), role: "row", tabindex: "0", "data-id": r.id, "data-index": i, "aria-selected": this.state.selected.has(r.id) ? "true" : "false" });
    el.style.top = i * ROW + "px"; el.style.width = this.width + "px";
    for (const c of cols) {
      const cell = this.cell(r, c, i, p);
      cell.style.left = c.x + "px"; cell.style.width = c.w + "px";
      el.append(cell);
    }
    return el;
  }
  cell(r, c, i, p) {
    if (c.key === "sel") {
      const box = h("input", { type: "checkbox", "aria-label": "select " + r.name, checked: this.state.selected.has(r.id), tabindex: "-1" });
      box.addEventListener("change", () => { this.toggle(r.id); });
      return h("div", { class: "cell sel", role: "gridcell" }, box);
    }
    if (c.cls === "name") return h("div", { class: "cell name", role: "gridcell" }, h("a", { href: "#/run/" + encodeURIComponent(r.id), tabindex: "-1" }, r.name), r.parent ? h("span", { class: "muted" }, " ⊂ " + r.parent.name) : null);
    if (c.key === "attributes.status") {
      const s = r.stale_seconds ? "stale" : r.status;
      return h("div", { class: "cell status-" + s, role: "gridcell" }, s + (r.live ? " ●" : ""));
    }
    if (c.key === "attributes.started") return h("div", { class: "cell", role: "gridcell", title: r.started }, ago(r.started));
    const b = Math.floor(c.data / BLOCK), page = this.block(p, b);
    if (!page) return h("div", { class: "cell muted", role: "gridcell" }, "…");
    const v = fmt(page[i - p].cells[c.data - b * BLOCK]);
    return h("div", { class: "cell", role: "gridcell", title: v }, v);
  }
  toggle(id) {
    if (this.state.selected.has(id)) this.state.selected.delete(id); else this.state.selected.add(id);
    this.on.onSelect(); this.render();
  }
  // key moves through the rows: arrows, Page Up and Down, Home and End;
  // Space selects a run, Enter opens it.
  key(e) {
    const row = e.target.closest && e.target.closest(".row[data-id]");
    if (!row) return;
    const i = +row.dataset.index, page = Math.max(1, Math.floor(this.el.clientHeight / ROW) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -i, End: this.total - 1 - i };
    if (e.key in moves) {
      e.preventDefault();
      const j = Math.max(0, Math.min(this.total - 1, i + moves[e.key]));
      if (j * ROW < this.el.scrollTop + ROW || (j + 2) * ROW > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = Math.max(0, j * ROW - this.el.clientHeight / 2);
      this.render();
      const next = this.body.querySelector('[data-index="' + j + '"]');
      if (next) next.focus();
    } else if (e.key === " ") { e.preventDefault(); this.toggle(row.dataset.id); this.body.querySelector('[data-index="' + i + '"]').focus(); }
    else if (e.key === "Enter") go("/run/" + encodeURIComponent(row.dataset.id));
  }
  pickColumns(button, done) {
    const old = document.getElementById("columns");
    if (old) { old.remove(); button.setAttribute("aria-expanded", "false"); return; }
    const chosen = new Set(this.keys);
    const search = h("input", { type: "search", placeholder: "find a column", "aria-label": "find a column" });
    const list = h("div", { id: "columns-list" });
    const m = this.all.metrics.map(metricKey);
    const offered = [
      ...this.all.params.map(k => "params.`" + k.replace(/`/g, "``") + "`"),
      ...m.flatMap(k => [k, k + ".min", k + ".max"]),
      ...this.all.tags.map(k => "tags.`" + k.replace(/`/g, "``") + "`"),
      ...["experiment", "ended", "duration", "commit", "branch", "dirty"].map(a => "attributes." + a),
    ];
    // What the server names differently (bare, not quoted) is chosen by
    // its own spelling.
    const same = k => chosen.has(k) || chosen.has(k.replace(/`([^`]*)`/g, "$1"));
    const fill = () => {
      const q = search.value.toLowerCase();
      const found = offered.filter(k => keyLabel(k).toLowerCase().includes(q) || k.toLowerCase().includes(q));
      list.replaceChildren(...found.slice(0, 300).map(k => {
        const box = h("input", { type: "checkbox", checked: same(k) });
        box.addEventListener("change", () => { if (box.checked) chosen.add(k); else { chosen.delete(k); chosen.delete(k.replace(/`([^`]*)`/g, "$1")); } });
        return h("label", {}, box, " " + k.split(".")[0] + ": " + keyLabel(k));
      }), found.length > 300 ? h("p", { class: "muted" }, (found.length - 300) + " more: type to find them") : null);
    };
    search.addEventListener("input", fill);
    const close = cols => { panel.remove(); button.setAttribute("aria-expanded", "false"); button.focus(); done(cols); };
    const apply = h("button", { id: "columns-apply" }, "Apply");
    apply.addEventListener("click", () => close([...chosen]));
    const every = h("button", { id: "columns-all" }, "All params and metrics");
    every.addEventListener("click", () => close(["*"]));
    const differing = h("button", { id: "columns-differing" }, "Those that differ");
    differing.addEventListener("click", () => close(null));
    const panel = h("div", { class: "columns", id: "columns", role: "dialog", "aria-label": "Columns" }, h("div", { class: "bar" }, search, apply, every, differing), list);
    panel.addEventListener("keydown", e => { if (e.key === "Escape") { panel.remove(); button.setAttribute("aria-expanded", "false"); button.focus(); } });
    button.after(panel); button.setAttribute("aria-expanded", "true"); fill(); search.focus();
  }
}
