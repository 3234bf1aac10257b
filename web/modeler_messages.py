"""The deploy checks' and the migration rule's findings, said in the reader's language.

The engine reports in English (the `qinglian` command line, the logs and the API's `detail` keep it);
a page says the same finding in the person's language. Each finding is recognised by its `code` and
its wording; what the engine quotes (element names, ids, form keys, a compiler's message) is kept.
A finding no pattern knows still gets a sentence in the reader's language, the engine's text after it.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _

_LABEL = r'(?P<label>[A-Z][a-z]+(?: [a-z]+)*(?: "[^"]*")? \(?[^\s():]+\)?)'
_KINDS = {
    "User task": "用户任务", "Service task": "服务任务", "Script task": "脚本任务", "Task": "任务",
    "Manual task": "人工任务", "Send task": "发送任务", "Receive task": "接收任务", "Business rule task": "业务规则任务",
    "Call activity": "调用活动", "Subprocess": "子流程", "Ad hoc subprocess": "自由子流程", "Process": "流程",
    "Sequence flow": "顺序流", "Exclusive gateway": "排他网关", "Inclusive gateway": "包容网关",
    "Parallel gateway": "并行网关", "Event based gateway": "事件网关", "Start event": "开始事件",
    "End event": "结束事件", "Boundary event": "边界事件", "Intermediate catch event": "中间捕获事件",
    "Intermediate throw event": "中间抛出事件", "Lane": "泳道", "Participant": "参与者",
}


def _kinds() -> dict[str, str]:
    return {"用户任务": _("用户任务"), "服务任务": _("服务任务"), "脚本任务": _("脚本任务"), "任务": _("任务"),
            "人工任务": _("人工任务"), "发送任务": _("发送任务"), "接收任务": _("接收任务"),
            "业务规则任务": _("业务规则任务"), "调用活动": _("调用活动"), "子流程": _("子流程"),
            "自由子流程": _("自由子流程"), "流程": _("流程"), "顺序流": _("顺序流"), "排他网关": _("排他网关"),
            "包容网关": _("包容网关"), "并行网关": _("并行网关"), "事件网关": _("事件网关"),
            "开始事件": _("开始事件"), "结束事件": _("结束事件"), "边界事件": _("边界事件"),
            "中间捕获事件": _("中间捕获事件"), "中间抛出事件": _("中间抛出事件"), "泳道": _("泳道"),
            "参与者": _("参与者")}


def label(text: str) -> str:
    """'User task "Review" (review)' → '用户任务「Review」（review）'."""
    m = re.match(r'^(?P<kind>[A-Z][a-z]+(?: [a-z]+)*)(?: "(?P<name>[^"]*)" \((?P<id>[^)]*)\)| (?P<bare>\S+))?$', text)
    if not m or m["kind"] not in _KINDS:
        return text
    kind = _kinds()[_KINDS[m["kind"]]]
    if m["name"] is not None:
        return _("%(kind)s「%(name)s」（%(id)s）", kind=kind, name=m["name"], id=m["id"])
    return f"{kind} {m['bare']}" if m["bare"] else kind


def _what(text: str) -> str:
    known = {"script": _("脚本"), "pre-script": _("前置脚本"), "post-script": _("后置脚本"),
             "condition": _("条件"), "loop cardinality": _("循环次数"), "completion condition": _("完成条件"),
             "loop condition": _("循环条件"), "timer date": _("定时日期"), "timer duration": _("定时时长"),
             "timer cycle": _("定时周期"), "due time (dueIn)": _("办理期限（dueIn）"),
             "subject expression": _("标题表达式"), "department expression": _("部门表达式")}
    if text in known:
        return known[text]
    param = re.match(r'^parameter "(.*)"$', text)
    if param:
        return _("参数「%(name)s」", name=param[1])
    rule = re.match(r"^rule (\d+)'s (condition|output) «(.*)»$", text, re.S)
    if rule:
        return (_("规则 %(n)s 的条件「%(text)s」", n=rule[1], text=rule[3]) if rule[2] == "condition"
                else _("规则 %(n)s 的输出「%(text)s」", n=rule[1], text=rule[3]))
    column = re.match(r'^input "(.*)"$', text, re.S)
    return _("输入「%(name)s」", name=column[1]) if column else text


def _patterns():
    """(code or None for any, regex, how to say it) — tried in order; `label` groups are translated."""
    L, L2 = _LABEL, _LABEL.replace("label", "label2")
    return (
        ("unknown_form", rf'^{L} uses form "(?P<form>.*)", which does not exist\.$',
         lambda m: _("%(label)s 使用的表单「%(form)s」不存在。", **m)),
        ("unknown_form", rf'^{L}: start form "(?P<form>.*)" does not exist\.$',
         lambda m: _("%(label)s：发起表单「%(form)s」不存在。", **m)),
        ("bad_form", rf'^{L} uses form "(?P<form>.*)", which is broken: (?P<detail>.*)$',
         lambda m: _("%(label)s 使用的表单「%(form)s」有错误：%(detail)s", **m)),
        ("condition_error", rf"^{L} leaves {L2} without a condition and is not its default flow",
         lambda m: _("%(label)s 从 %(label2)s 流出，既没有条件也不是默认流：请加条件或设为默认流。", **m)),
        (None, rf"^{L}: the (?P<what>.+?) has an error(?: on line (?P<line>\d+))?: (?P<detail>.*)$",
         lambda m: (_("%(label)s：%(what)s第 %(line)s 行有错误：%(detail)s", **m) if m["line"]
                    else _("%(label)s：%(what)s有错误：%(detail)s", **m))),
        ("script_error", rf"^{L} has no script\.$", lambda m: _("%(label)s 没有脚本。", **m)),
        ("unresolved_call", rf"^{L} does not say which process it calls",
         lambda m: _("%(label)s 没有指定调用哪个流程：请设置被调用的流程。", **m)),
        ("unresolved_call", rf'^{L} calls process "(?P<called>.*)", which is not executable\.$',
         lambda m: _("%(label)s 调用的流程「%(called)s」不可执行。", **m)),
        ("unresolved_call", rf'^{L} calls process "(?P<called>.*)", which is neither in these files nor deployed',
         lambda m: _("%(label)s 调用的流程「%(called)s」既不在这些文件中，也未部署。", **m)),
        ("recursive_call", rf'^{L} calls process "(?P<called>[^"]*)", which always calls back: (?P<cycle>.*?), for ever',
         lambda m: _("%(label)s 调用的流程「%(called)s」总会再调用回来（%(cycle)s），永不结束：请把调用放在条件之后。", **m)),
        ("timer_error", rf"^{L} has a timer without a date, duration or cycle\.$",
         lambda m: _("%(label)s 的定时器没有日期、时长或周期。", **m)),
        (None, rf"^{L}: the (?P<what>timer date|timer duration|timer cycle|due time \(dueIn\)) (?P<detail>.*?)\.?$",
         lambda m: _("%(label)s：%(what)s有误（%(detail)s）。", **m)),
        ("bad_property", rf"^{L} has a property without a (?P<part>name|value)\.$",
         lambda m: _("%(label)s 有一个属性缺少名称。", **m) if m["part"] == "name"
         else _("%(label)s 有一个属性缺少值。", **m)),
        ("bad_property", rf'^{L}: priority "(?P<value>.*)" must be a whole number from 1 to 5\.$',
         lambda m: _("%(label)s：优先级「%(value)s」必须是 1 到 5 的整数。", **m)),
        ("bad_property", rf"^{L}: (?P<name>\w+) must list role codes separated by commas; (?P<bad>.*) is not a role code",
         lambda m: _("%(label)s：%(name)s 应填写以逗号分隔的角色代码；「%(bad)s」不是角色代码。", **m)),
        ("unknown_guard", rf'^{L}: completion guard "(?P<name>.*)" is not one the engine provides \(known: (?P<known>.*)\)\.$',
         lambda m: _("%(label)s：完成检查「%(name)s」不是系统提供的（可用：%(known)s）。", **m)),
        ("bad_property", rf"^{L}: nameEn must be 1 to 255 characters\.$",
         lambda m: _("%(label)s：英文名称（nameEn）须为 1 到 255 个字符。", **m)),
        ("unknown_document", rf'^{L}: document "(?P<name>.*)" is not one the engine provides \(known: (?P<known>.*)\)\.$',
         lambda m: _("%(label)s：公文「%(name)s」不是系统提供的（可用：%(known)s）。", **m)),
        ("unknown_service", rf'^{L}: operator "(?P<name>.*)" is not one the engine provides \(known: (?P<known>.*)\)\.$',
         lambda m: _("%(label)s：操作「%(name)s」不是系统提供的（可用：%(known)s）。", **m)),
        ("unknown_lane_role", rf"^{L} has no name, so its tasks cannot be assigned",
         lambda m: _("%(label)s 没有名称，其中的任务无法分派：请以角色命名，或设置名称和 role 属性。", **m)),
        ("unknown_lane_role", rf'^{L} names role "(?P<role>.*)", which is not a known role\.$',
         lambda m: _("%(label)s 指定的角色「%(role)s」不存在。", **m)),
        ("unknown_lane_role", rf"^{L} does not match any role",
         lambda m: _("%(label)s 不对应任何角色：请以角色命名泳道，或添加 role 属性填写角色代码。", **m)),
        ("unknown_lane_role", rf'^{L}: another lane is also named "(?P<name>.*)" but has a different role',
         lambda m: _("%(label)s：另一条泳道也叫「%(name)s」但角色或部门不同；泳道名称必须唯一。", **m)),
        ("unknown_decision", rf"^{L} does not say which decision it evaluates",
         lambda m: _("%(label)s 没有指定判定哪个决策：请设置决策（calledDecisionId）。", **m)),
        ("unknown_decision", rf'^{L} evaluates decision "(?P<name>.*)", which is not deployed \(deployed: (?P<known>.*)\)\.$',
         lambda m: _("%(label)s 判定的决策「%(name)s」尚未部署（已部署：%(known)s）。", **m)),
        ("dmn_hit_policy", r'^Hit policy "(?P<name>.*)" is not supported',
         lambda m: _("不支持命中策略「%(name)s」：请用 UNIQUE（至多一条规则命中）或 COLLECT（收集所有命中规则的输出）。", **m)),
        ("dmn_expression", r"^Decision table: the (?P<what>.*) has an error: (?P<detail>.*)$",
         lambda m: _("决策表：%(what)s有错误：%(detail)s", **m)),
        ("no_executable_process", r"^No process is executable",
         lambda m: _('没有可执行的流程：所有流程都标为不可执行（isExecutable="false"）。')),
        ("no_executable_process", r"^The files contain no process", lambda m: _("文件中没有可部署的流程。")),
        ("duplicate_process", rf"^{L} is already defined in (?P<file>.*) \(line (?P<line>\d+)\)",
         lambda m: _("%(label)s 已在 %(file)s 第 %(line)s 行定义；一次部署中的流程标识必须唯一。", **m)),
        ("parse_error", rf"^{L} has no id", lambda m: _("%(label)s 没有标识：请给流程设置 id。", **m)),
        ("parse_error", rf'^{L}: its id "(?P<id>.*)" is used by another element too',
         lambda m: _("%(label)s：标识「%(id)s」已被其他元素使用，或不是合法的 XML 标识。", **m)),
        ("duplicate_file", r"^Two files are named (?P<file>.*?);", lambda m: _("有两个文件都叫 %(file)s；一次部署中的文件名必须唯一。", **m)),
        ("malformed_xml", r"^The file is not well-formed XML: (?P<detail>.*)$", lambda m: _("文件不是格式正确的 XML：%(detail)s", **m)),
        ("not_bpmn", r"^This is not a BPMN 2\.0 file", lambda m: _("这不是 BPMN 2.0 文件。")),
        ("encoding", r"^The file is not UTF-8 encoded", lambda m: _("文件不是 UTF-8 编码：请另存为 UTF-8。")),
        ("xml_entities", r"^The file contains a (?P<what>.*?) declaration",
         lambda m: _("文件含有 %(what)s 声明；出于安全原因不接受，请从建模器重新导出。", **m)),
        ("too_large", r"^The file is (?P<size>[\d.]+) MB", lambda m: _("文件有 %(size)s MB，超过 BPMN 文件的大小上限。", **m)),
    )


def _fallback(code: str) -> str:
    return {"parse_error": _("流程图无法解析"), "script_error": _("脚本有错误"), "condition_error": _("条件有错误"),
            "expression_error": _("表达式有错误"), "dmn_invalid": _("决策表有问题"), "dmn_rule": _("决策表的规则有问题"),
            "dmn_output": _("决策表的输出有问题"), "timer_error": _("定时器有错误"), "bad_property": _("属性有错误"),
            }.get(code, _("流程图有问题"))


def say(code: str | None, message: str) -> str:
    """One finding of the engine in the reader's language."""
    for pattern_code, pattern, build in _patterns():
        if pattern_code not in (None, code):
            continue
        m = re.match(pattern, message, re.S)
        if m:
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            for key in ("label", "label2"):
                if key in groups:
                    groups[key] = label(groups[key])
            if "what" in groups:
                groups["what"] = _what(groups["what"])
            groups.setdefault("line", None)
            return build(_Groups(groups))
    lead = re.match(rf"^{_LABEL}: (?P<rest>.*)$", message, re.S)
    if lead:
        return _("%(label)s：%(what)s（%(detail)s）", label=label(lead["label"]), what=_fallback(code or ""),
                 detail=lead["rest"])
    return _("%(what)s（%(detail)s）", what=_fallback(code or ""), detail=message)


class _Groups(dict):
    """The matched groups, passed as keyword arguments (`**m`) and read by name (`m["line"]`)."""


def problem(p: dict) -> dict:
    """A problem's dict (`Problem.to_dict`) with its message in the reader's language, the engine's
    English kept as `detail`."""
    said = say(p.get("code"), p.get("message") or "")
    return {**p, "message": said, "detail": p.get("message")} if said != p.get("message") else p


def summary(count: int) -> str:
    return _("流程图有 %(n)s 个问题，不能部署", n=count)


# -- the migration rule (engine.bpmn.migration_rule) ------------------------------------------------
def _where(text: str) -> str:
    return _("实例已完成该步骤") if text == "it has completed" else _("实例正停在该步骤")


def obstacle(reason: str) -> str:
    """Why an instance may not move to a version, in the reader's language."""
    rules = (
        (r"^the process the instance runs in is no longer called$", lambda m: _("实例所在的流程已不再被调用")),
        (r"^the process's (?P<part>.*) changed$", lambda m: _("流程的 %(part)s 已改变", part=m["part"])),
        (r"^removed in the new version, but (?P<where>.*) it$",
         lambda m: _("新版本删除了该元素，但%(where)s", where=_where(m["where"]))),
        (r"^unknown to the version the instance runs on$", lambda m: _("实例所用的版本中没有该元素")),
        (r"^its type changed \((?P<a>.*) → (?P<b>.*)\) in the new version, and (?P<where>.*) it$",
         lambda m: _("新版本中它的类型改变了（%(a)s → %(b)s），而%(where)s", a=m["a"], b=m["b"], where=_where(m["where"]))),
        (r"^its incoming flows changed in the new version, and (?P<where>.*) it$",
         lambda m: _("新版本中它的流入连线改变了，而%(where)s", where=_where(m["where"]))),
        (r"^its outgoing flows changed in the new version, and (?P<where>.*) it$",
         lambda m: _("新版本中它的流出连线改变了，而%(where)s", where=_where(m["where"]))),
        (r"^its settings changed \((?P<names>.*)\) in the new version, and (?P<where>.*) it$",
         lambda m: _("新版本中它的设置改变了（%(names)s），而%(where)s", names=m["names"], where=_where(m["where"]))),
    )
    for pattern, build in rules:
        m = re.match(pattern, reason)
        if m:
            return build(m)
    return reason
