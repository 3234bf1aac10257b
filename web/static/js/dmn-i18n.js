// Simplified Chinese for dmn-js's decision table editor (its translate service).
(function () {
  "use strict";
  var ZH = {
    "Hit policy": "命中策略", "Hit policy:": "命中策略：", "When": "条件", "Then": "结果", "And": "且",
    "Annotation": "说明", "Annotations": "说明", "Input": "输入", "Output": "输出", "Add input": "添加输入",
    "Add output": "添加输出", "Add rule": "添加规则", "Add rule above": "在上方添加规则", "Add rule below": "在下方添加规则",
    "Remove rule": "删除规则", "Copy rule": "复制规则", "Cut rule": "剪切规则", "Paste rule above": "粘贴到上方",
    "Paste rule below": "粘贴到下方", "Move rule": "移动规则", "Add input column left": "在左侧添加输入列",
    "Add input column right": "在右侧添加输入列", "Add output column left": "在左侧添加输出列",
    "Add output column right": "在右侧添加输出列", "Remove input column": "删除输入列", "Remove output column": "删除输出列",
    "Copy input column": "复制输入列", "Copy output column": "复制输出列", "Cut input column": "剪切输入列",
    "Cut output column": "剪切输出列", "Paste input column left": "粘贴到左侧", "Paste input column right": "粘贴到右侧",
    "Paste output column left": "粘贴到左侧", "Paste output column right": "粘贴到右侧",
    "Add cell description": "添加单元格说明", "Remove cell description": "删除单元格说明",
    "Input label": "输入名称", "Input label: ": "输入名称：", "Input expression": "输入表达式",
    "Input expression: ": "输入表达式：", "Input type": "输入类型", "Input values": "输入取值",
    "Output label": "输出名称", "Output label: ": "输出名称：", "Output name": "输出变量名", "Output name: ": "输出变量名：",
    "Output type": "输出类型", "Output values": "输出取值", "Type": "类型", "Value": "值", "Values": "取值",
    "Expression": "表达式", "Expression language": "表达式语言", "Enter expression": "输入表达式",
    "Edit": "编辑", "Delete": "删除", "Yes": "是", "No": "否", "Equals": "等于", "Comparison": "比较",
    "Range": "范围", "Greater": "大于", "Greater or equals": "大于或等于", "Less": "小于", "Less or equals": "小于或等于",
    "Strings must be in double quotes": "文本须加双引号", "String value": "文本值", "Boolean value": "布尔值",
    "Decision name": "决策名称", "Decision name: ": "决策名称：", "View DRD": "查看决策需求图",
    "Element name": "元素名称", "Variable name": "变量名", "Variable name:": "变量名：",
    "Create decision": "创建决策", "Create input data": "创建输入数据", "Search in diagram": "在图中搜索",
    "Activate hand tool": "抓手工具", "Activate lasso tool": "套索工具", "Connect to other element": "连接到其他元素",
  };
  function translate(template, replacements) {
    replacements = replacements || {};
    var text = ZH[template] || template;
    return text.replace(/{([^}]+)}/g, function (_, key) { return replacements[key] !== undefined ? replacements[key] : "{" + key + "}"; });
  }
  window.QinglianDmnI18n = { module: { translate: ["value", translate] } };
})();
