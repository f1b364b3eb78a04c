// Keeps a server-rendered list current: every few seconds the same page is asked for its list
// alone (partial=1) and swapped in; paused while the tab is hidden.
(function () {
  "use strict";

  var live = document.getElementById("requests-live");
  if (!live) { return; }
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 30;
  var url = live.getAttribute("data-refresh-url");
  url += (url.indexOf("?") === -1 ? "?" : "&") + "partial=1";

  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || response.redirected || type.indexOf("text/html") === -1) {
          throw new Error("not refreshed");
        }
        return response.text();
      })
      .then(function (html) {
        if (live.contains(document.activeElement) && document.activeElement !== document.body) {
          return; // do not pull a link from under the keyboard focus
        }
        live.innerHTML = html;
      })
      .catch(function () { /* the next tick tries again */ });
  }

  setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
}());
