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
