// Audit replay: steps through an instance's events on its diagram (buttons, slider, arrow keys).
// At each step: elements done so far, active tokens (with a count badge), failed ones, and the
// element the event concerns; the matching timeline entry is highlighted.
(function () {
  "use strict";
  var el = document.getElementById("audit-diagram");
  var slider = document.getElementById("step-slider");
  if (!el || !slider) { return; }
  var label = document.getElementById("step-label");
  var items = document.querySelectorAll("#timeline li");
  var frames = [], canvas = null, registry = null, overlays = null, marked = [];

  function clear() {
    marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    marked = [];
    overlays.remove({ type: "ql-token" });
  }
  function mark(id, cls) {
    if (registry.get(id)) { canvas.addMarker(id, cls); marked.push([id, cls]); }
  }
  function show(i) {
    i = Math.max(0, Math.min(frames.length - 1, i));
    slider.value = i;
    var f = frames[i];
    if (!f) { return; }
    if (canvas) {
      clear();
      f.done.forEach(function (id) { mark(id, "ql-done"); });
      f.error.forEach(function (id) { mark(id, "ql-error"); });
      var counts = {};
      f.active.forEach(function (id) { counts[id] = (counts[id] || 0) + 1; });
      Object.keys(counts).forEach(function (id) {
        mark(id, "ql-active");
        if (registry.get(id)) {
          var badge = document.createElement("span");
          badge.className = "ql-token";
          badge.textContent = counts[id];
          overlays.add(id, "ql-token", { position: { top: -10, right: 10 }, html: badge });
        }
      });
      if (f.current) { mark(f.current, "ql-current"); }
    }
    items.forEach(function (li) { li.removeAttribute("aria-current"); });
    var li = items[i];
    if (li) { li.setAttribute("aria-current", "step"); li.scrollIntoView({ block: "nearest" }); }
    label.textContent = (i + 1) + " / " + frames.length;
  }
  function step(d) { show(parseInt(slider.value, 10) + d); }

  document.getElementById("step-first").addEventListener("click", function () { show(0); });
  document.getElementById("step-prev").addEventListener("click", function () { step(-1); });
  document.getElementById("step-next").addEventListener("click", function () { step(1); });
  document.getElementById("step-last").addEventListener("click", function () { show(frames.length - 1); });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  items.forEach(function (li) { li.addEventListener("click", function () { show(parseInt(li.dataset.step, 10)); }); });
  document.addEventListener("keydown", function (e) {
    if (e.target && /INPUT|TEXTAREA|SELECT/.test(e.target.tagName) && e.target !== slider) { return; }
    if (e.key === "ArrowLeft") { step(-1); e.preventDefault(); }
    else if (e.key === "ArrowRight") { step(1); e.preventDefault(); }
    else if (e.key === "Home") { show(0); e.preventDefault(); }
    else if (e.key === "End") { show(frames.length - 1); e.preventDefault(); }
  });

  fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (state) {
      frames = state.frames;
      if (!window.BpmnJS) { show(frames.length - 1); el.dataset.ready = "error"; return; }
      var viewer = new window.BpmnJS({ container: el });
      return viewer.importXML(state.xml).then(function () {
        canvas = viewer.get("canvas");
        registry = viewer.get("elementRegistry");
        overlays = viewer.get("overlays");
        canvas.zoom("fit-viewport");
        show(frames.length - 1);
        el.dataset.ready = "true";
      });
    })
    .catch(function () {
      el.dataset.ready = "error";
      el.textContent = el.getAttribute("data-error");
    });
})();
