"""A person's channels and quiet hours (免打扰), and where each channel reaches them."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa

from engine.db.prepared import Prepared
from engine.db.schema import message_preference, staff, staff_role
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid, Problem

CHANNELS = ("wecom", "dingtalk", "sms", "email")
# The address column of each channel: a person without one is not reached there.
ADDRESS = {"wecom": "wecom_userid", "dingtalk": "dingtalk_userid", "sms": "phone", "email": "email"}
BEIJING = timezone(timedelta(hours=8))
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def default_channels(person) -> list[str]:
    """Who chose nothing is reached wherever they have an address, except SMS (it costs per message)."""
    return [c for c in CHANNELS if c != "sms" and getattr(person, ADDRESS[c], None)]


def _reach_query(*conditions):
    p = message_preference.c
    return (sa.select(staff.c.username, staff.c.wecom_userid, staff.c.dingtalk_userid, staff.c.phone,
                      staff.c.email, p.channels, p.quiet_start, p.quiet_end)
            .select_from(staff.outerjoin(message_preference, p.username == staff.c.username))
            .where(staff.c.active, *conditions).order_by(staff.c.username))


# Built once (the scheduler runs one for each notification it writes the messages of): the people
# named, or the holders of a role, anywhere or in one department.
_ROLE_HOLDERS = staff.c.username.in_(sa.select(staff_role.c.username)
                                     .where(staff_role.c.role == sa.bindparam("role")))
_OF_NAMES = _reach_query(staff.c.username.in_(sa.bindparam("names", expanding=True)))
# run on the driver (prepared.Prepared.fetch): one person, or a role's holders
_OF_USER = Prepared(_reach_query(staff.c.username == sa.bindparam("user")))
_OF_ROLE = Prepared(_reach_query(_ROLE_HOLDERS))
_OF_ROLE_IN = Prepared(_reach_query(_ROLE_HOLDERS, staff.c.department == sa.bindparam("department")))


def channels_and_quiet(conn, usernames=None, *, role: str | None = None,
                       department: str | None = None) -> dict[str, tuple[list[str], tuple[str, str] | None]]:
    """Each active person's channels and quiet hours, in one query: of `usernames`, or of the holders
    of `role` (within `department` when given), by username (read when a notification's messages
    are written: `engine.messages.outbox.fan_out`)."""
    if role is not None:
        rows = (_OF_ROLE_IN.fetch(conn, {"role": role, "department": department}) if department
                else _OF_ROLE.fetch(conn, {"role": role}))
    elif usernames is not None and len(set(usernames)) == 1:
        rows = _OF_USER.fetch(conn, {"user": next(iter(usernames))})
    else:
        rows = conn.execute(_OF_NAMES, {"names": sorted(set(usernames or ()))})
    out = {}
    for r in rows:
        chosen = [c for c in (r.channels or "").split(",") if c in CHANNELS] if r.channels is not None \
            else default_channels(r)
        quiet = (r.quiet_start, r.quiet_end) if r.quiet_start and r.quiet_end else None
        out[r.username] = (chosen, quiet)
    return out


def after_quiet(now: datetime, quiet: tuple[str, str] | None) -> datetime:
    """`now`, or the end of the quiet hours (Beijing time) `now` falls in."""
    if not quiet:
        return now
    start, end = (time.fromisoformat(t) for t in quiet)
    local = now.astimezone(BEIJING)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside or start == end:
        return now
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(timezone.utc)


def check(values: dict) -> list[Problem]:
    problems = [Problem("未知的消息渠道", field="channels", code="unknown_channel")
                for c in values.get("channels", []) if c not in CHANNELS][:1]
    start, end = values.get("quiet_start") or "", values.get("quiet_end") or ""
    for name, v in (("quiet_start", start), ("quiet_end", end)):
        if v and not _HHMM.match(v):
            problems.append(Problem("请按 时:分 填写，如 22:00", field=name, code="bad_time"))
    if bool(start) != bool(end):
        problems.append(Problem("免打扰须同时填写开始和结束时间", field="quiet_end", code="incomplete"))
    return problems


# --- the services of the person's own page --------------------------------------------------------

def my_preferences(eng, username: str) -> dict:
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(staff.c.wecom_userid, staff.c.dingtalk_userid, staff.c.phone, staff.c.email)
                           .where(staff.c.username == username)).one()
        chosen = channels_and_quiet(conn, [username]).get(username, ([], None))
    return {"channels": chosen[0], "quiet_start": (chosen[1] or ("", ""))[0], "quiet_end": (chosen[1] or ("", ""))[1],
            "addresses": {c: getattr(row, ADDRESS[c]) for c in CHANNELS}}


def set_my_preferences(eng, username: str, values: dict) -> None:
    """Keep a person's channels and quiet hours (`Invalid` naming the field at fault)."""
    problems = check(values)
    if problems:
        raise Invalid("消息设置有误", problems)
    row = {"channels": ",".join(c for c in CHANNELS if c in values.get("channels", [])),
           "quiet_start": values.get("quiet_start") or None, "quiet_end": values.get("quiet_end") or None}
    with write_transaction(eng.db) as conn:
        if conn.execute(message_preference.update().where(message_preference.c.username == username)
                        .values(**row)).rowcount == 0:
            conn.execute(message_preference.insert().values(username=username, **row))
