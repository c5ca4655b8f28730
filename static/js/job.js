// Job page: polls the job's JSON and moves the progress bar; reloads once the job has finished so
// Table 1 (rendered by the server) appears.
(function () {
  "use strict";
  const root = document.getElementById("job");
  if (!root || root.dataset.finished === "1") return;
  const bar = document.getElementById("job-progress-bar");
  const text = document.getElementById("job-progress-text");
  const statusLabel = document.getElementById("job-status");
  const unitsBody = document.querySelector("#units tbody");

  function renderUnits(units) {
    if (!unitsBody) return;
    unitsBody.replaceChildren(...units.map(function (u) {
      const tr = document.createElement("tr");
      // A finished unit says so, not the last epoch its training reported.
      let detail = "";
      if (u.status === "succeeded") detail = "done";
      else if (u.status === "running" && u.detail && u.detail.epoch) {
        detail = "epoch " + u.detail.epoch + (u.detail.total ? " of " + u.detail.total : "");
      }
      [u.kind, u.method || "-", u.fold === null ? "-" : String(u.fold), u.status,
       Math.round(u.progress * 100) + "%", u.error ? u.error.slice(0, 120) : detail].forEach(function (value) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.appendChild(td);
      });
      return tr;
    }));
  }

  // Elapsed time from the start, and time left = elapsed x (1 - progress) / progress once 2% is done.
  const timing = document.getElementById("job-timing");
  function formatSeconds(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? h + " h " + m + " min" : m ? m + " min " + s + " s" : s + " s";
  }
  function renderTiming(progress) {
    if (!timing || !timing.dataset.started) return;
    const elapsed = (Date.now() - Date.parse(timing.dataset.started)) / 1000;
    document.getElementById("job-elapsed").textContent = formatSeconds(elapsed);
    const eta = document.getElementById("job-eta");
    if (eta) eta.textContent = progress >= 0.02 ? formatSeconds((elapsed * (1 - progress)) / progress) : "estimating…";
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const job = await response.json();
      const percent = Math.round(job.progress * 100);
      bar.style.width = percent + "%";
      bar.parentElement.setAttribute("aria-valuenow", String(percent));
      text.textContent = percent + "%";
      statusLabel.textContent = job.status;
      statusLabel.className = "status status-" + job.status;
      renderUnits(job.units);
      renderTiming(job.progress);
      if (["succeeded", "failed", "cancelled"].includes(job.status)) {
        window.location.reload();
        return;
      }
    } catch (error) {
      text.textContent = "Could not refresh progress (" + error.message + "); retrying.";
    }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 1000);
})();
