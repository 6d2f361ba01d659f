// Dissemination record: tell screen-reader users once when the fan-out the page follows has finished
// (the progress fragment itself is replaced every 2 seconds, too often to be a live region).
(function () {
  "use strict";
  var initial = document.getElementById("dispatch-progress");
  var wasRunning = initial !== null && initial.dataset.finished === "false";
  document.addEventListener("htmx:load", function () {
    var progress = document.getElementById("dispatch-progress");
    var announcer = document.getElementById("dispatch-progress-announcer");
    if (wasRunning && progress && announcer && progress.dataset.finished === "true") {
      wasRunning = false;
      announcer.textContent = "Every recipient is recorded. Reload the page to see them all.";
    }
  });
})();
