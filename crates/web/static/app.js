// zebench dashboard: live updates. Elements with an id and data-live="URL" are re-fetched when
// the API announces new runs or batch changes on /api/events: htmx loads URL and swaps in the
// element with the same id from it. Without JavaScript the pages are complete; this only keeps
// them fresh.
(function () {
  "use strict";
  if (!window.EventSource) return;
  var pending = false;
  function refresh() {
    if (pending) return;
    pending = true;
    setTimeout(function () {
      pending = false;
      document.querySelectorAll("[data-live]").forEach(function (el) {
        if (window.htmx) {
          window.htmx.ajax("GET", el.getAttribute("data-live"), {
            target: "#" + el.id, swap: "outerHTML", select: "#" + el.id
          });
        }
      });
    }, 500);
  }
  function connect() {
    if (!document.querySelector("[data-live]")) return;
    var es = new EventSource("/api/events");
    var badge = document.getElementById("live");
    es.addEventListener("ready", function () { if (badge) badge.hidden = false; });
    ["run.created", "runs.bulk", "batch.updated"].forEach(function (name) {
      es.addEventListener(name, refresh);
    });
    es.onerror = function () { if (badge) badge.hidden = true; };
  }
  document.addEventListener("DOMContentLoaded", connect);
})();
