// Simplified Chinese for bpmn-js's palette, context pad and popup menus (its translate service).
(function () {
  "use strict";
  var ZH = {
    "Activate hand tool": "抓手工具", "Activate lasso tool": "套索工具", "Activate create/remove space tool": "插入/删除空间",
    "Activate global connect tool": "连线工具", "Create start event": "创建开始事件", "Create end event": "创建结束事件",
    "Create intermediate/boundary event": "创建中间/边界事件", "Create gateway": "创建网关", "Create task": "创建任务",
    "Create expanded sub-process": "创建展开的子流程", "Create data object reference": "创建数据对象",
    "Create data store reference": "创建数据存储", "Create pool/participant": "创建池/参与者", "Create group": "创建分组",
    "Append end event": "追加结束事件", "Append gateway": "追加网关", "Append task": "追加任务",
    "Append intermediate/boundary event": "追加中间事件", "Append text annotation": "追加注释",
    "Change element": "更改类型", "Change type": "更改类型", "Delete": "删除", "Connect to other element": "连接到其他元素",
    "Connect using sequence/message flow or association": "连线", "Connect using association": "关联",
    "Connect using data input association": "数据输入关联", "Add lane above": "在上方添加泳道",
    "Add lane below": "在下方添加泳道", "Divide into two lanes": "分成两条泳道", "Divide into three lanes": "分成三条泳道",
    "User task": "用户任务", "Manual task": "人工任务", "Service task": "服务任务", "Script task": "脚本任务",
    "Task": "任务", "Send task": "发送任务", "Receive task": "接收任务", "Business rule task": "业务规则任务",
    "Call activity": "调用活动", "Sub-process (collapsed)": "子流程（折叠）", "Sub-process (expanded)": "子流程（展开）",
    "Exclusive gateway": "排他网关", "Parallel gateway": "并行网关", "Inclusive gateway": "包容网关",
    "Event-based gateway": "事件网关", "Complex gateway": "复杂网关", "Start event": "开始事件", "End event": "结束事件",
    "Timer start event": "定时开始事件", "Timer intermediate catch event": "定时中间事件",
    "Timer boundary event": "定时边界事件", "Intermediate throw event": "中间抛出事件",
    "Message start event": "消息开始事件", "Terminate end event": "终止结束事件", "Search in diagram": "在图中搜索",
    "Sequence flow": "顺序流", "Default flow": "默认流", "Conditional flow": "条件流",
  };
  function translate(template, replacements) {
    replacements = replacements || {};
    var text = ZH[template] || template;
    return text.replace(/{([^}]+)}/g, function (_, key) { return replacements[key] !== undefined ? replacements[key] : "{" + key + "}"; });
  }
  window.QinglianModelerI18n = { module: { translate: ["value", translate] }, translate: translate };
})();
