// Routes between the views of the web UI: #/ the runs table, #/run/ID a
// run, #/compare?runs=A,B,... the compare view. Each view's state is in
// its URL, so that a link opens the same view for a teammate who has the
// same runs fetched.
"use strict";

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

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
