// tripline live refresh: the page reloads itself when the store changed
// since it was rendered. Polls the server's change marker every few seconds
// while the tab is visible; pauses while it is hidden, and while the analyst
// is using a form on the page. Served as a file (CSP script-src 'self');
// static reports carry no script at all.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch) {
    return;
  }
  var url = me.getAttribute("data-changes");
  var seen = me.getAttribute("data-marker");
  var every = 3000;
  var timer = null;

  function busy() {
    var a = document.activeElement;
    return !!(a && a.form);
  }

  function schedule() {
    if (timer === null && !document.hidden) {
      timer = window.setTimeout(poll, every);
    }
  }

  function poll() {
    timer = null;
    if (document.hidden) {
      return;
    }
    fetch(url, { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (v) {
        if (v && typeof v.marker === "string" && v.marker !== seen && !busy()) {
          window.location.reload();
          return;
        }
        schedule();
      })
      .catch(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (timer !== null) {
        window.clearTimeout(timer);
        timer = null;
      }
    } else {
      schedule();
    }
  });
  schedule();
})();
