"""Document numbers (文号): `X纪函〔2026〕12号`, one sequence per kind and year, given out exactly once.

A number is allocated by one atomic `UPDATE document_sequence SET last = last + 1 … RETURNING last`
inside the transaction that stores the document: concurrent requests queue on the row (PostgreSQL's
row lock, SQLite's write lock), and a transaction that fails returns its number with everything
else, so the sequence has no gaps. A number given out is recorded in `document_number`; voiding it
marks it voided and never frees it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.db.schema import document_number, document_sequence, setting
from engine.errors import Conflict, Invalid, NotFound, Problem

PREFIX_SETTING = "documents.prefix"        # the hospital's issuing-organ abbreviation, e.g. "X纪"
HOSPITAL_SETTING = "documents.hospital"    # the issuing organ's full name on the 版头
DEFAULT_PREFIX = "X纪"
DEFAULT_HOSPITAL = "X市人民医院纪检监察室"
ISSUED, VOIDED = "issued", "voided"


@dataclass(frozen=True)
class DocumentNumber:
    kind: str          # 函, 告, 呈 … (the sequence)
    year: int
    number: int
    text: str          # X纪函〔2026〕12号


def format_number(prefix: str, kind: str, year: int, number: int) -> str:
    return f"{prefix}{kind}〔{year}〕{number}号"


def _setting(conn, key: str, default: str) -> str:
    value = conn.execute(sa.select(setting.c.value).where(setting.c.key == key)).scalar_one_or_none()
    return value if value else default


def prefix(conn) -> str:
    return _setting(conn, PREFIX_SETTING, DEFAULT_PREFIX)


def hospital(conn) -> str:
    """The issuing organ on the 版头: its own setting, else the hospital's name (本院信息) + 纪检监察室."""
    from engine.org.hospital import hospital_name
    name = hospital_name(conn)
    return _setting(conn, HOSPITAL_SETTING, f"{name}纪检监察室" if name else DEFAULT_HOSPITAL)


def configure(conn, *, prefix: str | None = None, hospital: str | None = None) -> None:
    """Set the hospital's prefix (机关代字) and issuing organ's name."""
    problems = []
    if prefix is not None and not (1 <= len(prefix.strip()) <= 16):
        problems.append(Problem("机关代字应为 1–16 个字", field="prefix", code="bad_prefix"))
    if hospital is not None and not (1 <= len(hospital.strip()) <= 64):
        problems.append(Problem("发文机关名称应为 1–64 个字", field="hospital", code="bad_hospital"))
    if problems:
        raise Invalid("公文设置有误", problems)
    for key, value in ((PREFIX_SETTING, prefix), (HOSPITAL_SETTING, hospital)):
        if value is None:
            continue
        done = conn.execute(setting.update().where(setting.c.key == key).values(value=value.strip())).rowcount
        if not done:
            conn.execute(setting.insert().values(key=key, value=value.strip()))


def _ensure_sequence(conn, kind: str, year: int) -> None:
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(document_sequence)
    conn.execute(insert.values(kind=kind, year=year, last=0).on_conflict_do_nothing())


def allocate(conn, kind: str, year: int, *, by: str, now: datetime, instance_id: str | None = None) -> DocumentNumber:
    """The next number of `kind` in `year`, recorded as issued, in the caller's write transaction."""
    if not kind or len(kind) > 32:
        raise Invalid("文号类别无效", [Problem("文号类别无效", field="kind")])
    _ensure_sequence(conn, kind, year)
    number = conn.execute(document_sequence.update()
                          .where(document_sequence.c.kind == kind, document_sequence.c.year == year)
                          .values(last=document_sequence.c.last + 1)
                          .returning(document_sequence.c.last)).scalar_one()
    text = format_number(prefix(conn), kind, year, number)
    conn.execute(document_number.insert().values(kind=kind, year=year, number=number, text=text,
                                                 instance_id=instance_id, status=ISSUED, issued_by=by,
                                                 issued_at=now))
    return DocumentNumber(kind, year, number, text)


MAX_REASON = 500


def void(conn, kind: str, year: int, number: int, *, by: str, now: datetime, reason: str) -> dict:
    """Mark a number voided (作废); it stays recorded and is never given out again."""
    if not (reason or "").strip():
        raise Invalid("请填写作废理由", [Problem("请填写作废理由", field="reason", code="required")])
    if len(reason.strip()) > MAX_REASON:
        raise Invalid("作废理由不超过 500 字", [Problem("作废理由不超过 500 字", field="reason", code="too_long")])
    row = conn.execute(sa.select(document_number).where(
        document_number.c.kind == kind, document_number.c.year == year, document_number.c.number == number)
        .with_for_update()).one_or_none()
    if row is None:
        raise NotFound("没有给出过这个文号", field="number")
    if row.status == VOIDED:
        raise Conflict("这个文号已作废", field="number")
    conn.execute(document_number.update().where(
        document_number.c.kind == kind, document_number.c.year == year, document_number.c.number == number)
        .values(status=VOIDED, voided_by=by, voided_at=now, void_reason=reason.strip()))
    return dict(row._mapping, status=VOIDED, voided_by=by, voided_at=now, void_reason=reason.strip())


def sequences(conn) -> list[tuple[str, int]]:
    """(kind, year) of every sequence that has given out a number, newest year first."""
    rows = conn.execute(sa.select(document_number.c.kind, document_number.c.year).distinct()
                        .order_by(document_number.c.year.desc(), document_number.c.kind))
    return [(r.kind, r.year) for r in rows]


def register(conn, kind: str | None = None, year: int | None = None) -> list[dict]:
    """The numbers given out (issued and voided), in order."""
    q = sa.select(document_number)
    if kind is not None:
        q = q.where(document_number.c.kind == kind)
    if year is not None:
        q = q.where(document_number.c.year == year)
    q = q.order_by(document_number.c.kind, document_number.c.year, document_number.c.number)
    return [dict(r._mapping) for r in conn.execute(q)]
