// The modeler's properties panel: exactly the extension properties the engine reads
// (docs/bpmn-extensions.md), written into spiffworkflow:properties through bpmn-js's modeling API.
(function () {
  "use strict";
  var NS = "http://spiffworkflow.org/bpmn/schema/1.0/core";

  function PropsPanel(modeler, container, options) {
    this.modeler = modeler;
    this.el = container;
    this.options = options;
    this.en = options.locale === "en";
    this.editable = options.editable;
    var self = this;
    modeler.on("selection.changed", function (e) { self.show(e.newSelection[0]); });
    modeler.on("import.done", function () { self.show(null); });
    modeler.on("commandStack.changed", function () { self.refresh(); });
    this.show(null);
  }

  PropsPanel.prototype.t = function (zh, en) { return this.en ? en : zh; };

  // After an undo or a redo, the panel shows the element's values again (not while one types in it).
  PropsPanel.prototype.refresh = function () {
    if (this.el.contains(document.activeElement)) { return; }
    var registry = this.modeler.get("elementRegistry");
    var id = this.el.dataset.element;
    this.show(id ? registry.get(id) : null);
  };

  // A field's change event also comes when it merely loses the focus: only a new value is a command.
  function onNewValue(input, onChange) {
    var applied = input.value;
    input.addEventListener("change", function () {
      if (input.value === applied) { return; }
      applied = input.value;
      onChange(input.value);
    });
  }

  PropsPanel.prototype.processOf = function (element) {
    var bo = element.businessObject;
    if (bo.$type === "bpmn:Participant") { return bo.processRef; }
    if (bo.$type === "bpmn:Collaboration") {
      var p = (bo.participants || []).filter(function (x) { return x.processRef; })[0];
      return p ? p.processRef : null;
    }
    return bo.$type === "bpmn:Process" ? bo : null;
  };

  // -- spiffworkflow:properties ------------------------------------------------------------------
  function propsElement(bo) {
    var ext = bo.extensionElements;
    if (!ext || !ext.values) { return null; }
    return ext.values.filter(function (v) { return v.$type === "spiffworkflow:properties"; })[0] || null;
  }

  function readProps(bo) {
    var found = {};
    var holder = propsElement(bo);
    ((holder && holder.$children) || []).forEach(function (p) {
      if (p.$type === "spiffworkflow:property" && p.name) { found[p.name] = p.value; }
    });
    return found;
  }

  PropsPanel.prototype.writeProp = function (element, bo, name, value) {
    var moddle = this.modeler.get("moddle");
    var modeling = this.modeler.get("modeling");
    var ext = bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
    ext.values = ext.values || [];
    var holder = propsElement(bo);
    if (!holder) {
      holder = moddle.createAny("spiffworkflow:properties", NS, {});
      holder.$children = [];
      holder.$parent = ext;
      ext.values.push(holder);
    }
    holder.$children = (holder.$children || []).filter(function (p) { return !(p.$type === "spiffworkflow:property" && p.name === name); });
    if (value !== null && value !== undefined && String(value).trim() !== "") {
      var prop = moddle.createAny("spiffworkflow:property", NS, { name: name, value: String(value).trim() });
      prop.$parent = holder;
      holder.$children.push(prop);
    }
    if (!holder.$children.length) { ext.values = ext.values.filter(function (v) { return v !== holder; }); }
    ext.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: ext.values.length ? ext : undefined });
  };

  // -- rendering -----------------------------------------------------------------------------------
  PropsPanel.prototype.field = function (label, input, hint) {
    var row = document.createElement("label");
    row.className = "prop";
    var span = document.createElement("span");
    span.textContent = label;
    row.appendChild(span);
    row.appendChild(input);
    if (hint) {
      var small = document.createElement("small");
      small.textContent = hint;
      row.appendChild(small);
    }
    this.el.appendChild(row);
    return input;
  };

  PropsPanel.prototype.text = function (label, value, onChange, name, hint) {
    var input = document.createElement("input");
    input.type = "text";
    input.value = value || "";
    input.name = name;
    input.dataset.prop = name;
    input.disabled = !this.editable;
    onNewValue(input, onChange);
    return this.field(label, input, hint);
  };

  PropsPanel.prototype.select = function (label, value, choices, onChange, name) {
    var select = document.createElement("select");
    select.name = name;
    select.dataset.prop = name;
    select.disabled = !this.editable;
    choices.forEach(function (c) {
      var opt = document.createElement("option");
      opt.value = c[0];
      opt.textContent = c[1];
      if (c[0] === (value || "")) { opt.selected = true; }
      select.appendChild(opt);
    });
    if (value && !choices.some(function (c) { return c[0] === value; })) {
      var extra = document.createElement("option");
      extra.value = value; extra.textContent = value; extra.selected = true;
      select.appendChild(extra);
    }
    onNewValue(select, onChange);
    return this.field(label, select);
  };

  // A working-day helper: a number of working days becomes working_days(n).
  PropsPanel.prototype.workdays = function (label, value, onChange, name) {
    var self = this;
    var input = this.text(label, value, onChange, name,
      this.t("表达式，如 working_days(5)、monthly(12)、\"P3D\"", "an expression, e.g. working_days(5), monthly(12), \"P3D\""));
    if (!this.editable) { return input; }
    var box = document.createElement("span");
    box.className = "workdays";
    var n = document.createElement("input");
    n.type = "number"; n.min = "1"; n.max = "365"; n.size = 4; n.dataset.workdays = name;
    n.setAttribute("aria-label", this.t("工作日数", "working days"));
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = this.t("设为工作日", "set working days");
    button.dataset.workdaysApply = name;
    button.addEventListener("click", function () {
      var days = parseInt(n.value, 10);
      if (days > 0) { input.value = "working_days(" + days + ")"; onChange(input.value); }
    });
    box.appendChild(n);
    box.appendChild(button);
    input.parentNode.appendChild(box);
    return input;
  };

  PropsPanel.prototype.heading = function (text) {
    var h = document.createElement("h3");
    h.textContent = text;
    this.el.appendChild(h);
  };

  PropsPanel.prototype.show = function (element) {
    var self = this;
    this.el.textContent = "";
    var canvas = this.modeler.get("canvas");
    var root = canvas.getRootElement();
    if (!element) { element = root; }
    if (!element || !element.businessObject) { return; }
    var bo = element.businessObject;
    var type = bo.$type;
    this.el.dataset.element = bo.id || "";
    this.header(element, bo);
    var modeling = this.modeler.get("modeling");
    var write = function (name) { return function (v) { self.writeProp(element, bo, name, v); }; };

    if (type !== "bpmn:Collaboration" && type !== "bpmn:Process") {
      this.text(this.t("名称", "Name"), bo.name, function (v) { modeling.updateLabel(element, v); }, "name");
    }
    var process = this.processOf(element);
    if (process) {
      var pp = readProps(process);
      var writeProcess = function (name) { return function (v) { self.writeProp(element === root ? root : element, process, name, v); }; };
      this.heading(this.t("流程", "Process") + " · " + (process.name ? process.name + " (" + process.id + ")" : process.id));
      this.roles(this.t("可发起角色", "Startable by"), pp.startableBy, writeProcess("startableBy"), "startableBy");
      this.select(this.t("发起表单", "Start form"), pp.startForm, this.formChoices(), writeProcess("startForm"), "startForm");
      this.roles(this.t("保密（可见角色）", "Confidential (roles)"), pp.confidential, writeProcess("confidential"), "confidential");
      this.text(this.t("当事人数据（回避）", "Persons concerned (recusal)"), pp.personsConcerned,
        writeProcess("personsConcerned"), "personsConcerned",
        this.t("数据字段名，逗号分隔；其中的人员及其亲属、科室负责人一律回避", "data field names, comma-separated: these people, their relatives and department head are kept out"));
      this.text(this.t("回避角色数据", "Withheld from roles (data)"), pp.withheldFromRoles,
        writeProcess("withheldFromRoles"), "withheldFromRoles",
        this.t("一个数据字段名，其值为须回避的角色代码列表", "one data field holding the role codes kept out"));
      this.text(this.t("集体研判法定人数", "Collective decision quorum"), pp.quorum, writeProcess("quorum"), "quorum");
    }
    if (type === "bpmn:Lane") {
      var lp = readProps(bo);
      this.select(this.t("角色", "Role"), lp.role, this.roleChoices(), write("role"), "role");
      this.text(this.t("科室规则", "Department rule"), lp.department, write("department"), "department",
        this.t("表达式，给出任务所属科室，如 department", "an expression giving the task's department"));
    }
    if (type === "bpmn:UserTask" || type === "bpmn:ManualTask") {
      var tp = readProps(bo);
      this.select(this.t("表单", "Form"), tp.formKey, this.formChoices(), write("formKey"), "formKey");
      this.workdays(this.t("办理期限", "Due in"), tp.dueIn, write("dueIn"), "dueIn");
      this.workdays(this.t("提前提醒", "Remind before"), tp.remindBefore, write("remindBefore"), "remindBefore");
      this.workdays(this.t("逾期督办间隔", "Escalate after"), tp.escalateAfter, write("escalateAfter"), "escalateAfter");
      this.select(this.t("优先级", "Priority"), tp.priority, [["", "—"], ["1", "1"], ["2", "2"], ["3", "3"], ["4", "4"], ["5", "5"]],
        write("priority"), "priority");
      this.text(this.t("任务对象表达式", "Subject"), tp.subject, write("subject"), "subject");
      this.text(this.t("完成条件", "Completion guard"), tp.completionGuard, write("completionGuard"), "completionGuard",
        this.t("如 collective_decision（集体研判）", "e.g. collective_decision"));
      this.text(this.t("职责分离：不得由以下步骤的办理人办理", "Separation of duties: not performed by"), tp.notPerformedBy,
        write("notPerformedBy"), "notPerformedBy",
        this.t("步骤编号，逗号分隔，如 register,triage", "step ids, comma-separated, e.g. register,triage"));
    }
    if (type === "bpmn:BusinessRuleTask") { this.decision(element, bo); }
    var timer = (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
    if (timer) { this.timer(element, timer); }
    if (type === "bpmn:SequenceFlow" && bo.sourceRef &&
        /ExclusiveGateway|InclusiveGateway/.test(bo.sourceRef.$type)) {
      this.condition(element, bo);
    }
  };

  PropsPanel.prototype.formChoices = function () {
    return [["", "—"]].concat(this.options.forms.map(function (f) {
      return typeof f === "string" ? [f, f] : [f.key, f.title + " (" + f.key + ")"];
    }));
  };

  // The panel's title: what the element is and its name, the id after them (not `Collaboration_x`).
  PropsPanel.prototype.header = function (element, bo) {
    var words = (bo.$type || "").replace("bpmn:", "").replace(/([a-z])([A-Z])/g, "$1 $2");
    words = words.charAt(0) + words.slice(1).toLowerCase();
    var kind = this.en || !window.QinglianModelerI18n ? words : window.QinglianModelerI18n.translate(words);
    var name = bo.name;
    if (!name && bo.$type === "bpmn:Collaboration") {
      var p = (bo.participants || []).filter(function (x) { return x.name || (x.processRef && x.processRef.name); })[0];
      name = p ? (p.name || p.processRef.name) : "";
    }
    var h = document.createElement("h3");
    h.dataset.testid = "props-header";
    h.textContent = (name ? name + " · " : "") + kind;
    if (bo.id) {
      var small = document.createElement("small");
      small.className = "hint";
      small.textContent = " " + bo.id;
      h.appendChild(small);
    }
    this.el.appendChild(h);
  };

  // Roles picked by name (角色名称) with their codes; the comma-separated codes stay editable.
  PropsPanel.prototype.roles = function (label, value, onChange, name) {
    var input = this.text(label, value, onChange, name, this.t("角色代码，逗号分隔；或在下方勾选", "role codes, comma-separated; or tick below"));
    var box = document.createElement("div");
    box.className = "role-picker";
    box.dataset.rolesFor = name;
    var en = this.en;
    var picked = function () { return input.value.split(",").map(function (c) { return c.trim(); }).filter(Boolean); };
    this.options.roles.forEach(function (r) {
      var row = document.createElement("label");
      var tick = document.createElement("input");
      tick.type = "checkbox";
      tick.value = r.code;
      tick.dataset.role = r.code;
      tick.checked = picked().indexOf(r.code) >= 0;
      tick.disabled = input.disabled;
      tick.addEventListener("change", function () {
        var codes = picked().filter(function (c) { return c !== r.code; });
        if (tick.checked) { codes.push(r.code); }
        input.value = codes.join(",");
        input.dispatchEvent(new Event("change"));
      });
      row.appendChild(tick);
      row.appendChild(document.createTextNode(" " + (en ? r.name_en : r.name_zh) + " (" + r.code + ")"));
      box.appendChild(row);
    });
    input.parentNode.appendChild(box);
    return input;
  };

  PropsPanel.prototype.roleChoices = function () {
    var en = this.en;
    return [["", this.t("（按泳道名称）", "(by lane name)")]].concat(this.options.roles.map(function (r) {
      return [r.code, (en ? r.name_en : r.name_zh) + " (" + r.code + ")"];
    }));
  };

  PropsPanel.prototype.timer = function (element, timer) {
    var self = this;
    var moddle = this.modeler.get("moddle");
    var modeling = this.modeler.get("modeling");
    var kinds = ["timeDuration", "timeDate", "timeCycle"];
    var kind = kinds.filter(function (k) { return timer[k]; })[0] || "timeDuration";
    var current = timer[kind] ? timer[kind].body : "";
    var apply = function (k, body) {
      var values = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      values[k] = moddle.create("bpmn:FormalExpression", { body: body });
      modeling.updateModdleProperties(element, timer, values);
    };
    this.heading(this.t("定时器", "Timer"));
    var select = this.select(this.t("类型", "Kind"), kind, [["timeDuration", this.t("时长", "duration")],
      ["timeDate", this.t("日期", "date")], ["timeCycle", this.t("周期", "cycle")]], function (k) {
      kind = k; apply(k, input.value);
    }, "timerKind");
    var input = this.workdays(this.t("定时表达式", "Timer expression"), current, function (v) { apply(kind, v); }, "timer");
    return select;
  };

  PropsPanel.prototype.condition = function (element, bo) {
    var moddle = this.modeler.get("moddle");
    var modeling = this.modeler.get("modeling");
    var gateway = bo.sourceRef;
    this.heading(this.t("网关条件", "Gateway condition"));
    this.text(this.t("条件表达式", "Condition"), bo.conditionExpression ? bo.conditionExpression.body : "", function (v) {
      modeling.updateProperties(element, {
        conditionExpression: v.trim() ? moddle.create("bpmn:FormalExpression", { body: v.trim() }) : undefined });
    }, "condition", this.t("如 accepted == True", "e.g. accepted == True"));
    var box = document.createElement("input");
    box.type = "checkbox";
    box.checked = gateway.default === bo;
    box.dataset.prop = "default";
    box.disabled = !this.editable;
    var registry = this.modeler.get("elementRegistry");
    box.addEventListener("change", function () {
      modeling.updateProperties(registry.get(gateway.id), { "default": box.checked ? bo : undefined });
    });
    this.field(this.t("默认流", "Default flow"), box);
  };

  // A business rule task's decision (spiffworkflow:calledDecisionId), picked among the deployed ones.
  PropsPanel.prototype.decision = function (element, bo) {
    var moddle = this.modeler.get("moddle");
    var modeling = this.modeler.get("modeling");
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    var current = values.filter(function (v) { return v.$type === "spiffworkflow:calledDecisionId"; })[0];
    var choices = [["", "—"]].concat((this.options.decisions || []).map(function (d) {
      return [d.key, (d.name || d.key) + " (" + d.key + ")"];
    }));
    this.heading(this.t("决策表", "Decision table"));
    this.select(this.t("判定的决策", "Decision"), current ? current.$body : "", choices, function (key) {
      var ext = bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.values = (ext.values || []).filter(function (v) { return v.$type !== "spiffworkflow:calledDecisionId"; });
      if (key) {
        var ref = moddle.createAny("spiffworkflow:calledDecisionId", NS, {});
        ref.$body = key;
        ref.$parent = ext;
        ext.values.push(ref);
      }
      ext.$parent = bo;
      modeling.updateModdleProperties(element, bo, { extensionElements: ext.values.length ? ext : undefined });
    }, "calledDecisionId");
  };

  window.QinglianPropsPanel = PropsPanel;
})();
