"""Declared relations between staff (配偶、近亲属…): each keeps the other out of any instance that is
about them (回避, see engine/runtime/recusal.py). Administrators record them; every change is an entry
in the hash-chained administration log."""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.schema import staff, staff_relation
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid, NotFound, Problem
from engine.org import admin_log
from engine.org.people import list_staff

RELATIONS = ("配偶", "父母子女", "兄弟姐妹", "其他近亲属", "其他利害关系")


def of(conn, username: str) -> list[dict]:
    """The relations declared for `username`, both ways, with the other person's name."""
    other = sa.case((staff_relation.c.username == username, staff_relation.c.related), else_=staff_relation.c.username)
    rows = conn.execute(sa.select(other.label("other"), staff_relation.c.relation, staff.c.name)
                        .join(staff, staff.c.username == other)
                        .where(sa.or_(staff_relation.c.username == username, staff_relation.c.related == username))
                        .order_by(staff.c.name)).all()
    return [{"username": r.other, "name": r.name, "relation": r.relation} for r in rows]


def relations_page(eng, username: str) -> dict:
    """The person's relations and the active staff a relation may name, in one read."""
    with read_transaction(eng.db) as conn:
        return {"relations": of(conn, username),
                "people": [(p["username"], p["name"]) for p in list_staff(conn) if p["username"] != username]}


def declare(eng, username: str, related: str, relation: str, *, by: str) -> None:
    """Record that `username` and `related` are related (`Invalid` naming the field at fault)."""
    related, relation = (related or "").strip(), (relation or "").strip()
    now = eng.clock.now()
    with write_transaction(eng.db) as conn:
        known = {r.username for r in conn.execute(sa.select(staff.c.username)
                                                     .where(staff.c.username.in_([username, related])))}
        if username not in known:
            raise NotFound(f"没有职工 {username}", field="username")
        problems = []
        if related not in known or related == username:
            problems.append(Problem("请选择另一名职工", field="related", code="unknown_staff"))
        if relation not in RELATIONS:
            problems.append(Problem("请选择关系", field="relation", code="choice"))
        if problems:
            raise Invalid("亲属关系有误", problems)
        if any(r["username"] == related for r in of(conn, username)):
            return
        conn.execute(staff_relation.insert().values(username=username, related=related, relation=relation,
                                                    created_at=now))
        admin_log.record(conn, now, "relation_declared", actor=by,
                         data={"username": username, "related": related, "relation": relation})
