"""The messages an operation sends by itself, raised in its own transaction: each new task to
whoever will work it (its assignee, or the holders of its lane's role in its department), and the
result of a finished instance to the person who started it.

They are notifications (`engine.deadlines.notifications.statements`) that `persist` writes in the
operation's one batch; the scheduler's next tick writes their messages to each person's channels
(`engine.messages.outbox.fan_out`), after their quiet hours; a confidential process's messages say only
"您有一项待办". A new task is not put on the bell (the inbox lists it already; `notifications.NEW_TASK`
is left out there); a result is.
"""
from __future__ import annotations

from datetime import datetime

from engine.deadlines import notifications
from engine.messages.preferences import BEIJING

NEW_TASK = notifications.NEW_TASK
RESULT = "result"
_ENDINGS = {"completed": "已办结", "cancelled": "已终止"}


def process_name(live) -> str:
    return getattr(live.version.spec, "description", None) or live.version.process_key


def new_tasks(live, rows: list[dict], now: datetime) -> list:
    """One message per new task, to its assignee or its candidates: (statement, parameters) pairs."""
    out = []
    for r in rows:
        to = {"user": r["assignee"]} if r.get("assignee") else {"role": r["candidate_role"],
                                                               "department": r["candidate_department"]}
        if not (to.get("user") or to.get("role")):
            continue                      # a task for no one in particular: the inbox is where it shows
        due = f"，请于 {_day(r['due_at'])}前办理" if r.get("due_at") else ""
        out += notifications.statements(
            kind=NEW_TASK, now=now, instance_id=live.id, task_id=r["id"], title=f"新待办：{r['name']}",
            body=f"「{process_name(live)}」有一项待办「{r['name']}」{due}。",
            confidential=r.get("confidential") is not None, urgent=False, **to)
    return out


def result(live, now: datetime) -> list:
    """The end of an instance, told to its starter (messages reach only active staff: an instance the
    scheduler started has no one to tell): (statement, parameters) pairs."""
    starter = live.header.get("started_by")
    if not starter or live.status not in _ENDINGS:
        return []
    name = process_name(live)
    key = live.header.get("business_key")
    what = f"「{name}」{'（' + key + '）' if key else ''}"
    return notifications.statements(
        kind=RESULT, now=now, user=starter, instance_id=live.id, title=f"{_ENDINGS[live.status]}：{name}",
        body=f"你发起的{what}{_ENDINGS[live.status]}。", confidential=live.version.confidential is not None,
        urgent=False, link=f"/started/{live.id}")


def _day(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    return f"{local.year}年{local.month}月{local.day}日"
