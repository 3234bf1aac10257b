// Two versions side by side; bpmn-js-differ's added, removed and changed elements highlighted and listed.
(function () {
  "use strict";
  var box = document.getElementById("diff");
  if (!box || !window.BpmnJS || !window.QinglianModelerTools) { return; }
  var table = document.getElementById("diff-changes");
  var en = document.documentElement.lang === "en";
  // Human labels: the engine's property names and BPMN types as a process owner says them.
  var PROPS = en ? {} : {
    name: "名称", formKey: "表单", dueIn: "办理期限", remindBefore: "提前提醒", escalateAfter: "逾期督办间隔",
    priority: "优先级", subject: "任务对象", role: "角色", department: "科室规则", startableBy: "可发起角色",
    startForm: "发起表单", confidential: "保密（可见角色）", condition: "条件", timeDuration: "定时时长",
    timeDate: "定时日期", timeCycle: "定时周期", completionGuard: "完成检查", default: "默认流",
    serviceTaskOperator: "服务操作", calledElement: "被调用流程", calledDecisionId: "决策表",
    sourceRef: "起点", targetRef: "终点", documentation: "说明", isExecutable: "可执行",
  };
  var LAYOUT_THRESHOLD = 5;      // pixels: a shape nudged by less was only clicked, not moved
  function typeLabel(type) {
    var words = (type || "").replace("bpmn:", "").replace(/([a-z])([A-Z])/g, "$1 $2");
    words = words.charAt(0) + words.slice(1).toLowerCase();
    var i18n = window.QinglianModelerI18n;
    return i18n && !en ? i18n.translate(words) : words;
  }
  function propLabel(name) { return PROPS[name] ? PROPS[name] + " (" + name + ")" : name; }
  function moved(a, b, id) {
    var x = a.get("elementRegistry").get(id), y = b.get("elementRegistry").get(id);
    if (!x || !y) { return true; }
    var far = function (p, q) { return Math.abs((p || 0) - (q || 0)) >= LAYOUT_THRESHOLD; };
    if (x.waypoints || y.waypoints) {
      var w1 = x.waypoints || [], w2 = y.waypoints || [];
      return w1.length !== w2.length || w1.some(function (p, i) { return far(p.x, w2[i].x) || far(p.y, w2[i].y); });
    }
    return far(x.x, y.x) || far(x.y, y.y) || far(x.width, y.width) || far(x.height, y.height);
  }
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
    [label, el && el.name ? el.name + " (" + id + ")" : id, el ? typeLabel(el.$type) : "", detail || ""]
      .forEach(function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); });
    table.appendChild(tr);
  }
  // What bpmn-js-differ does not compare: the engine's extension properties, conditions and timers.
  function engineSettings(bo) {
    var found = {};
    var ext = bo.extensionElements && bo.extensionElements.values || [];
    ext.forEach(function (v) {
      if (v.$type === "spiffworkflow:properties") {
        (v.$children || []).forEach(function (p) { found[p.name] = p.value; });
      }
    });
    if (bo.conditionExpression) { found.condition = bo.conditionExpression.body; }
    (bo.eventDefinitions || []).forEach(function (d) {
      ["timeDuration", "timeDate", "timeCycle"].forEach(function (k) { if (d[k]) { found[k] = d[k].body; } });
    });
    return found;
  }
  function settingsByElement(viewer) {
    var map = {};
    viewer.get("elementRegistry").getAll().forEach(function (e) {
      var bo = e.businessObject;
      if (bo && bo.id && !map[bo.id]) { map[bo.id] = { bo: bo, settings: engineSettings(bo) }; }
    });
    return map;
  }
  function settingsChanges(before, after) {
    var changes = {};
    Object.keys(after).forEach(function (id) {
      if (!before[id]) { return; }
      var a = before[id].settings, b = after[id].settings;
      var names = Object.keys(a).concat(Object.keys(b)).filter(function (k, i, all) { return all.indexOf(k) === i; });
      names.forEach(function (k) {
        if (a[k] !== b[k]) {
          (changes[id] = changes[id] || { model: after[id].bo, attrs: {} }).attrs[k] = { oldValue: a[k], newValue: b[k] };
        }
      });
    });
    return changes;
  }

  Promise.all([open(document.getElementById("diff-a"), box.dataset.a), open(document.getElementById("diff-b"), box.dataset.b)])
    .then(function (viewers) {
      var a = viewers[0], b = viewers[1];
      var changes = window.QinglianModelerTools.diff(a.getDefinitions(), b.getDefinitions());
      // bpmn-js-differ 3.2 reports an attribute's values the other way round (oldValue is B's): turn them.
      Object.keys(changes._changed).forEach(function (id) {
        var attrs = changes._changed[id].attrs;
        Object.keys(attrs).forEach(function (k) { attrs[k] = { oldValue: attrs[k].newValue, newValue: attrs[k].oldValue }; });
      });
      var extra = settingsChanges(settingsByElement(a), settingsByElement(b));
      Object.keys(extra).forEach(function (id) {
        var c = changes._changed[id] || (changes._changed[id] = { model: extra[id].model, attrs: {} });
        Object.keys(extra[id].attrs).forEach(function (k) { c.attrs[k] = extra[id].attrs[k]; });
      });
      Object.keys(changes._added).forEach(function (id) { mark(b, id, "ql-added"); row("added", table.dataset.added, id, changes._added[id]); });
      Object.keys(changes._removed).forEach(function (id) { mark(a, id, "ql-removed"); row("removed", table.dataset.removed, id, changes._removed[id]); });
      Object.keys(changes._changed).forEach(function (id) {
        var c = changes._changed[id];
        mark(a, id, "ql-changed"); mark(b, id, "ql-changed");
        var detail = Object.keys(c.attrs).map(function (k) {
          var v = c.attrs[k];
          var show = function (x) { return x === undefined || x === null ? "—" : (typeof x === "object" ? (x.$type || (x.id ? x.id : "…")) : String(x)); };
          return propLabel(k) + ": " + show(v.oldValue) + " → " + show(v.newValue);
        }).join("; ");
        row("changed", table.dataset.changed, id, c.model, detail);
      });
      // only a real move, and not again for an element listed as changed already
      Object.keys(changes._layoutChanged).forEach(function (id) {
        if (changes._changed[id] || changes._added[id] || changes._removed[id] || !moved(a, b, id)) { return; }
        mark(b, id, "ql-changed");
        row("layout", table.dataset.layout, id, changes._layoutChanged[id]);
      });
      if (!table.children.length) {
        var tr = document.createElement("tr"); var td = document.createElement("td");
        td.colSpan = 4; td.textContent = table.dataset.none; tr.appendChild(td); table.appendChild(tr);
      }
      box.dataset.ready = "true";
    })
    .catch(function (err) { box.dataset.ready = "error"; box.textContent = String(err); });
})();
