"""本院信息, the hospital itself: its name, which heads every report as in the seeds' tables
("绍兴市上虞第二人民医院腐败问题专项整治…汇总表", seed 002 附件2–4).

Kept in the `setting` table so an administrator changes it on a page, not in a deployment; each
change is an event of the administration log.
"""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.schema import setting
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid, Problem
from engine.org import admin_log
from engine.text import hidden_characters

NAME = "hospital_name"
NAME_MAX = 60


def hospital_name(conn) -> str:
    """The hospital's name, or "" while none was set."""
    return conn.execute(sa.select(setting.c.value).where(setting.c.key == NAME)).scalar() or ""


def read_name(engine) -> str:
    with read_transaction(engine.db) as conn:
        return hospital_name(conn)


def save_name(engine, name: str, *, by: str | None) -> str:
    """Set the hospital's name (trimmed, at most `NAME_MAX` characters); `Invalid` names the field."""
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise Invalid("医院名称太长", [Problem(f"最多 {NAME_MAX} 个字", field="name", code="too_long")])
    if hidden_characters(name):
        raise Invalid("医院名称含有不可见字符", [Problem("请删除不可见字符或控制字符", field="name", code="hidden")])
    with write_transaction(engine.db) as conn:
        set_name(conn, name, engine.clock.now(), by=by)
    return name


def set_name(conn, name: str, now, *, by: str | None) -> None:
    """Write a checked name in the caller's transaction, logging the change (none if unchanged)."""
    before = hospital_name(conn)
    if name == before:
        return
    if conn.execute(setting.update().where(setting.c.key == NAME).values(value=name)).rowcount == 0:
        conn.execute(setting.insert().values(key=NAME, value=name))
    admin_log.record(conn, now, "hospital_changed", actor=by, data={"changed": {"name": [before, name]}})
