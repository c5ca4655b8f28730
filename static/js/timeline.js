// The timeline page: while the recording uploads and its timeline is computed (a long recording
// takes seconds), show that work is under way and keep the button from sending it twice.
(function () {
  "use strict";
  var form = document.getElementById("timeline-form");
  if (!form) return;
  form.addEventListener("submit", function () {
    var button = document.getElementById("timeline-submit");
    var working = document.getElementById("timeline-working");
    if (button) button.disabled = true;
    if (working) working.hidden = false;
  });
})();
// Coming back to the page from the browser's history shows the form ready again.
window.addEventListener("pageshow", function () {
  var button = document.getElementById("timeline-submit");
  var working = document.getElementById("timeline-working");
  if (button && !document.getElementById("no-model")) button.disabled = false;
  if (working) working.hidden = true;
});
// A prediction's page while a worker draws its timeline: poll GET /api/predictions/{id}/, move the
// bar, and reload once it has finished so the server renders the timeline (or the reason it failed).
(function () {
  "use strict";
  const root = document.getElementById("timeline-progress");
  if (!root) return;
  const bar = document.getElementById("timeline-progress-bar");
  const percentText = document.getElementById("timeline-percent");
  const statusLabel = document.getElementById("timeline-status");
  const stageText = document.getElementById("timeline-stage");
  let delay = 500;

  async function poll() {
    try {
      const response = await fetch(root.dataset.apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const prediction = await response.json();
      const percent = Math.round(prediction.progress * 100);
      bar.style.width = percent + "%";
      bar.parentElement.setAttribute("aria-valuenow", String(percent));
      percentText.textContent = percent + "%";
      statusLabel.textContent = prediction.status;
      statusLabel.className = "status status-" + prediction.status;
      stageText.textContent = prediction.stage;
      if (prediction.status === "succeeded" || prediction.status === "failed") {
        window.location.reload();
        return;
      }
    } catch (error) {
      percentText.textContent = "Could not refresh progress (" + error.message + "); retrying.";
    }
    delay = Math.min(delay * 1.5, 3000);  // quick for a short clip, gentle for an hour
    window.setTimeout(poll, delay);
  }
  window.setTimeout(poll, delay);
})();
