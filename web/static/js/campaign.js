/* Campaign pages: progress bar widths, the completion chart (ECharts, fed by JSON) and the
   departments picker's select all / none. No inline script or styles (CSP): bars carry their
   percentage in data-width and are sized here through the CSSOM. */
(function () {
  "use strict";

  function bars() {
    document.querySelectorAll("[data-width]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, Number(el.getAttribute("data-width")) || 0)) + "%";
    });
  }

  function chart() {
    var box = document.getElementById("campaign-chart");
    if (!box || !window.echarts) { return; }
    fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.json(); })
      .then(function (data) {
        var en = box.getAttribute("data-locale") === "en";
        var c = window.echarts.init(box);
        c.setOption({
          animation: false,
          // drawn on the canvas: HTML tooltips carry inline styles the CSP refuses
          tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
          legend: { top: 0 },
          grid: { left: 48, right: 24, top: 36, bottom: 36 },
          xAxis: { type: "category", data: data.days, boundaryGap: false },
          yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
          series: data.series.map(function (s) {
            return { name: en ? s.name_en : s.name, type: "line", data: s.data, connectNulls: false, showSymbol: data.days.length < 40 };
          })
        });
        if (!data.series.length) {
          c.setOption({ title: { text: box.getAttribute("data-empty"), left: "center", top: "middle" } });
        }
        box.setAttribute("data-ready", "true");
        window.addEventListener("resize", function () { c.resize(); });
      })
      .catch(function () { box.setAttribute("data-ready", "error"); });
  }

  function pickers() {
    document.querySelectorAll("[data-choice-tools]").forEach(function (tools) {
      var group = document.getElementById(tools.getAttribute("data-choice-tools"));
      if (!group) { return; }
      tools.hidden = false;
      function set(on) {
        group.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = on; });
      }
      tools.querySelector("[data-check-all]").addEventListener("click", function () { set(true); });
      tools.querySelector("[data-check-none]").addEventListener("click", function () { set(false); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { bars(); chart(); pickers(); });
}());
