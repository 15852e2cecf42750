// The web UI of git-runs: a client of the server's /ui/api/, which does
// the querying, sorting, paging and downsampling. Every value from a
// record is put on the page as text (createTextNode, textContent), never
// as markup: records come from teammates' pushes. This file holds what
// the views share; app.js routes between them.
"use strict";

const ROW = 28;       // px, as --row in app.css
const PAGE = 200;     // runs fetched at a time
const BLOCK = 40;     // columns fetched at a time
const COL = 130;      // px of a param or metric column
const COLOURS = ["#0550ae", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d82", "#6e7781", "#953800", "#116329"];

// colour is the line colour of the i-th run or group: ten chosen ones,
// then hues spread by the golden angle, so that 50 runs stay apart.
function colour(i, alpha) {
  const a = alpha === undefined ? 1 : alpha;
  if (i < COLOURS.length) {
    const c = COLOURS[i];
    return a === 1 ? c : c + Math.round(a * 255).toString(16).padStart(2, "0");
  }
  return "hsla(" + Math.round((i * 137.508) % 360) + ", 70%, 38%, " + a + ")";
}

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

// metricKey is the query language's key of a metric name, quoted so that
// any name reads back (`val/acc`, `Val Loss`).
function metricKey(name) { return "metrics.`" + name.replace(/`/g, "``") + "`"; }

// keyLabel is a column's heading: its key without the kind and quotes.
function keyLabel(key) {
  return key.replace(/^(params|metrics|tags|attributes)\./, "").replace(/`([^`]*(?:``[^`]*)*)`/g, (_, s) => s.replace(/``/g, "`"));
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const i = raw.indexOf("?");
  return { path: i < 0 ? raw : raw.slice(0, i), params: new URLSearchParams(i < 0 ? "" : raw.slice(i + 1)) };
}

function go(path, params) {
  const q = params && params.toString();
  location.hash = path + (q ? "?" + q : "");
}

const main = () => document.getElementById("main");

function show(...nodes) {
  main().replaceChildren(...nodes);
}

function renderDiff(pre, text) {
  pre.replaceChildren(...text.split("\n").map(l => h("span", { class: l.startsWith("+") ? "diff-add" : l.startsWith("-") ? "diff-del" : l.startsWith("@@") ? "diff-hunk" : null }, l + "\n")));
}

// keyInput is a box for choosing one of many keys (10,000 metrics make a
// select that takes a long task to fill): its suggestions are the first
// 100 keys holding what is typed, found as it is typed.
function keyInput(id, label, placeholder) {
  const list = h("datalist", { id: id + "-keys" });
  const input = h("input", { type: "text", id, list: id + "-keys", "aria-label": label, placeholder, autocomplete: "off", class: "key-input" });
  let keys = [];
  const suggest = () => {
    const q = input.value.toLowerCase(), found = [];
    for (const k of keys) { if (k.toLowerCase().includes(q)) found.push(k); if (found.length === 100) break; }
    list.replaceChildren(...found.map(k => h("option", { value: k })));
  };
  input.addEventListener("input", suggest);
  input.addEventListener("focus", suggest);
  return { input, el: h("span", {}, input, list), setKeys: ks => { keys = ks; } };
}
