"""A person's saved inbox filters: a name for a query string of the lists (`lists.TaskQuery`)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.db.schema import saved_filter
from engine.db.transactions import write_transaction
from engine.errors import Invalid, Problem
from engine.org.people import Principal

if TYPE_CHECKING:
    from engine.inbox.lists import TaskQuery


def save_filter(conn, username: str, name: str, query: TaskQuery, now: datetime) -> None:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise Invalid("筛选名称须为 1–64 个字符", [Problem("筛选名称须为 1–64 个字符", field="name")])
    conn.execute(saved_filter.delete().where(saved_filter.c.username == username, saved_filter.c.name == name))
    conn.execute(saved_filter.insert().values(username=username, name=name, query=query.to_args(page=1),
                                              created_at=now))


def saved_filters(conn, username: str) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(_SAVED, {"username": username})]


_SAVED = sa.select(saved_filter.c.id, saved_filter.c.name, saved_filter.c.query) \
    .where(saved_filter.c.username == sa.bindparam("username", type_=sa.String)).order_by(saved_filter.c.name)


def delete_filter(conn, username: str, filter_id: int) -> None:
    conn.execute(saved_filter.delete().where(saved_filter.c.username == username, saved_filter.c.id == filter_id))


def save(engine, p: Principal, name: str, args) -> "TaskQuery":
    """Save the filters of `args` (request arguments) under `name`; the query saved. `Invalid` if
    the filters or the name are."""
    from engine.inbox.lists import TaskQuery
    query = TaskQuery.parse(args)
    with write_transaction(engine.db) as conn:
        save_filter(conn, p.username, name, query, engine.clock.now())
    return query


def delete(engine, p: Principal, filter_id: int) -> None:
    """Delete one of `p`'s saved filters (someone else's is left alone)."""
    with write_transaction(engine.db) as conn:
        delete_filter(conn, p.username, filter_id)
