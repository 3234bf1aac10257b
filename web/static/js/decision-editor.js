// The decision table editor: dmn-js opened on the decision table (not the requirements diagram),
// in Chinese unless the reader chose English; 部署 sends the table to the server's checks.
(function () {
  "use strict";
  var el = document.getElementById("dmn");
  if (!el) { return; }
  var options = JSON.parse(document.getElementById("dmn-options").textContent);
  var en = options.locale === "en";
  function t(zh, enText) { return en ? enText : zh; }
  var statusEl = document.getElementById("status");
  var problemsEl = document.getElementById("problems");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  if (!window.DmnJS) { el.dataset.ready = "error"; return; }
  // each view's own modules: dmn-js replaces common.additionalModules with the view's
  var zh = en ? [] : [window.QinglianDmnI18n.module];
  var modeler = new window.DmnJS({
    container: el,
    drd: { additionalModules: zh }, decisionTable: { additionalModules: zh }, literalExpression: { additionalModules: zh },
  });
  window.qinglianDecisions = modeler;

  function setStatus(text, kind) { statusEl.textContent = text; statusEl.className = kind || ""; }

  modeler.importXML(JSON.parse(document.getElementById("dmn-xml").textContent)).then(function () {
    var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    return table ? modeler.open(table) : null;
  }).then(function () {
    el.dataset.ready = "true";
  }).catch(function (err) {
    el.dataset.ready = "error";
    setStatus(t("无法打开决策表：", "Cannot open the decision table: ") + err.message, "error");
  });

  var button = document.getElementById("btn-deploy");
  if (button) {
    button.addEventListener("click", function () {
      problemsEl.textContent = "";
      modeler.saveXML({ format: true }).then(function (saved) {
        return fetch(el.dataset.deploy, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
          body: JSON.stringify({ xml: saved.xml, note: document.getElementById("note").value }),
        });
      }).then(function (r) {
        return r.json().then(function (res) { res.status = r.status; return res; });
      }).then(function (res) {
        setStatus(res.message, res.status === 201 ? "ok" : "error");
        if (res.status === 201) { el.dataset.deployed = String(res.version); }
        (res.problems || []).forEach(function (p) {
          var li = document.createElement("li");
          li.className = "problem error";
          li.dataset.element = p.element_id || "";
          li.textContent = (p.element_id ? "[" + p.element_id + "] " : "") + p.message;
          problemsEl.appendChild(li);
        });
      });
    });
  }
})();
