// The modeler page: bpmn-js with our properties panel; validate (bpmnlint in the browser plus the
// server's deploy checks), mark each problem on its element, save a draft, deploy.
(function () {
  "use strict";
  var el = document.getElementById("canvas");
  if (!el) { return; }
  var options = JSON.parse(document.getElementById("modeler-options").textContent);
  options.editable = el.dataset.editable === "true";
  var en = options.locale === "en";
  function t(zh, enText) { return en ? enText : zh; }
  var statusEl = document.getElementById("status");
  var problemsEl = document.getElementById("problems");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  if (!window.BpmnJS) { el.dataset.ready = "error"; return; }

  var tools = window.QinglianModelerTools;
  var extra = (en ? [] : [window.QinglianModelerI18n.module]).concat(tools && tools.minimap ? [tools.minimap] : []);
  var modeler = new window.BpmnJS({ container: el, additionalModules: extra });
  window.qinglianModeler = modeler;
  new window.QinglianPropsPanel(modeler, document.getElementById("props"), options);
  var toolbar = new window.QinglianModelerToolbar(modeler, document.getElementById("modeler-tools"),
                                                  document.getElementById("dirty"));

  var BLANK = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_1" ' +
    'targetNamespace="http://bpmn.io/schema/bpmn">\n' +
    '  <bpmn:process id="new_process" name="新流程" isExecutable="true">\n' +
    '    <bpmn:startEvent id="start" name="开始" />\n  </bpmn:process>\n' +
    '  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="new_process">' +
    '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36" />' +
    '</bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = kind || "";
  }

  function load(xml) {
    clearProblems();
    return modeler.importXML(xml).then(function (result) {
      toolbar.fit();
      toolbar.markClean();
      el.dataset.ready = "true";
      lintSoon();
      if (result.warnings && result.warnings.length) {
        setStatus(t("导入时有 ", "Import warnings: ") + result.warnings.length + t(" 条警告", ""), "warn");
      }
    }).catch(function (err) {
      el.dataset.ready = "error";
      setStatus(t("无法打开流程图：", "Cannot open the diagram: ") + err.message, "error");
    });
  }

  // -- problems, marked on their elements -----------------------------------------------------------
  var marked = [];
  function clearProblems() {
    var canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays");
    marked.forEach(function (id) { canvas.removeMarker(id, "ql-problem"); });
    marked = [];
    overlays.remove({ type: "ql-problem" });
    problemsEl.textContent = "";
  }

  function showProblems(problems) {
    clearProblems();
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    var overlays = modeler.get("overlays");
    var perElement = {};
    problems.forEach(function (p) {
      var li = document.createElement("li");
      li.className = "problem " + (p.category || "error");
      li.dataset.element = p.element_id || "";
      li.dataset.source = p.source;
      var where = p.element_id ? "[" + p.element_id + "] " : (p.file ? p.file + (p.line ? ":" + p.line : "") + " " : "");
      li.textContent = (p.category === "warn" ? t("提示 ", "note ") : "") + where + p.message;
      var shape = p.element_id ? registry.get(p.element_id) : null;
      if (shape) {
        li.addEventListener("click", function () { modeler.get("selection").select(shape); canvas.scrollToElement(shape); });
        if (p.category !== "warn") {
          (perElement[p.element_id] = perElement[p.element_id] || []).push(p.message);
        }
      }
      problemsEl.appendChild(li);
    });
    Object.keys(perElement).forEach(function (id) {
      canvas.addMarker(id, "ql-problem");
      marked.push(id);
      var badge = document.createElement("div");
      badge.className = "ql-problem-badge";
      badge.dataset.element = id;
      badge.title = perElement[id].join("\n");
      badge.textContent = "! " + perElement[id][0];
      overlays.add(id, "ql-problem", { position: { bottom: -6, left: 0 }, html: badge });
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return { ok: false, message: "HTTP " + r.status, problems: [] }; })
        .then(function (data) { data.status = r.status; return data; });
    });
  }

  function fileName() {
    var input = document.getElementById("file-name");
    return input ? input.value : "diagram.bpmn";
  }

  function lint() {
    if (!tools) { return Promise.resolve([]); }
    return tools.lint(modeler.getDefinitions(), en ? "en" : "zh").then(function (found) {
      return found.map(function (f) {
        return { element_id: f.id, message: f.message, rule: f.rule, category: f.category, source: "lint" };
      });
    });
  }

  // Lint as one draws: a moment after the last change, the count and the list of what bpmnlint finds
  // (the server's checks run on 校验 and on deploy).
  var countEl = document.getElementById("lint-count");
  var lintTimer = null;
  var lastServer = [];          // the server's findings until the diagram changes again
  function showCount(found) {
    var errors = found.filter(function (p) { return p.category !== "warn"; }).length;
    var notes = found.length - errors;
    countEl.dataset.errors = String(errors);
    countEl.dataset.notes = String(notes);
    countEl.className = "lint-count " + (errors ? "has-errors" : "clean");
    countEl.textContent = errors || notes
      ? t(errors + " 个问题，" + notes + " 条提示", errors + " problem(s), " + notes + " note(s)")
      : t("没有发现问题", "No problems found");
  }
  function lintSoon() {
    if (!options.editable || !countEl) { return; }
    clearTimeout(lintTimer);
    lintTimer = setTimeout(function () {
      lint().then(function (found) { showCount(found); showProblems(lastServer.concat(found)); });
    }, 250);
  }
  modeler.on("commandStack.changed", function () { lastServer = []; lintSoon(); });

  // Both checks; resolves to {xml, problems, blocking}.
  function check() {
    setStatus(t("正在校验…", "Validating…"));
    return modeler.saveXML({ format: true }).then(function (saved) {
      return lint().then(function (lintProblems) {
        return post(el.dataset.validate, { xml: saved.xml, file_name: fileName() }).then(function (res) {
          var server = (res.problems || []).map(function (p) { p.source = "server"; p.category = "error"; return p; });
          lastServer = server;
          var all = server.concat(lintProblems);
          showProblems(all);
          var blocking = all.filter(function (p) { return p.category !== "warn"; }).length;
          return { xml: saved.xml, problems: all, blocking: blocking };
        });
      });
    });
  }

  function validate() {
    return check().then(function (r) {
      if (r.blocking) {
        setStatus(t("发现 " + r.blocking + " 个问题，修正后才能部署", r.blocking + " problem(s): fix them before deploying"), "error");
      } else {
        setStatus(t("校验通过，可以部署", "Valid: ready to deploy"), "ok");
      }
      return r;
    });
  }

  function deploy() {
    return validate().then(function (r) {
      if (r.blocking) { return; }
      var note = document.getElementById("note").value;
      return post(el.dataset.deploy, { xml: r.xml, file_name: fileName(), note: note }).then(function (res) {
        if (res.status === 201) {
          toolbar.markClean();
          setStatus(res.message, "ok");
          var link = document.createElement("a");
          link.href = res.versions_url;
          link.textContent = " " + t("查看版本", "see versions");
          link.dataset.testid = "versions-link";
          statusEl.appendChild(link);
          el.dataset.deployed = String(res.versions[0].version);
        } else {
          showProblems((res.problems || []).map(function (p) { p.source = "server"; return p; }));
          setStatus(t("部署被拒绝：", "Deploy refused: ") + res.message, "error");
        }
      });
    });
  }

  function saveDraft() {
    return modeler.saveXML({ format: true }).then(function (saved) {
      return post(el.dataset.draft, { xml: saved.xml, file_name: fileName(), note: document.getElementById("note").value });
    }).then(function (res) {
      setStatus(res.ok ? res.message : (t("草稿未保存：", "Draft not saved: ") + res.message), res.ok ? "ok" : "error");
      if (res.ok) { toolbar.markClean(); }
      if (!res.ok) { showProblems((res.problems || []).map(function (p) { p.source = "server"; return p; })); }
    });
  }

  function bind(id, fn) {
    var b = document.getElementById(id);
    if (b) { b.addEventListener("click", function () { fn(); }); }
  }
  bind("btn-validate", validate);
  bind("btn-deploy", deploy);
  bind("btn-draft", saveDraft);
  var download = document.getElementById("btn-download");
  if (download) {
    download.addEventListener("click", function (e) {
      e.preventDefault();
      modeler.saveXML({ format: true }).then(function (saved) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(new Blob([saved.xml], { type: "application/xml" }));
        a.download = fileName();
        a.click();
      });
    });
  }
  var opener = document.getElementById("open-file");
  if (opener) {
    opener.addEventListener("change", function () {
      var file = opener.files[0];
      if (!file) { return; }
      document.getElementById("file-name").value = file.name;
      file.text().then(function (text) { return load(text); }).then(function () {
        if (el.dataset.ready === "true") { validate(); }
      });
    });
  }

  var draft = document.getElementById("draft-xml");
  if (draft) {
    load(JSON.parse(draft.textContent));
  } else if (el.dataset.src) {
    fetch(el.dataset.src, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(load);
  } else {
    load(BLANK);
  }
})();
