// Draws an instance's diagram with bpmn-js and marks completed, active and failed elements.
(function () {
  "use strict";
  var el = document.getElementById("diagram");
  if (!el) { return; }
  if (!window.BpmnJS) { el.dataset.ready = "error"; return; }
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
        el.dataset.ready = "true";
      });
    })
    .catch(function () {
      el.dataset.ready = "error";
      el.textContent = el.getAttribute("data-error") || "流程图无法显示 (diagram unavailable)";
    });
})();
