/* The hand-over forms of the task page: a search field filters the people offered (by name, pinyin
   initials, username or department, as each option's data-search says). Without this script the
   select still lists them all. No inline handlers (CSP script-src 'self'). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("input.target-search"), function (input) {
    var select = document.getElementById(input.getAttribute("data-for"));
    if (!select) { return; }
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase(), first = null;
      Array.prototype.forEach.call(select.options, function (opt) {
        if (!opt.value) { return; }
        var hit = !q || (opt.getAttribute("data-search") || "").toLowerCase().indexOf(q) >= 0;
        opt.hidden = !hit;
        opt.disabled = !hit;
        if (hit && !first) { first = opt; }
      });
      if (select.selectedOptions.length && select.selectedOptions[0].hidden) { select.value = ""; }
      if (q && first && !select.value) { select.value = first.value; }
    });
  });
})();
