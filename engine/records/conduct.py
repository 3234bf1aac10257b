"""医德考评, quarterly conduct scoring (seed 003: "医德考评实行季度考核记分，年度考核确定等级";
"完善院、科二级考评管理。进行加减分项目登记和一票否决制").

A quarter's score is the base (基础分) plus the 加分 items minus the 减分 items; a one-vote veto
(一票否决) puts the quarter — and so the year — at the lowest grade whatever the points. The year's
score is the mean of its scored quarters, graded by the rule's thresholds. The rule (base, grades) is a
hospital's choice: it lives in the `setting` table (`conduct_rule`, JSON), with the default below.

Who enters: a department head for the people of the departments they head (院、科二级: the
department's level), the discipline office for anyone (the hospital's level). Each entry replaces the
person's quarter and is an event of the `conduct-scores` hash chain (before → after).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from engine import history
from engine.db.schema import conduct_score, department, setting, staff
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Forbidden, Invalid, Problem
from engine.org.people import Principal
from engine.org.roles import DISCIPLINE_OFFICE

CHAIN = "conduct-scores"
RULE_KEY = "conduct_rule"
# 优秀 / 良好 / 一般 / 较差: the four grades of the 医德考评 (卫生部《关于建立医务人员医德考评制度的指导意见》);
# a year scoring at least the threshold gets the grade; a veto gets the last one.
DEFAULT_RULE = {"base": "100", "grades": [["优秀", "90"], ["良好", "80"], ["一般", "60"], ["较差", "0"]]}
KINDS = {"plus": "加分", "minus": "减分"}
MAX_ITEMS = 50
MAX_POINTS = Decimal("100")


@dataclass(frozen=True)
class Rule:
    base: Decimal
    grades: tuple[tuple[str, Decimal], ...]

    def grade(self, score: Decimal | None, veto: bool) -> str | None:
        if veto:
            return self.grades[-1][0]
        if score is None:
            return None
        return next((name for name, at_least in self.grades if score >= at_least), self.grades[-1][0])


def rule(conn) -> Rule:
    raw = conn.execute(sa.select(setting.c.value).where(setting.c.key == RULE_KEY)).scalar()
    data = json.loads(raw) if raw else DEFAULT_RULE
    return Rule(Decimal(str(data["base"])), tuple((g[0], Decimal(str(g[1]))) for g in data["grades"]))


def points(value, *, field: str) -> Decimal:
    """A number of points (at most one decimal, 0 to 100); `Invalid` names the field."""
    try:
        p = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid("分值有误", [Problem("分值应为数字，如 2 或 0.5", field=field, code="not_number")]) from None
    if not p.is_finite() or p < 0 or p > MAX_POINTS or p != p.quantize(Decimal("0.1")):
        raise Invalid("分值有误", [Problem("分值应在 0 至 100 之间，最多一位小数", field=field, code="out_of_range")])
    return p


def clean_entry(entry: dict) -> dict:
    """A quarter as entered: year, quarter, items (kind, points, reason), veto and its reason;
    `Invalid` lists every problem with its field."""
    problems: list[Problem] = []
    try:
        year = int(str(entry.get("year") or "").strip())
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        year = 0
        problems.append(Problem("年度应为 2000 至 2100 之间的四位数字", field="year", code="bad_year"))
    try:
        quarter = int(str(entry.get("quarter") or "").strip())
        if quarter not in (1, 2, 3, 4):
            raise ValueError
    except ValueError:
        quarter = 0
        problems.append(Problem("季度应为 1 至 4", field="quarter", code="bad_quarter"))
    items = []
    for i, item in enumerate(entry.get("items") or []):
        if not str(item.get("points") or "").strip() and not str(item.get("reason") or "").strip():
            continue                                        # an empty row of the form
        kind = item.get("kind")
        if kind not in KINDS:
            problems.append(Problem("请选择加分或减分", field=f"items.{i}.kind", code="bad_kind"))
            continue
        try:
            p = points(item.get("points"), field=f"items.{i}.points")
        except Invalid as e:
            problems.extend(e.problems)
            continue
        reason = str(item.get("reason") or "").strip()
        if not reason or len(reason) > 500:
            problems.append(Problem("请写明加减分事由（500 字以内）", field=f"items.{i}.reason", code="no_reason"))
            continue
        items.append({"kind": kind, "points": str(p), "reason": reason})
    if len(items) > MAX_ITEMS:
        problems.append(Problem(f"每季度最多 {MAX_ITEMS} 项", field="items", code="too_many"))
    veto = bool(entry.get("veto"))
    veto_reason = str(entry.get("veto_reason") or "").strip() or None
    if veto and not veto_reason:
        problems.append(Problem("一票否决须写明事由", field="veto_reason", code="no_veto_reason"))
    if problems:
        raise Invalid("医德考评有误", problems)
    return {"year": year, "quarter": quarter, "items": items, "veto": veto, "veto_reason": veto_reason if veto else None}


def may_score(entrant: Principal, person_department: str | None) -> bool:
    """The office scores anyone; a department head the people of the departments they head."""
    return entrant.has(DISCIPLINE_OFFICE) or (person_department is not None and person_department in entrant.heads)


def require_scorer(entrant: Principal) -> None:
    """Only the office and department heads score anyone (else `Forbidden`, before reading any input)."""
    if not entrant.has(DISCIPLINE_OFFICE) and not entrant.heads:
        raise Forbidden("医德考评由科室负责人和纪检监察室录入")


def save_quarter(conn, entrant: Principal, username: str, entry: dict, now, *, source: str = "entry") -> dict:
    """Record (or replace) one person's quarter, in the caller's transaction; `entry` is cleaned."""
    person = conn.execute(sa.select(staff.c.username, staff.c.department, staff.c.active).where(
        staff.c.username == username)).one_or_none()
    if person is None or not person.active:
        raise Invalid("找不到该职工", [Problem("找不到该职工，或该职工已停用", field="person", code="unknown")])
    if not may_score(entrant, person.department):
        raise Forbidden("只能为本科室职工评分")
    c = conduct_score.c
    before = conn.execute(sa.select(conduct_score).where(
        c.username == username, c.year == entry["year"], c.quarter == entry["quarter"])).one_or_none()
    values = {"department": person.department, "items_json": json.dumps(entry["items"], ensure_ascii=False),
              "veto": entry["veto"], "veto_reason": entry["veto_reason"], "source": source,
              "entered_by": entrant.username, "entered_at": now}
    if before is None:
        conn.execute(conduct_score.insert().values(username=username, year=entry["year"],
                                                   quarter=entry["quarter"], **values))
    else:
        conn.execute(conduct_score.update().where(c.id == before.id).values(**values))
    history.append_to_chain(conn, CHAIN, now, [history.NewEvent(
        "conduct_scored", actor=entrant.username, data={
            "username": username, "year": entry["year"], "quarter": entry["quarter"], "source": source,
            "items": entry["items"], "veto": entry["veto"], "veto_reason": entry["veto_reason"],
            "before": None if before is None else {"items": json.loads(before.items_json), "veto": before.veto,
                                                   "veto_reason": before.veto_reason}})])
    return {"username": username, **entry}


def enter(engine, entrant: Principal, username: str, entry: dict) -> dict:
    """The department page's entry of one quarter: checked, then saved in one transaction."""
    require_scorer(entrant)
    cleaned = clean_entry(entry)
    with write_transaction(engine.db) as conn:
        return save_quarter(conn, entrant, (username or "").strip(), cleaned, engine.clock.now())


# --- reading -----------------------------------------------------------------------------------------

def _quarter(row, r: Rule, names: dict) -> dict:
    items = json.loads(row.items_json)
    plus = sum((Decimal(i["points"]) for i in items if i["kind"] == "plus"), Decimal("0"))
    minus = sum((Decimal(i["points"]) for i in items if i["kind"] == "minus"), Decimal("0"))
    score = r.base + plus - minus
    return {"username": row.username, "year": row.year, "quarter": row.quarter, "department": row.department,
            "department_name": names.get(row.department, row.department or "—"), "items": items,
            "plus": plus, "minus": minus, "score": score, "veto": row.veto, "veto_reason": row.veto_reason,
            "grade": r.grade(score, row.veto), "source": row.source, "entered_by": row.entered_by,
            "entered_at": row.entered_at}


def years(conn, username: str) -> list[dict]:
    """A person's scores, per year (newest first): its quarters, the year's score and grade."""
    r = rule(conn)
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    rows = conn.execute(sa.select(conduct_score).where(conduct_score.c.username == username)
                        .order_by(conduct_score.c.year.desc(), conduct_score.c.quarter)).all()
    by_year: dict[int, list[dict]] = {}
    for row in rows:
        by_year.setdefault(row.year, []).append(_quarter(row, r, names))
    return [year_summary(y, qs, r) for y, qs in by_year.items()]


def year_summary(year: int, quarters: list[dict], r: Rule) -> dict:
    """年度考核确定等级: the mean of the quarters scored; a veto in any quarter is the lowest grade."""
    veto = any(q["veto"] for q in quarters)
    score = (sum((q["score"] for q in quarters), Decimal("0")) / len(quarters)).quantize(Decimal("0.1")) \
        if quarters else None
    return {"year": year, "quarters": quarters, "score": score, "veto": veto, "grade": r.grade(score, veto),
            "complete": len(quarters) == 4}


def department_page(engine, viewer: Principal, code: str | None = None, year: int | None = None,
                    quarter: int | None = None) -> dict:
    """The scoring page: the departments `viewer` scores (all for the office, those they head for a
    head), and one department's people with their scores of one quarter and of the year so far.
    Defaults: the first department, this quarter (Beijing time)."""
    from engine.deadlines.workdays import BEIJING
    today = engine.clock.now().astimezone(BEIJING).date()
    if year is None or quarter is None or not 2000 <= year <= 2100 or quarter not in (1, 2, 3, 4):
        year, quarter = today.year, (today.month - 1) // 3 + 1
    with read_transaction(engine.db) as conn:
        r = rule(conn)
        names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)
                                  .order_by(department.c.name_zh)).all())
        choices = [(c, n) for c, n in names.items() if viewer.has(DISCIPLINE_OFFICE) or c in viewer.heads]
        if not choices:
            require_scorer(viewer)
            raise Forbidden("没有可评分的科室")
        code = code or choices[0][0]
        if code not in dict(choices):
            raise Forbidden("只能查看本科室的医德考评")
        people = conn.execute(sa.select(staff.c.username, staff.c.name).where(
            staff.c.department == code, staff.c.active).order_by(staff.c.name)).all()
        ids = [p.username for p in people]
        rows = conn.execute(sa.select(conduct_score).where(
            conduct_score.c.username.in_(ids or ["-"]), conduct_score.c.year == year)).all()
    quarters: dict[str, list[dict]] = {}
    for row in rows:
        quarters.setdefault(row.username, []).append(_quarter(row, r, names))
    out = []
    for p in people:
        qs = sorted(quarters.get(p.username, []), key=lambda q: q["quarter"])
        this = next((q for q in qs if q["quarter"] == quarter), None)
        out.append({"username": p.username, "name": p.name, "quarter": this,
                    "year": year_summary(year, qs, r)})
    return {"department": code, "department_name": names.get(code, code), "year": year, "quarter": quarter,
            "departments": choices, "people": out, "base": r.base, "grades": [g for g, _ in r.grades]}
