// Two versions side by side; bpmn-js-differ's added, removed and changed elements highlighted and listed.
(function () {
  "use strict";
  var box = document.getElementById("diff");
  if (!box || !window.BpmnJS || !window.QinglianModelerTools) { return; }
  var table = document.getElementById("diff-changes");
  function open(container, url) {
    var viewer = new window.BpmnJS({ container: container });
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () { viewer.get("canvas").zoom("fit-viewport"); return viewer; });
  }
  function mark(viewer, id, cls) {
    if (viewer.get("elementRegistry").get(id)) { viewer.get("canvas").addMarker(id, cls); }
  }
  function row(kind, label, id, el, detail) {
    var tr = document.createElement("tr");
    tr.className = "diff-" + kind;
    tr.dataset.kind = kind;
    tr.dataset.element = id;
    [label, id + (el && el.name ? " · " + el.name : ""), el ? (el.$type || "").replace("bpmn:", "") : "", detail || ""]
      .forEach(function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
    table.appendChild(tr);
  }
  Promise.all([open(document.getElementById("diff-a"), box.dataset.a), open(document.getElementById("diff-b"), box.dataset.b)])
    .then(function (viewers) {
      var a = viewers[0], b = viewers[1];
      var changes = window.QinglianModelerTools.diff(a.getDefinitions(), b.getDefinitions());
      Object.keys(changes._added).forEach(function (id) { mark(b, id, "ql-added"); row("added", table.dataset.added, id, changes._added[id]); });
      Object.keys(changes._removed).forEach(function (id) { mark(a, id, "ql-removed"); row("removed", table.dataset.removed, id, changes._removed[id]); });
      Object.keys(changes._changed).forEach(function (id) {
        var c = changes._changed[id];
        mark(a, id, "ql-changed"); mark(b, id, "ql-changed");
        var detail = Object.keys(c.attrs).map(function (k) {
          var v = c.attrs[k];
          var show = function (x) { return x === undefined || x === null ? "—" : (typeof x === "object" ? (x.$type || (x.id ? x.id : "…")) : String(x)); };
          return k + ": " + show(v.oldValue) + " → " + show(v.newValue);
        }).join("; ");
        row("changed", table.dataset.changed, id, c.model, detail);
      });
      Object.keys(changes._layoutChanged).forEach(function (id) { row("layout", table.dataset.layout, id, changes._layoutChanged[id]); });
      if (!table.children.length) {
        var tr = document.createElement("tr"); var td = document.createElement("td");
        td.colSpan = 4; td.textContent = table.dataset.none; tr.appendChild(td); table.appendChild(tr);
      }
      box.dataset.ready = "true";
    })
    .catch(function (err) { box.dataset.ready = "error"; box.textContent = String(err); });
})();
