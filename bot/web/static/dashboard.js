// dianhua desk dashboard: poll /api/dashboard, replace the numbers, reload the plots when they change.
// Loaded from /static (the Content-Security-Policy forbids inline script). No build step.
(function () {
  "use strict";

  var POLL_MS = 5000;

  function setup() {
    var body = document.getElementById("dash-body");
    if (!body) { return; }
    var state = document.getElementById("dash-state");
    var version = body.getAttribute("data-version") || "";
    function poll() {  // the shared live poll of desk.js (loaded first, on every page)
      window.dianhuaLivePoll("/api/dashboard", "/dashboard", state, function (data) {
        body.innerHTML = data.html; // rendered and escaped by the server's templates
        if (data.version !== version) {
          version = data.version;
          body.setAttribute("data-version", version);
          var imgs = document.querySelectorAll("img.plot");
          for (var i = 0; i < imgs.length; i++) {
            imgs[i].src = imgs[i].src.replace(/\?v=.*$/, "") + "?v=" + encodeURIComponent(version);
          }
        }
      });
    }

    window.setInterval(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
