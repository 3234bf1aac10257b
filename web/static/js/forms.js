/* Repeating rows for forms rendered by templates/forms/_fields.html: add and remove rows.
   No framework, no inline handlers (CSP script-src 'self'). Without this script the page still works
   with the rows the server rendered; with it, rows are renumbered 0, 1, 2… so posted names stay dense
   and match the server's error paths ("risks[2].level"). */
(function () {
  "use strict";

  var ATTRS = ["name", "id", "for", "aria-describedby"];

  function rowsOf(group) {
    return Array.prototype.filter.call(group.querySelector(".rows").children, function (el) {
      return el.hasAttribute("data-row");
    });
  }

  // "risks[7].x" -> "risks[i].x", "f-risks-7-x" -> "f-risks-i-x" (also the template's __i__), per
  // space-separated part so aria-describedby lists work too.
  function renamed(value, field, i) {
    var id = "f-" + field + "-";
    return value.split(" ").map(function (part) {
      if (part.indexOf(field + "[") === 0) {
        return field + "[" + i + "]" + part.slice(part.indexOf("]") + 1);
      }
      if (part.indexOf(id) === 0) {
        var rest = part.slice(id.length);
        return id + i + rest.slice(rest.indexOf("-"));
      }
      return part;
    }).join(" ");
  }

  function renumber(group, row, i) {
    var field = group.getAttribute("data-rows");
    row.querySelectorAll("*").forEach(function (el) {
      ATTRS.forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value !== null) { el.setAttribute(attr, renamed(value, field, i)); }
      });
    });
    var title = row.querySelector(".row-title");
    if (title) { title.textContent = title.getAttribute("data-title").replace("{n}", i + 1); }
  }

  function refresh(group) {
    var rows = rowsOf(group);
    rows.forEach(function (row, i) { renumber(group, row, i); });
    var max = parseInt(group.getAttribute("data-max-rows"), 10) || 200;
    group.querySelector("[data-add-row]").disabled = rows.length >= max;
  }

  function addRow(group) {
    var template = group.querySelector("template.row-template");
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelectorAll("[data-remove-row]").forEach(function (b) { b.hidden = false; });
    group.querySelector(".rows").appendChild(row);
    refresh(group);
    var first = row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  function removeRow(group, row) {
    row.parentNode.removeChild(row);
    refresh(group);
    group.querySelector("[data-add-row]").focus();
  }

  function setUp(group) {
    group.querySelectorAll("[data-add-row], [data-remove-row]").forEach(function (b) { b.hidden = false; });
    group.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !group.contains(button)) { return; }
      if (button.hasAttribute("data-add-row") && button.closest("[data-rows]") === group) {
        addRow(group);
      } else if (button.hasAttribute("data-remove-row")) {
        removeRow(group, button.closest("[data-row]"));
      }
    });
    refresh(group);
  }

  function start() {
    document.querySelectorAll("[data-rows]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
