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
      const detail = u.detail && u.detail.epoch ? "epoch " + u.detail.epoch + (u.detail.total ? " of " + u.detail.total : "") : "";
      [u.kind, u.method || "-", u.fold === null ? "-" : String(u.fold), u.status,
       Math.round(u.progress * 100) + "%", u.error ? u.error.slice(0, 120) : detail].forEach(function (value) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.appendChild(td);
      });
      return tr;
    }));
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
