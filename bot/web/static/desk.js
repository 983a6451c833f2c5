// dianhua editors' desk: countdowns, live queue updates, and a signal when a new P1 case arrives.
// Loaded from /static (the Content-Security-Policy forbids inline script). No build step.
(function () {
  "use strict";

  var POLL_MS = 4000;
  var baseTitle = document.title;
  var skewMs = 0; // server clock minus browser clock
  var audio = null;
  var soundWanted = false;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Same format as bot/web/render.py time_left().
  function formatLeft(seconds) {
    var late = seconds < 0;
    var total = Math.floor(Math.abs(seconds));
    var days = Math.floor(total / 86400);
    var rest = total % 86400;
    var body = (days ? days + "天 " : "") + pad(Math.floor(rest / 3600)) + ":" +
      pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
    return (late ? "超时 " : "剩余 ") + body;
  }

  function setSkew(serverIso) {
    var t = Date.parse(serverIso);
    if (!isNaN(t)) { skewMs = t - Date.now(); }
  }

  function tick() {
    var now = Date.now() + skewMs;
    var spans = document.querySelectorAll(".left[data-due]");
    for (var i = 0; i < spans.length; i++) {
      var due = Date.parse(spans[i].getAttribute("data-due"));
      if (isNaN(due)) { continue; }
      var seconds = (due - now) / 1000;
      spans[i].textContent = formatLeft(seconds);
      spans[i].classList.toggle("is-late", seconds < 0);
      var row = spans[i].closest("tr");
      if (row) { row.classList.toggle("late", seconds < 0); }
    }
  }

  function beep() {
    if (!soundWanted) { return; }
    try {
      if (!audio) { audio = new (window.AudioContext || window.webkitAudioContext)(); }
      if (audio.state === "suspended") { audio.resume().catch(function () { /* not allowed yet */ }); }
      [0, 0.3].forEach(function (offset) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.value = 0.2;
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(audio.currentTime + offset);
        osc.stop(audio.currentTime + offset + 0.18);
      });
    } catch (e) { /* no sound available: the title and the banner still show it */ }
  }

  // The banner names the newest P1 case and links to its row in the queue (#case-<id>).
  function signalNewP1(ids) {
    document.title = "【新 P1 ×" + ids.length + "】" + baseTitle;
    var banner = document.getElementById("new-p1");
    if (banner) {
      var newest = ids[ids.length - 1];
      var link = document.getElementById("new-p1-link");
      if (link) {
        link.setAttribute("href", "#case-" + newest);
        link.textContent = "有新的 P1 紧急案件 #" + newest + (ids.length > 1 ? "（共 " + ids.length + " 件）" : "") + "，点此查看";
      }
      banner.hidden = false;
    }
    beep();
  }

  function showRow(event) {
    var link = event.target.closest ? event.target.closest("#new-p1-link") : null;
    if (!link) { return; }
    var row = document.getElementById((link.getAttribute("href") || "").slice(1));
    if (!row) { return; }
    event.preventDefault();
    row.scrollIntoView({ block: "center" });
    row.classList.add("flash-row");
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", link.getAttribute("href")); }
  }

  function clearSignal() {
    document.title = baseTitle;
    var banner = document.getElementById("new-p1");
    if (banner) { banner.hidden = true; }
  }

  function setupSound() {
    var button = document.getElementById("sound-toggle");
    if (!button) { return; }
    try { soundWanted = window.localStorage.getItem("dianhua-sound") === "on"; } catch (e) { soundWanted = false; }
    function label() { button.textContent = soundWanted ? "关闭提示音" : "开启提示音"; }
    label();
    button.addEventListener("click", function () {
      soundWanted = !soundWanted;
      try { window.localStorage.setItem("dianhua-sound", soundWanted ? "on" : "off"); } catch (e) { /* private mode */ }
      label();
      if (soundWanted) { beep(); }
    });
  }

  // One live poll (the queue, the dashboard): GET ``url`` as JSON unless the last one is still
  // running, hand the answer to ``onData``, show the time of the last update in ``state``, and
  // send a signed-out editor to the sign-in page (back to ``next`` afterwards).
  var busyPolls = {};
  function livePoll(url, next, state, onData) {
    if (busyPolls[url]) { return; }
    busyPolls[url] = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/login?next=" + encodeURIComponent(next)); return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (!data) { return; }
        onData(data);
        if (state) {
          var d = new Date();
          state.textContent = "自动更新 · " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
          state.classList.remove("offline");
        }
      })
      .catch(function () {
        if (state) { state.textContent = "连接中断，正在重试…"; state.classList.add("offline"); }
      })
      .then(function () { busyPolls[url] = false; });
  }
  window.dianhuaLivePoll = livePoll;

  function setupQueue() {
    var body = document.getElementById("queue-rows");
    if (!body) { return; }
    var seen = {};
    (body.getAttribute("data-p1") || "").split(",").forEach(function (id) { if (id) { seen[id] = true; } });
    var state = document.getElementById("live-state");
    var count = document.getElementById("queue-count");
    function poll() {
      livePoll("/api/queue", "/", state, function (data) {
        setSkew(data.now);
        body.innerHTML = data.html; // rendered and escaped by the server's templates
        if (count) { count.textContent = String(data.count); }
        var fresh = [];
        data.p1.forEach(function (id) {
          if (!seen[id]) { seen[id] = true; fresh.push(id); }
        });
        if (fresh.length) { signalNewP1(fresh); }
        tick();
      });
    }

    document.addEventListener("click", function (event) { showRow(event); clearSignal(); });
    document.addEventListener("keydown", clearSignal);
    window.setInterval(poll, POLL_MS);
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setSkew(document.body.getAttribute("data-now") || "");
    setupSound();
    setupQueue();
    tick();
    window.setInterval(tick, 1000);
  });
})();
