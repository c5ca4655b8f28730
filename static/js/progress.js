// Progress bars: the server writes each bar's share as data-width (percent); this sets the width.
// A Content-Security-Policy without 'unsafe-inline' refuses style="" attributes in the markup,
// while widths set from a script file are allowed. Pages that move a bar later (job.js, trial.js)
// set style.width the same way.
(function () {
  "use strict";
  document.querySelectorAll("[data-width]").forEach(function (bar) {
    const percent = Math.max(0, Math.min(100, Number(bar.dataset.width) || 0));
    bar.style.width = percent + "%";
  });
})();
