// The visual form builder: the fields of a form definition listed in order — add, move, remove, and
// each field's properties — writing the very JSON of docs/forms.md into the definition's textarea
// (which stays editable: what the builder does not show, e.g. patterns or accepted file types, is kept).
// A `rows` field lists its columns the same way, one level down: the columns' schema is the field's
// `items` (`items.properties`, `items.required`) and their layout its entry's `columns`.
(function () {
  "use strict";
  var area = document.getElementById("definition");
  var root = document.getElementById("form-builder");
  if (!area || !root) { return; }
  var en = document.documentElement.lang === "en";
  function t(zh, enText) { return en ? enText : zh; }

  // widget -> [label, the schema a new field of that kind starts with, its layout entry's extra keys]
  // (docs/forms.md, "Field kinds")
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
    rows: [t("多行表格", "Rows"), { type: "array", items: { type: "object", properties: { item: { type: "string", title: "事项" } } } },
      { columns: [{ field: "item", widget: "text" }] }],
  };
  var FIELD_KINDS = Object.keys(KINDS);
  // a repeating row holds any kind but files and rows (engine/forms/definition.py, ROW_KINDS)
  var COLUMN_KINDS = FIELD_KINDS.filter(function (k) { return k !== "file" && k !== "rows"; });
  // layout keys that belong to one kind only, dropped when a field changes kind
  var KIND_KEYS = ["decimals", "accept", "maxSize", "columns", "optionsFrom"];
  var KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

  function clone(x) { return JSON.parse(JSON.stringify(x)); }
  function kindLabel(widget) { return (KINDS[widget] || [widget])[0]; }

  // -- the definition, read from and written to the textarea ------------------------------------
  function read() {
    try {
      var d = JSON.parse(area.value);
      if (!d || typeof d !== "object") { return null; }
      d.schema = d.schema || { type: "object", properties: {} };
      d.schema.properties = d.schema.properties || {};
      d.layout = d.layout || [];
      return d;
    } catch (e) { return null; }
  }
  // An empty `required` is dropped, at the top and in every rows field's items, as a hand-written
  // form has it.
  function tidy(schema) {
    if (schema.required && !schema.required.length) { delete schema.required; }
    Object.keys(schema.properties || {}).forEach(function (k) {
      var items = schema.properties[k] && schema.properties[k].items;
      if (items && items.type === "object") { tidy(items); }
    });
  }
  function write(d) {
    tidy(d.schema);
    area.value = JSON.stringify(d, null, 2);
    area.dispatchEvent(new Event("input"));        // the live preview follows
    render();
  }

  // -- a level: the form's own fields, or one rows field's columns ----------------------------------
  function formLevel(d) {
    return { schema: d.schema, layout: d.layout, kinds: FIELD_KINDS, columns: false };
  }
  function columnLevel(prop, entry) {
    prop.items = prop.items || { type: "object" };
    prop.items.properties = prop.items.properties || {};
    entry.columns = entry.columns || [];
    return { schema: prop.items, layout: entry.columns, kinds: COLUMN_KINDS, columns: true };
  }
  function isRequired(level, key) { return (level.schema.required || []).indexOf(key) >= 0; }
  function setRequired(level, key, on) {
    var list = (level.schema.required || []).filter(function (k) { return k !== key; });
    if (on) { list.push(key); }
    level.schema.required = list;
  }
  function addField(level, name, widget) {
    level.schema.properties[name] = Object.assign({ title: name }, clone(KINDS[widget][1]));
    level.layout.push(Object.assign({ field: name, widget: widget }, clone(KINDS[widget][2] || {})));
  }
  function removeField(level, index) {
    var key = level.layout.splice(index, 1)[0].field;
    delete level.schema.properties[key];
    setRequired(level, key, false);
  }
  function moveField(level, index, by) {
    level.layout.splice(index + by, 0, level.layout.splice(index, 1)[0]);
  }
  // A new kind starts from that kind's schema; the title, help and placeholder stay.
  function changeKind(level, entry, widget) {
    var old = level.schema.properties[entry.field] || {};
    var schema = clone(KINDS[widget][1]);
    ["title", "title_en"].forEach(function (k) { if (old[k] !== undefined) { schema[k] = old[k]; } });
    level.schema.properties[entry.field] = schema;
    KIND_KEYS.forEach(function (k) { delete entry[k]; });
    entry.widget = widget;
    Object.assign(entry, clone(KINDS[widget][2] || {}));
  }

  // -- small DOM helpers ---------------------------------------------------------------------------
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
  function kindSelect(kinds, selected, attrs) {
    var select = el("select", attrs);
    kinds.forEach(function (k) { select.appendChild(el("option", { value: k, selected: k === selected }, kindLabel(k))); });
    return select;
  }

  // -- one field (or column): its head, its properties, and for rows its columns ------------------
  function fieldBox(d, level, index) {
    var entry = level.layout[index];
    var schema = level.schema.properties[entry.field] || {};
    var attrs = { className: "fb-field" + (level.columns ? " fb-column" : "") };
    attrs[level.columns ? "data-column" : "data-field"] = entry.field;
    var li = el("li", attrs);
    li.appendChild(headBox(d, level, index, schema));
    li.appendChild(propsBox(d, level, entry, schema));
    if (entry.widget === "rows" && !level.columns) { li.appendChild(columnsBox(d, schema, entry)); }
    return li;
  }

  function headBox(d, level, index, schema) {
    var key = level.layout[index].field;
    var name = schema.title || key;
    var head = el("div", { className: "fb-head" });
    head.appendChild(el("strong", {}, name));
    head.appendChild(el("code", {}, " " + key + " · " + kindLabel(level.layout[index].widget)));
    [["↑", t("上移", "Move up"), -1], ["↓", t("下移", "Move down"), 1]].forEach(function (m) {
      var b = el("button", { type: "button", title: m[1], "data-move": String(m[2]) }, m[0]);
      b.setAttribute("aria-label", m[1] + " " + name);
      b.disabled = index + m[2] < 0 || index + m[2] >= level.layout.length;
      b.addEventListener("click", function () { moveField(level, index, m[2]); write(d); });
      head.appendChild(b);
    });
    var remove = el("button", { type: "button", className: "danger", "data-remove": key }, t("删除", "Remove"));
    remove.setAttribute("aria-label", t("删除", "Remove") + " " + name);
    remove.addEventListener("click", function () { removeField(level, index); write(d); });
    head.appendChild(remove);
    return head;
  }

  function propsBox(d, level, entry, schema) {
    var props = el("div", { className: "fb-props" });
    props.appendChild(input(t("标题", "Title"), schema.title, function (v) { schema.title = v; write(d); }, { "data-prop": "title" }));
    props.appendChild(input(t("英文标题", "English title"), schema.title_en, function (v) {
      if (v.trim()) { schema.title_en = v; } else { delete schema.title_en; } write(d); }, { "data-prop": "title_en" }));
    props.appendChild(kindBox(d, level, entry));
    props.appendChild(input(t("填写说明", "Help"), entry.help, function (v) {
      if (v.trim()) { entry.help = v; } else { delete entry.help; } write(d); }, { "data-prop": "help" }));
    props.appendChild(requiredBox(d, level, entry.field));
    limitInputs(d, entry.widget, schema).forEach(function (x) { props.appendChild(x); });
    var opts = schema.oneOf || (schema.items && schema.items.oneOf);
    if (opts) { props.appendChild(optionsBox(d, schema.oneOf ? schema : schema.items)); }
    return props;
  }

  function kindBox(d, level, entry) {
    var row = el("label", { className: "fb-prop" });
    row.appendChild(el("span", {}, t("类型", "Kind")));
    var select = kindSelect(level.kinds, entry.widget, { "data-prop": "widget" });
    select.addEventListener("change", function () { changeKind(level, entry, select.value); write(d); });
    row.appendChild(select);
    return row;
  }

  function requiredBox(d, level, key) {
    var row = el("label", { className: "fb-prop fb-check" });
    var box = el("input", { type: "checkbox", checked: isRequired(level, key), "data-prop": "required" });
    box.addEventListener("change", function () { setRequired(level, key, box.checked); write(d); });
    row.appendChild(box);
    row.appendChild(document.createTextNode(" " + t("必填", "Required")));
    return row;
  }

  // The kind's limits: a text's length, a number's range, how many rows a table may have.
  function limitInputs(d, widget, schema) {
    var names = { text: ["maxLength"], textarea: ["maxLength"], number: ["minimum", "maximum"],
      money: ["minimum", "maximum"], rows: ["minItems", "maxItems"] }[widget] || [];
    var labels = { maxLength: t("最多字数", "Max length"), minimum: t("最小值", "Minimum"),
      maximum: t("最大值", "Maximum"), minItems: t("最少行数", "Min rows"), maxItems: t("最多行数", "Max rows") };
    var whole = { maxLength: true, minItems: true, maxItems: true };
    return names.map(function (name) {
      return input(labels[name], schema[name], function (v) {
        var n = whole[name] ? parseInt(v, 10) : Number(v);
        var ok = v.trim() !== "" && !isNaN(n) && (!whole[name] || n > 0);
        if (ok) { schema[name] = n; } else { delete schema[name]; }
        write(d);
      }, { "data-prop": name });
    });
  }

  // Options one a line, `value=label`; an option kept keeps its other keys (its English title).
  function optionsBox(d, holder) {
    var text = holder.oneOf.map(function (o) { return o.const + "=" + (o.title || ""); }).join("\n");
    var row = el("label", { className: "fb-prop" });
    row.appendChild(el("span", {}, t("选项（每行：值=名称）", "Options (one a line: value=label)")));
    var ta = el("textarea", { rows: 3, value: text, "data-prop": "options" });
    ta.addEventListener("change", function () {
      var before = {};
      holder.oneOf.forEach(function (o) { before[String(o.const)] = o; });
      holder.oneOf = ta.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
        var at = line.indexOf("="), value = (at < 0 ? line : line.slice(0, at)).trim();
        var title = (at < 0 ? line : line.slice(at + 1)).trim();
        var old = before[value];
        return Object.assign({}, old || {}, { const: old ? old.const : value, title: title });
      });
      write(d);
    });
    row.appendChild(ta);
    return row;
  }

  function columnsBox(d, schema, entry) {
    var level = columnLevel(schema, entry);
    var box = el("div", { className: "fb-columns", "data-testid": "builder-columns" });
    box.appendChild(el("h3", {}, t("每行的列", "Columns of each row")));
    box.appendChild(fieldList(d, level));
    box.appendChild(addBox(d, level));
    return box;
  }

  function fieldList(d, level) {
    var list = el("ol", { className: "fb-fields" });
    level.layout.forEach(function (entry, i) { if (entry && entry.field) { list.appendChild(fieldBox(d, level, i)); } });
    return list;
  }

  // A key and a kind, then 添加: the field (or column) starts with that kind's schema.
  function addBox(d, level) {
    var id = level.columns ? "column" : "builder";
    var add = el("div", { className: "fb-add" });
    var key = el("input", { type: "text", placeholder: level.columns ? t("列标识，如 point", "column key, e.g. point")
      : t("字段标识，如 summary", "field key, e.g. summary"), "data-testid": id + "-new-key" });
    key.setAttribute("aria-label", key.placeholder);
    var kind = kindSelect(level.kinds, level.kinds[0], { "data-testid": id + "-new-kind" });
    kind.setAttribute("aria-label", t("类型", "Kind"));
    var button = el("button", { type: "button", "data-testid": id + "-add" }, level.columns ? t("添加列", "Add column") : t("添加字段", "Add field"));
    button.addEventListener("click", function () {
      var name = key.value.trim();
      if (!KEY.test(name) || level.schema.properties[name]) {
        key.setCustomValidity(t("请填写未使用的字段标识（字母、数字、下划线）", "Give an unused key (letters, digits, _)"));
        key.reportValidity();
        return;
      }
      key.setCustomValidity("");
      addField(level, name, kind.value);
      write(d);
    });
    [key, kind, button].forEach(function (x) { add.appendChild(x); });
    return add;
  }

  function render() {
    root.textContent = "";
    var d = read();
    if (!d) {
      root.appendChild(el("p", { className: "error", "data-testid": "builder-unreadable" },
        t("定义不是有效的 JSON：请在下方修正后再用可视化编辑。", "The definition is not valid JSON: fix it below to use the builder.")));
      return;
    }
    root.appendChild(input(t("表单标题", "Form title"), d.title, function (v) { d.title = v; write(d); }, { "data-prop": "form-title" }));
    var list = fieldList(d, formLevel(d));
    list.setAttribute("data-testid", "builder-fields");
    root.appendChild(list);
    root.appendChild(addBox(d, formLevel(d)));
  }

  area.addEventListener("change", render);      // an edit of the raw JSON shows in the builder
  render();
})();
