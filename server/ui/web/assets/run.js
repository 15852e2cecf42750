// One run: its record, charts of its metrics, output, artifacts and code.
"use strict";

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
  lazyCharts(charts, [r.id], Object.keys(r.metrics || {}).sort(), { width: 420, height: 220 });
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
