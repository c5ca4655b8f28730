// Comparison report: while a newer version (or the first one) is computed on a worker, poll its
// status and reload the page once it is stored. A file, not inline: the CSP allows no inline script.
(function () {
  "use strict";
  const root = document.getElementById("report-status");
  if (!root || root.dataset.pending !== "1") return;
  const progress = document.getElementById("report-status-progress");
  const bar = document.getElementById("report-progress-bar");
  const errorBox = document.getElementById("report-status-error");
  const firstVersion = root.dataset.version === "";
  const POLL_MS = 2000;

  async function poll() {
    let status;
    try {
      const response = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      status = await response.json();
    } catch (error) {
      window.setTimeout(poll, POLL_MS * 3);
      return;
    }
    if (status.version && status.version !== root.dataset.version) {
      window.location.reload();
      return;
    }
    if (status.total) {
      const text = status.done + " of " + status.total + " sections" + (status.section ? " (last: " + status.section + ")" : "");
      progress.textContent = firstVersion ? text + " done" : " (" + text + ")";
      if (bar) bar.style.width = Math.round((100 * status.done) / status.total) + "%";
    }
    errorBox.hidden = !status.error;
    if (status.error) errorBox.querySelector("span").textContent = status.error.slice(0, 400);
    if (status.pending) window.setTimeout(poll, POLL_MS);
    else if (!firstVersion) document.getElementById("report-status-pending").hidden = true;
  }
  window.setTimeout(poll, POLL_MS);
})();
