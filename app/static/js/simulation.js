// Follows a simulation run: every two seconds the element with data-progress-url asks for the
// run's progress (JSON) and shows it; when the run ends, the page reloads to show its answer.
(function () {
  "use strict";

  var live = document.querySelector("[data-progress-url]");
  if (!live) { return; }
  var url = live.getAttribute("data-progress-url");
  var bar = live.querySelector("progress");
  var step = live.querySelector("[data-progress-step]");
  var timer = null;

  function show(state) {
    if (bar) {
      bar.value = state.progress;
      bar.textContent = Math.round(state.progress * 100) + " %";
    }
    if (step) { step.textContent = state.step; }
    if (state.finished) {
      clearInterval(timer);
      window.location.reload();
    }
  }

  function poll() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("not polled"); }
        return response.json();
      })
      .then(show)
      .catch(function () { /* the next tick tries again */ });
  }

  timer = setInterval(poll, 2000);
  document.addEventListener("visibilitychange", poll);
}());
