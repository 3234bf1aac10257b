// A process version's diagram with figures on its elements: the audit heatmap (each element coloured by
// how often it ran, with its count and mean time), or, when the page sends `overlays` (process
// analytics), each element's colour level and label as the server worked them out.
(function () {
  "use strict";
  var el = document.getElementById("heatmap-diagram");
  if (!el || !window.BpmnJS) { return; }
  fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var viewer = new window.BpmnJS({ container: el });
      return viewer.importXML(data.xml).then(function () {
        var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry"), overlays = viewer.get("overlays");
        canvas.zoom("fit-viewport");
        if (data.overlays) {
          Object.keys(data.overlays).forEach(function (id) {
            if (!registry.get(id)) { return; }
            canvas.addMarker(id, "ql-heat-" + data.overlays[id].level);
            var label = document.createElement("span");
            label.className = "ql-heat-badge";
            label.textContent = data.overlays[id].label;
            overlays.add(id, { position: { bottom: 0, left: 0 }, html: label });
          });
          el.dataset.ready = "true";
          return;
        }
        var max = 0;
        Object.keys(data.counts).forEach(function (id) { max = Math.max(max, data.counts[id]); });
        Object.keys(data.counts).forEach(function (id) {
          if (!registry.get(id)) { return; }
          var level = max ? Math.ceil(4 * data.counts[id] / max) : 0;
          canvas.addMarker(id, "ql-heat-" + level);
          var badge = document.createElement("span");
          badge.className = "ql-heat-badge";
          var d = data.durations[id];
          badge.textContent = data.counts[id] + (d ? " · " + d.mean_hours + "h" : "");
          overlays.add(id, { position: { bottom: 0, left: 0 }, html: badge });
        });
        el.dataset.ready = "true";
      });
    })
    .catch(function () { el.dataset.ready = "error"; el.textContent = el.getAttribute("data-error"); });
})();
