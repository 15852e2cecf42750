// A parallel-coordinates chart of runs: one vertical axis a param that
// differs between them, the chosen metric last; one line a run, coloured
// by the metric, from low (blue) to high (orange).
"use strict";

// parallel draws into box the runs of res (a /ui/api/runs answer) over
// the params keys and metric, width pixels wide.
function parallel(box, res, keys, metric, width) {
  if (!keys.length || !metric) {
    box.replaceChildren(h("p", { class: "muted" }, !keys.length ? "no param differs between these runs" : "no metric to draw"));
    box.dataset.axes = ""; box.dataset.lines = "0";
    return;
  }
  const axes = keys.slice(0, 12).map(k => axis("params." + k, res.runs.map(r => r.params[k])));
  const target = axis(metric, res.runs.map(r => r.metrics[metric] ? r.metrics[metric].last : undefined));
  axes.push(target);
  const height = 320;
  const top = 36, bottom = 24, left = 60, right = 60;
  const canvas = h("canvas", { role: "img", "aria-label": "parallel coordinates of " + res.runs.length + " runs over " + axes.map(a => a.name).join(", ") });
  const dpr = window.devicePixelRatio || 1;
  canvas.width = width * dpr; canvas.height = height * dpr;
  canvas.style.width = width + "px"; canvas.style.height = height + "px";
  const tip = h("div", { class: "pc-tip", id: "pc-tip", role: "status" });
  const note = h("p", { class: "muted legend-note" }, "colour: " + metric + ", low ", h("span", { class: "pc-low" }, "■"), " to high ", h("span", { class: "pc-high" }, "■"), "; hover a line for its run, click to open it");
  box.replaceChildren(canvas, tip, note);
  box.dataset.axes = axes.map(a => a.name).join("|");
  box.dataset.lines = String(res.runs.filter((_, i) => target.pos[i] !== null).length);
  const xAt = i => left + (axes.length === 1 ? 0 : i * (width - left - right) / (axes.length - 1));
  const yAt = p => top + (1 - p) * (height - top - bottom);
  const ctx = canvas.getContext("2d");
  const draw = hot => {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "center";
    axes.forEach((a, i) => {
      ctx.strokeStyle = "#8c959f"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(xAt(i), yAt(1)); ctx.lineTo(xAt(i), yAt(0)); ctx.stroke();
      ctx.fillStyle = "#1b1f24"; ctx.fillText(clip(keyLabel(a.name), 18), xAt(i), 14);
      ctx.fillStyle = "#57606a";
      for (const t of a.ticks) ctx.fillText(clip(t.label, 12), xAt(i), yAt(t.pos) + (t.pos === 1 ? -6 : t.pos === 0 ? 14 : 4));
    });
    res.runs.forEach((r, j) => {
      if (hot !== undefined && hot !== j) return line(j, 0.25, 1);
      line(j, 1, hot === j ? 3 : 1.5);
    });
  };
  const line = (j, alpha, w) => {
    const p = target.pos[j];
    ctx.strokeStyle = p === null ? "rgba(110,119,129," + alpha + ")" : heat(p, alpha); ctx.lineWidth = w;
    ctx.beginPath();
    let on = false;
    axes.forEach((a, i) => {
      if (a.pos[j] === null) { on = false; return; }
      if (on) ctx.lineTo(xAt(i), yAt(a.pos[j])); else ctx.moveTo(xAt(i), yAt(a.pos[j]));
      on = true;
    });
    ctx.stroke();
  };
  // nearest finds the run whose line passes closest to (x, y), within
  // 8 px, by its height between the two axes either side of x.
  const nearest = (x, y) => {
    const span = (width - left - right) / Math.max(1, axes.length - 1);
    const i = Math.max(0, Math.min(axes.length - 2, Math.floor((x - left) / span)));
    const f = axes.length === 1 ? 0 : Math.max(0, Math.min(1, (x - xAt(i)) / span));
    let best, dist = 8;
    res.runs.forEach((_, j) => {
      const a = axes[i].pos[j], b = axes[Math.min(i + 1, axes.length - 1)].pos[j];
      if (a === null || b === null) return;
      const d = Math.abs(yAt(a + (b - a) * f) - y);
      if (d < dist) { dist = d; best = j; }
    });
    return best;
  };
  let hot;
  canvas.addEventListener("mousemove", e => {
    const rect = canvas.getBoundingClientRect(), j = nearest(e.clientX - rect.left, e.clientY - rect.top);
    if (j === hot) return;
    hot = j; draw(hot);
    tip.textContent = j === undefined ? "" : res.runs[j].name + ": " + axes.map(a => keyLabel(a.name) + " " + fmt(a.values[j])).join(", ");
    canvas.style.cursor = j === undefined ? "" : "pointer";
  });
  canvas.addEventListener("mouseleave", () => { hot = undefined; draw(); tip.textContent = ""; });
  canvas.addEventListener("click", () => { if (hot !== undefined) go("/run/" + encodeURIComponent(res.runs[hot].id)); });
  draw();
}

// axis places values on [0, 1]: numbers on a linear scale, anything else
// as categories in their text order; a missing value has no place (null).
function axis(name, values) {
  const present = values.filter(v => v !== undefined && v !== null);
  const numeric = present.length > 0 && present.every(v => typeof v === "number" && isFinite(v));
  if (numeric) {
    const lo = Math.min(...present), hi = Math.max(...present);
    const pos = values.map(v => typeof v === "number" && isFinite(v) ? (hi === lo ? 0.5 : (v - lo) / (hi - lo)) : null);
    const ticks = hi === lo ? [{ pos: 0.5, label: fmt(lo) }] : [{ pos: 0, label: fmt(lo) }, { pos: 1, label: fmt(hi) }];
    return { name, values, pos, ticks };
  }
  const cats = [...new Set(present.map(v => fmt(v)))].sort();
  const at = new Map(cats.map((c, i) => [c, cats.length === 1 ? 0.5 : i / (cats.length - 1)]));
  return { name, values, pos: values.map(v => v === undefined || v === null ? null : at.get(fmt(v))), ticks: cats.slice(0, 20).map(c => ({ pos: at.get(c), label: c })) };
}

// heat is the colour of a place on the metric's axis: blue low, orange high.
function heat(p, alpha) {
  return "hsla(" + Math.round(215 - p * 190) + ", 75%, 36%, " + alpha + ")";
}

function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
