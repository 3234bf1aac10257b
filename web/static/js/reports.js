/* Report pages: the print button (no inline script under the CSP). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("print-report");
    if (button) { button.addEventListener("click", function () { window.print(); }); }
  });
}());
