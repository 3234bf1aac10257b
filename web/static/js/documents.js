// Official documents: fills the sections that list them (task, clue and campaign pages) from their
// fragment URL, and prints the preview.
(function () {
  "use strict";
  document.querySelectorAll("[data-documents-src]").forEach(function (el) {
    fetch(el.dataset.documentsSrc, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        el.innerHTML = html;
        el.hidden = !html.trim();
        el.dataset.ready = "true";
      })
      .catch(function () { el.dataset.ready = "error"; });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
