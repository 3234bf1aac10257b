"""Who a task may be handed to, checked in the hand-over's own transaction for every process: a
person its lane lets have it (`permissions.may_receive`), active, other than the one handing it."""
from __future__ import annotations

from engine.errors import Invalid, Problem
from engine.org.people import principal
from engine.permissions import may_receive


def check_target(conn, row, to: str, user: str) -> None:
    """`Invalid` on the field `to` unless `to` may be handed the task of the inbox `row`."""
    target = principal(conn, to) if to else None
    if target is None:
        raise Invalid("请选择在职的同事", [Problem("请选择在职的同事", field="to", code="unknown_staff")])
    if target.username == user:
        raise Invalid("不能转交给自己", [Problem("不能转交给自己", field="to", code="self")])
    if not may_receive(target, row):
        raise Invalid("此任务不能交给该同事", [Problem(
            "该同事不在此任务的办理范围内（岗位或科室不符），不能接收此任务", field="to", code="not_a_candidate")])
