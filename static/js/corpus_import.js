// Import page: polls the import's JSON and moves the progress bar; reloads once it has finished so
// the report (rendered by the server) appears.
(function () {
  "use strict";
  const root = document.getElementById("import");
  if (!root || root.dataset.finished === "1") return;
  const bar = document.getElementById("import-progress-bar");
  const text = document.getElementById("import-progress-text");
  const statusLabel = document.getElementById("import-status");

  async function poll() {
    try {
      const response = await fetch(root.dataset.apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const job = await response.json();
      const percent = Math.round(job.progress * 100);
      bar.style.width = percent + "%";
      bar.parentElement.setAttribute("aria-valuenow", String(percent));
      text.textContent = (job.stage ? job.stage + ": " + job.progress_done + " of " + job.progress_total + " files · " : "") + percent + "%";
      statusLabel.textContent = job.status;
      statusLabel.className = "status status-" + job.status;
      if (["succeeded", "failed", "cancelled"].includes(job.status)) {
        window.location.reload();
        return;
      }
    } catch (error) {
      text.textContent = "Could not refresh progress (" + error.message + "); retrying.";
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
