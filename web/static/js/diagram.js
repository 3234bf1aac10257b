// Draws an instance's diagram with bpmn-js and marks completed, active and failed elements.
(function () {
  "use strict";
  var el = document.getElementById("diagram");
  if (!el) { return; }
  if (!window.BpmnJS) { el.dataset.ready = "error"; return; }

  // The toolbar: fit, zoom in and out, full screen (a class, so it also works where the Fullscreen API
  // is refused); the NavigatedViewer pans by dragging and zooms with Ctrl + wheel as well.
  function tools(canvas) {
    var box = el.closest(".diagram-box") || el.parentNode;
    function act(name) {
      if (name === "fit") { canvas.zoom("fit-viewport", "auto"); }
      else if (name === "in") { canvas.zoom(canvas.zoom() * 1.25); }
      else if (name === "out") { canvas.zoom(canvas.zoom() / 1.25); }
      else if (name === "full") {
        var on = !box.classList.contains("diagram-full");
        box.classList.toggle("diagram-full", on);
        document.body.classList.toggle("diagram-open", on);
        canvas.resized();
        canvas.zoom("fit-viewport", "auto");
      }
      el.dataset.zoom = String(Math.round(canvas.zoom() * 100) / 100);
    }
    box.querySelectorAll("[data-diagram-tool]").forEach(function (b) {
      b.addEventListener("click", function () { act(b.getAttribute("data-diagram-tool")); });
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && box.classList.contains("diagram-full")) { act("full"); }
    });
    el.dataset.zoom = String(Math.round(canvas.zoom() * 100) / 100);
  }
  fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (state) {
      var viewer = new window.BpmnJS({ container: el });
      return viewer.importXML(state.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        function mark(ids, cls) {
          ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, cls); } });
        }
        mark(state.completed, "ql-done");
        mark(state.active, "ql-active");
        mark(state.error, "ql-error");
        if (el.dataset.current && registry.get(el.dataset.current)) { canvas.addMarker(el.dataset.current, "ql-current"); }
        tools(canvas);
        el.dataset.ready = "true";
      });
    })
    .catch(function () {
      document.querySelectorAll("[data-diagram-tool]").forEach(function (b) { b.disabled = true; });
      el.dataset.ready = "error";
      el.textContent = el.getAttribute("data-error") || "流程图无法显示 (diagram unavailable)";
    });
})();
