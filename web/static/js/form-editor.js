// The form definition editor: a live preview (rendered by the server, as tasks render it) and the
// definition's own problems, refreshed as one types.
(function () {
  "use strict";
  var newForm = document.getElementById("new-form");
  if (newForm) {
    newForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var key = newForm.elements.key.value.trim();
      if (key) { window.location.href = newForm.dataset.base + "/" + encodeURIComponent(key); }
    });
  }
  var form = document.getElementById("form-definition");
  if (!form) { return; }
  var area = document.getElementById("definition");
  var preview = document.getElementById("preview");
  var problems = document.getElementById("preview-problems");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content;
  var timer = null;
  var seq = 0;
  function refresh() {
    var mine = ++seq;
    fetch(form.dataset.preview, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ key: form.dataset.key, definition: area.value }),
    }).then(function (r) { return r.json(); }).then(function (res) {
      if (mine !== seq) { return; }
      problems.textContent = "";
      (res.problems || []).forEach(function (p) {
        var li = document.createElement("li"); li.textContent = p; problems.appendChild(li);
      });
      if (res.ok) { preview.innerHTML = res.html; }     // server-rendered, escaped by Jinja
      preview.dataset.ok = res.ok ? "true" : "false";
      preview.dataset.ready = "true";
    });
  }
  area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); });
  refresh();
})();
