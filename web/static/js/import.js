// Polls the organisation import's status and moves the progress bar until it is done or failed.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box) { return; }
  var bar = document.getElementById("import-progress");
  var message = document.getElementById("import-message");
  var texts = document.documentElement.lang === "en"
    ? { done: "Import complete", failed: "Import failed: nothing was written", running: "Importing…" }
    : { done: "导入完成", failed: "导入失败，未写入任何内容", running: "正在导入…" };
  function poll() {
    fetch(box.dataset.status, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.max = s.total || 1;
        bar.value = s.done;
        box.dataset.state = s.state;
        if (s.state === "done") { message.textContent = texts.done + "（" + s.done + "/" + s.total + "）"; return; }
        if (s.state === "failed") { message.textContent = s.error || texts.failed; return; }
        message.textContent = texts.running + " " + s.done + "/" + (s.total || "?");
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  if (box.dataset.state !== "done" && box.dataset.state !== "failed") { poll(); }
})();
