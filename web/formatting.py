"""Dates and deadlines as Chinese readers write them (and as English readers do, in English).

Moments are shown in Beijing time. A deadline at midnight is "the end of" the previous day, written
24:00, the way official notices put it (截止 9月30日 24:00).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from markupsafe import Markup, escape

from engine.deadlines.workdays import BEIJING
from engine.inbox import lists
from engine.text import Words

from .i18n import select_locale

_EN_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _moment(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(BEIJING)


def day(value, locale: str | None = None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10]) if len(value) <= 10 else _moment(value).date()
    elif isinstance(value, datetime):
        value = _moment(value).date()
    if (locale or select_locale()) == "en":
        return f"{value.day} {_EN_MONTHS[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月{value.day}日"


def when(value, locale: str | None = None) -> str:
    moment = _moment(value)
    if moment is None:
        return ""
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{day(moment - timedelta(days=1), locale)} 24:00"
    return f"{day(moment, locale)} {moment:%H:%M}"


def due_state(due_at, now: datetime, soon_until: datetime) -> str:
    """'overdue', 'soon' (by `soon_until`: the inbox's one rule, two working days — `lists.soon_until`)
    or 'ok': a CSS class and a hint for screen readers."""
    if not due_at:
        return "none"
    due_at = _moment(due_at)
    if due_at < now:
        return "overdue"
    return "soon" if due_at <= soon_until else "ok"


def due_hint(due_at, now: datetime, locale: str | None = None) -> str:
    """'还剩 3 天' / '已逾期 2 天' (in whole days, rounded towards the user)."""
    if not due_at:
        return ""
    delta = _moment(due_at) - now
    days = abs(delta).days
    en = (locale or select_locale()) == "en"
    if delta < timedelta(0):
        return (f"{days or '<1'} day(s) overdue" if en else f"已逾期 {days} 天" if days else "已逾期")
    if days == 0:
        hours = max(1, int(delta.total_seconds() // 3600))
        return f"{hours} h left" if en else f"还剩 {hours} 小时"
    return f"{days} day(s) left" if en else f"还剩 {days} 天"


def options(items, selected=None) -> Markup:
    """`<option>`s for (value, label) pairs, the `selected` one marked: built in one pass, as a select
    of a couple of hundred departments costs a template loop several milliseconds."""
    chosen = "" if selected is None else str(selected)
    return Markup("".join(
        f'<option value="{escape(v)}"{" selected" if str(v) == chosen else ""}>{escape(label)}</option>'
        for v, label in items))


def init_app(app) -> None:
    app.jinja_env.globals["options"] = options
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals["event_label"] = event_label
    app.jinja_env.filters["instance_status"] = instance_status
    app.jinja_env.filters["process_label"] = process_label
    app.jinja_env.filters["words"] = words
    app.jinja_env.globals["step_label"] = step_label
    app.jinja_env.filters["month"] = month
    app.jinja_env.filters["process_option"] = lambda pair: (pair[0], process_label(pair[1]))

    @app.context_processor
    def time_helpers():
        eng = current_app.extensions["qinglian"]
        now, soon = eng.clock.now(), []

        def state(d):        # the list's own rule ("due soon": within two working days), worked out once
            if not soon:
                soon.append(lists.soon_until(eng))
            return due_state(d, now, soon[0])
        return {"now": now, "due_state": state, "due_hint": lambda d: due_hint(d, now)}


def event_label(event_type: str) -> str:
    from flask_babel import gettext as _
    labels = {
        "instance_started": _("发起流程"), "instance_completed": _("流程结束"), "instance_cancelled": _("流程取消"),
        "instance_errored": _("流程出错"), "instance_retried": _("重试"), "task_ready": _("任务到达"),
        "task_claimed": _("认领"), "task_unclaimed": _("退回待认领"), "task_completed": _("完成任务"),
        "task_delegated": _("转交"), "task_entrusted": _("委托办理"), "task_resolved": _("办完交回"),
        "task_reassigned": _("改派"), "timer_fired": _("定时触发"),
        "task_reminded": _("到期提醒"), "task_escalated": _("逾期督办"), "deadline_recomputed": _("截止时间重算"),
        "task_sent_back": _("退回"), "task_withdrawn": _("撤回"), "task_urged": _("催办"), "task_copied": _("抄送"),
        "copy_read": _("抄送已阅"), "signer_added": _("加签"), "signer_signed": _("加签签署"),
        "phase_changed": _("阶段变更"), "milestone": _("工作节点"), "instance_migrated": _("迁移到新版本"),
        "decision_evaluated": _("决策表判定"), "document_generated": _("生成公文"),
        "document_pdf_stored": _("保存公文 PDF"), "document_number_voided": _("文号作废"), "state_saved": _("状态已封存"),
    }
    return labels.get(event_type, event_type)


def process_label(name: str | None) -> str | None:
    """A process's name as the reader says it: its own (Chinese) name, or on English pages the English
    name its BPMN gives (property `nameEn`) — looked up once per request."""
    from flask import g
    from flask_babel import get_locale
    locale = get_locale()
    if not name or locale is None or locale.language != "en":
        return name
    names = g.get("_process_names_en")
    if names is None:
        infos = current_app.extensions["qinglian"].process_infos().values()
        names = g._process_names_en = {i.name: i.name_en for i in infos if i.name and i.name_en}
    return names.get(name, name)


# How an English reader strings pieces together where Chinese uses 、 and ；.
_EN_SEPARATORS = {"、": ", ", "；": "; ", "，": ", "}


def words(value, locale: str | None = None):
    """The engine's `Words` said in the reader's language (through the catalogue, each piece of data
    as it is); any other value unchanged."""
    if not isinstance(value, Words):
        return value
    if (locale or select_locale()) != "en":
        return str(value)
    if value.parts:
        sep = _EN_SEPARATORS.get(value.sep, value.sep)
        return sep.join(str(words(p, locale)) for p in value.parts)
    from flask_babel import gettext as _
    params = {k: words(v, locale) for k, v in value.params.items()}
    return _(value.msgid, **params) if params else _(value.msgid)


def month(value, locale: str | None = None) -> str:
    """A month (any day of it, a `date` or ISO text): 2026年10月 / Oct 2026."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if (locale or select_locale()) == "en":
        return f"{_EN_MONTHS[value.month - 1]} {value.year}"
    return f"{value.year}年{value.month}月"


def step_label(name: str | None, process_key: str | None) -> str | None:
    """A step of a process (a task, an event, a gateway) as the reader says it: the name its model
    gives, or on English pages the catalogue's English for that name in that process (context
    `process:<key>`) — the shipped processes' steps have one; a step a hospital added or renamed has
    none, and shows the name it was given."""
    from flask_babel import get_locale, pgettext
    locale = get_locale()
    if not name or not process_key or locale is None or locale.language != "en":
        return name
    return pgettext(f"process:{process_key}", name)


def instance_status(status: str) -> str:
    """A process instance's status as the reader says it."""
    from flask_babel import gettext as _
    labels = {"active": _("进行中"), "completed": _("已完成"), "cancelled": _("已取消"), "error": _("出错"),
              "suspended": _("已暂停")}
    return labels.get(status, status)
def content_disposition(kind: str, filename: str) -> str:
    """`attachment` / `inline` with the file's name: an ASCII fallback plus RFC 6266's UTF-8 form,
    since a header is Latin-1 on the wire and most of our names are Chinese."""
    from urllib.parse import quote
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else ""
    fallback = "".join(ch for ch in filename if ch.isascii() and (ch.isalnum() or ch in "._-")) or "document"
    if fallback.startswith(".") or fallback == suffix or fallback == f".{suffix}":
        fallback = f"document.{suffix}" if suffix else "document"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
