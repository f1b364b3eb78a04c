// Keeps server-rendered parts of a page current: every few seconds each element with a
// data-refresh-url asks that URL for its fresh content (partial=1) and swaps it in, keeping
// open what the reader opened; paused while the tab is hidden.
(function () {
  "use strict";

  function keepCurrent(live) {
    var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 30;
    var url = live.getAttribute("data-refresh-url");
    url += (url.indexOf("?") === -1 ? "?" : "&") + "partial=1";

    function swap(html) {
      if (live.contains(document.activeElement) && document.activeElement !== document.body) {
        return; // do not pull a link from under the keyboard focus
      }
      var opened = [];
      live.querySelectorAll("details").forEach(function (details, index) {
        if (details.open) { opened.push(index); }
      });
      live.innerHTML = html;
      var fresh = live.querySelectorAll("details");
      opened.forEach(function (index) { if (fresh[index]) { fresh[index].open = true; } });
    }

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
        .then(swap)
        .catch(function () { /* the next tick tries again */ });
    }

    setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", refresh);
  }

  document.querySelectorAll("[data-refresh-url]").forEach(keepCurrent);
}());
