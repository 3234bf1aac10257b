// The visual form builder: the fields of a form definition listed in order — add, move, remove, and
// each field's properties — writing the very JSON of docs/forms.md into the definition's textarea
// (which stays editable: what the builder does not show, e.g. a `rows` field's columns, is kept).
(function () {
  "use strict";
  var area = document.getElementById("definition");
  var root = document.getElementById("form-builder");
  if (!area || !root) { return; }
  var en = document.documentElement.lang === "en";
  function t(zh, enText) { return en ? enText : zh; }

  // widget -> the schema a new field of that kind starts with (docs/forms.md, "Field kinds")
  var KINDS = {
    text: [t("单行文本", "Text"), { type: "string", maxLength: 500 }],
    textarea: [t("多行文本", "Long text"), { type: "string", maxLength: 2000 }],
    number: [t("数字", "Number"), { type: "integer" }],
    money: [t("金额（万元）", "Money (10k yuan)"), { type: "string", minimum: 0 }],
    date: [t("日期", "Date"), { type: "string", format: "date" }],
    select: [t("单选", "Choice"), { type: "string", oneOf: [{ const: "a", title: "选项一" }] }],
    multiselect: [t("多选", "Multiple choice"), { type: "array", uniqueItems: true, items: { type: "string", oneOf: [{ const: "a", title: "选项一" }] } }],
    yesno: [t("是/否", "Yes/no"), { type: "boolean" }],
    person: [t("人员", "Person"), { type: "string" }],
    department: [t("科室", "Department"), { type: "string" }],
    departments: [t("多个科室", "Departments"), { type: "array", uniqueItems: true, items: { type: "string" } }],
    file: [t("附件", "File"), { type: "array", items: { type: "string" }, maxItems: 3 }],
    rows: [t("多行表格", "Rows"), { type: "array", items: { type: "object", properties: { item: { type: "string", title: "事项" } } } }],
  };

  function read() {
    try {
      var d = JSON.parse(area.value);
      if (!d || typeof d !== "object") { return null; }
      d.schema = d.schema || { type: "object", properties: {} };
      d.schema.properties = d.schema.properties || {};
      d.schema.required = d.schema.required || [];
      d.layout = d.layout || [];
      return d;
    } catch (e) { return null; }
  }
  function write(d) {
    if (!d.schema.required.length) { delete d.schema.required; }
    area.value = JSON.stringify(d, null, 2);
    area.dispatchEvent(new Event("input"));        // the live preview follows
    render();
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k.indexOf("data-") === 0) { e.setAttribute(k, attrs[k]); } else { e[k] = attrs[k]; } });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function input(label, value, onChange, attrs) {
    var row = el("label", { className: "fb-prop" });
    row.appendChild(el("span", {}, label));
    var i = el("input", Object.assign({ type: "text", value: value === undefined || value === null ? "" : String(value) }, attrs || {}));
    i.addEventListener("change", function () { onChange(i.value); });
    row.appendChild(i);
    return row;
  }
  function options(schema) { return schema.oneOf || (schema.items && schema.items.oneOf); }

  function fieldBox(d, entry, index) {
    var key = entry.field;
    var schema = d.schema.properties[key] || {};
    var li = el("li", { className: "fb-field", "data-field": key });
    var head = el("div", { className: "fb-head" });
    head.appendChild(el("strong", {}, schema.title || key));
    head.appendChild(el("code", {}, " " + key + " · " + ((KINDS[entry.widget] || [entry.widget])[0])));
    [["↑", t("上移", "Move up"), -1], ["↓", t("下移", "Move down"), 1]].forEach(function (m) {
      var b = el("button", { type: "button", title: m[1], "data-move": String(m[2]) }, m[0]);
      b.setAttribute("aria-label", m[1] + " " + (schema.title || key));
      b.disabled = index + m[2] < 0 || index + m[2] >= d.layout.length;
      b.addEventListener("click", function () {
        var item = d.layout.splice(index, 1)[0];
        d.layout.splice(index + m[2], 0, item);
        write(d);
      });
      head.appendChild(b);
    });
    var remove = el("button", { type: "button", className: "danger", "data-remove": key }, t("删除", "Remove"));
    remove.addEventListener("click", function () {
      d.layout.splice(index, 1);
      delete d.schema.properties[key];
      d.schema.required = d.schema.required.filter(function (k) { return k !== key; });
      write(d);
    });
    head.appendChild(remove);
    li.appendChild(head);
    var props = el("div", { className: "fb-props" });
    props.appendChild(input(t("标题", "Title"), schema.title, function (v) { schema.title = v; write(d); }, { "data-prop": "title" }));
    props.appendChild(input(t("英文标题", "English title"), schema.title_en, function (v) {
      if (v.trim()) { schema.title_en = v; } else { delete schema.title_en; } write(d); }, { "data-prop": "title_en" }));
    props.appendChild(input(t("填写说明", "Help"), entry.help, function (v) {
      if (v.trim()) { entry.help = v; } else { delete entry.help; } write(d); }, { "data-prop": "help" }));
    var req = el("label", { className: "fb-prop" });
    var box = el("input", { type: "checkbox", checked: d.schema.required.indexOf(key) >= 0, "data-prop": "required" });
    box.addEventListener("change", function () {
      d.schema.required = d.schema.required.filter(function (k) { return k !== key; });
      if (box.checked) { d.schema.required.push(key); }
      write(d);
    });
    req.appendChild(box);
    req.appendChild(document.createTextNode(" " + t("必填", "Required")));
    props.appendChild(req);
    if (entry.widget === "text" || entry.widget === "textarea") {
      props.appendChild(input(t("最多字数", "Max length"), schema.maxLength, function (v) {
        var n = parseInt(v, 10); if (n > 0) { schema.maxLength = n; } else { delete schema.maxLength; } write(d); }, { "data-prop": "maxLength" }));
    }
    if (entry.widget === "number" || entry.widget === "money") {
      ["minimum", "maximum"].forEach(function (name) {
        props.appendChild(input(name === "minimum" ? t("最小值", "Minimum") : t("最大值", "Maximum"), schema[name], function (v) {
          var n = Number(v); if (v.trim() !== "" && !isNaN(n)) { schema[name] = n; } else { delete schema[name]; } write(d); }, { "data-prop": name }));
      });
    }
    var opts = options(schema);
    if (opts) {
      var text = opts.map(function (o) { return o.const + "=" + (o.title || ""); }).join("\n");
      var row = el("label", { className: "fb-prop" });
      row.appendChild(el("span", {}, t("选项（每行：值=名称）", "Options (one a line: value=label)")));
      var ta = el("textarea", { rows: 3, value: text, "data-prop": "options" });
      ta.addEventListener("change", function () {
        var list = ta.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
          var at = line.indexOf("="), value = at < 0 ? line : line.slice(0, at), title = at < 0 ? line : line.slice(at + 1);
          return { const: value.trim(), title: title.trim() };
        });
        if (schema.oneOf) { schema.oneOf = list; } else { schema.items.oneOf = list; }
        write(d);
      });
      row.appendChild(ta);
      props.appendChild(row);
    }
    li.appendChild(props);
    return li;
  }

  function render() {
    root.textContent = "";
    var d = read();
    if (!d) {
      root.appendChild(el("p", { className: "error", "data-testid": "builder-unreadable" },
        t("定义不是有效的 JSON：请在下方修正后再用可视化编辑。", "The definition is not valid JSON: fix it below to use the builder.")));
      return;
    }
    var title = input(t("表单标题", "Form title"), d.title, function (v) { d.title = v; write(d); }, { "data-prop": "form-title" });
    root.appendChild(title);
    var list = el("ol", { className: "fb-fields", "data-testid": "builder-fields" });
    d.layout.forEach(function (entry, i) { if (entry && entry.field) { list.appendChild(fieldBox(d, entry, i)); } });
    root.appendChild(list);
    var add = el("div", { className: "fb-add" });
    var key = el("input", { type: "text", placeholder: t("字段标识，如 summary", "field key, e.g. summary"), "data-testid": "builder-new-key" });
    var kind = el("select", { "data-testid": "builder-new-kind" });
    Object.keys(KINDS).forEach(function (k) { kind.appendChild(el("option", { value: k }, KINDS[k][0])); });
    var button = el("button", { type: "button", "data-testid": "builder-add" }, t("添加字段", "Add field"));
    button.addEventListener("click", function () {
      var name = key.value.trim();
      var current = read();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !current || current.schema.properties[name]) {
        key.setCustomValidity(t("请填写未使用的字段标识（字母、数字、下划线）", "Give an unused key (letters, digits, _)"));
        key.reportValidity();
        return;
      }
      key.setCustomValidity("");
      current.schema.properties[name] = Object.assign({ title: name }, JSON.parse(JSON.stringify(KINDS[kind.value][1])));
      current.layout.push({ field: name, widget: kind.value });
      write(current);
    });
    [key, kind, button].forEach(function (x) { add.appendChild(x); });
    root.appendChild(add);
  }

  area.addEventListener("change", render);      // an edit of the raw JSON shows in the builder
  render();
})();
