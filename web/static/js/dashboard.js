/* The reports dashboard: ECharts fed by dashboard.json; a click on a bar, slice or point opens the
   list behind it (the address comes with the data). No inline script (CSP). */
(function () {
  "use strict";

  function draw(id, option, onClick) {
    var box = document.getElementById(id);
    if (!box) { return null; }
    var c = window.echarts.init(box);
    option.animation = false;
    // Tooltips drawn on the canvas ("richText"): ECharts' HTML tooltips carry inline styles, which the
    // CSP (style-src 'self') refuses, so they never showed and the console filled with errors.
    if (option.tooltip) { option.tooltip.renderMode = "richText"; }
    c.setOption(option);
    if (onClick) { c.on("click", onClick); }
    window.addEventListener("resize", function () { c.resize(); });
    box.setAttribute("data-ready", "true");
    return c;
  }

  function go(url) { if (url) { window.location.href = url; } }

  function render(root, data) {
    var en = root.getAttribute("data-locale") === "en";
    var empty = { text: root.getAttribute("data-empty"), left: "center", top: "middle", textStyle: { color: "#888", fontSize: 14 } };
    var grid = { left: 48, right: 16, top: 36, bottom: 56, containLabel: true };
    if (data.progress) {
      var depts = data.progress.departments;
      draw("chart-progress", {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        legend: { top: 0 }, grid: grid,
        xAxis: { type: "category", data: depts.map(function (d) { return d.name; }), axisLabel: { interval: 0, rotate: depts.length > 8 ? 30 : 0 } },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: data.progress.series.map(function (s) {
          return { name: en ? s.name_en : s.name, type: "bar", data: s.data, phase: s.phase };
        }),
        title: depts.length ? undefined : empty
      }, function (p) {
        var s = data.progress.series[p.seriesIndex];
        go(depts[p.dataIndex].links[s.phase]);
      });
      var od = data.overdue;
      draw("chart-overdue", {
        tooltip: {}, grid: grid,
        xAxis: { type: "category", data: od.map(function (d) { return d.name; }), axisLabel: { interval: 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: od.map(function (d) { return d.count; }), itemStyle: { color: "#c0392b" } }],
        title: od.length ? undefined : empty
      }, function (p) { go(od[p.dataIndex].link); });
    }
    if (data.clues) {
      var c = data.clues;
      var pie = function (id, items) {
        draw(id, {
          tooltip: { trigger: "item" }, legend: { bottom: 0, type: "scroll" },
          series: [{ type: "pie", radius: ["30%", "62%"], data: items.map(function (d) { return { name: d.name, value: d.count }; }) }],
          title: items.length ? undefined : empty
        }, function (p) { go(items[p.dataIndex].link); });
      };
      pie("chart-sources", c.sources);
      pie("chart-forms", c.forms);
      draw("chart-disposals", {
        tooltip: {}, grid: grid,
        xAxis: { type: "category", data: c.disposals.map(function (d) { return d.name; }), axisLabel: { interval: 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: c.disposals.map(function (d) { return d.count; }) }]
      }, function (p) { go(c.disposals[p.dataIndex].link); });
      var st = c.status;
      draw("chart-status", {
        tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: grid,
        xAxis: { type: "category", data: st.days, boundaryGap: false },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: st.statuses.open, type: "line", stack: "all", areaStyle: {}, data: st.open, status: "open" },
          { name: st.statuses.closed, type: "line", stack: "all", areaStyle: {}, data: st.closed, status: "closed" }
        ],
        title: st.days.length ? undefined : empty
      }, function (p) { go(st.links[p.seriesIndex === 0 ? "open" : "closed"]); });
      var fb = c.feedback;
      draw("chart-feedback", {
        tooltip: { valueFormatter: function (v) { return v == null ? "—" : v + "%"; } }, grid: grid,
        xAxis: { type: "category", data: [en ? "Acknowledged" : "受理告知", en ? "Result told" : "结果反馈"] },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: [{ type: "bar", data: [fb.accepted_pct, fb.told_pct], label: { show: true, position: "top",
          formatter: function (p) { return p.value == null ? "—" : p.value + "%"; } } }],
        title: fb.real_name ? undefined : empty
      }, function () { go(fb.link); });
    }
    root.setAttribute("data-ready", "true");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("dashboard");
    if (!root || !window.echarts) { return; }
    fetch(root.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.json(); })
      .then(function (data) { render(root, data); })
      .catch(function () { root.setAttribute("data-ready", "error"); });
  });
}());
