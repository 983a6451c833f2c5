// dianhua desk dashboard: poll /api/dashboard, replace the numbers, reload the plots when they change.
// Loaded from /static (the Content-Security-Policy forbids inline script). No build step.
(function () {
  "use strict";

  var POLL_MS = 5000;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function setup() {
    var body = document.getElementById("dash-body");
    if (!body) { return; }
    var state = document.getElementById("dash-state");
    var version = body.getAttribute("data-version") || "";
    var busy = false;

    function poll() {
      if (busy) { return; }
      busy = true;
      fetch("/api/dashboard", { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) { window.location.assign("/login?next=%2Fdashboard"); return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          if (!data) { return; }
          body.innerHTML = data.html; // rendered and escaped by the server's templates
          if (data.version !== version) {
            version = data.version;
            body.setAttribute("data-version", version);
            var imgs = document.querySelectorAll("img.plot");
            for (var i = 0; i < imgs.length; i++) {
              imgs[i].src = imgs[i].src.replace(/\?v=.*$/, "") + "?v=" + encodeURIComponent(version);
            }
          }
          if (state) {
            var d = new Date();
            state.textContent = "自动更新 · " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
            state.classList.remove("offline");
          }
        })
        .catch(function () {
          if (state) { state.textContent = "连接中断，正在重试…"; state.classList.add("offline"); }
        })
        .then(function () { busy = false; });
    }

    window.setInterval(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
