"""The figures of one process version over a range of days, read from the summaries (a handful of
grouped queries, whatever the number of instances), less what `minus` holds — the instances the
reader is recused from."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from engine.db.schema import analytics_duration, analytics_step, analytics_variant

from . import fold
from .summary import Deltas

PERCENTILES = (("median", 0.5), ("p90", 0.9))
TOP_VARIANTS = 20


def _in_range(table, version_id: int, day_from: date | None, day_to: date | None) -> list:
    scope = [table.c.version_id == version_id]
    if day_from is not None:
        scope.append(table.c.day >= day_from)
    if day_to is not None:
        scope.append(table.c.day <= day_to)
    return scope


def _keep(key: tuple, version_id: int, day_from, day_to) -> bool:
    return key[0] == version_id and (day_from is None or key[1] >= day_from) and (day_to is None or key[1] <= day_to)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(conn, version_id: int, day_from: date | None = None, day_to: date | None = None,
            minus: Deltas | None = None) -> dict:
    """Per step: completed tasks, overdue ones (of those with a due time), the median, 90th percentile
    and mean of cycle, waiting and working seconds; per department, and per step and department:
    completed and overdue; the variants of the instances that ended in the range, most frequent first."""
    minus = minus or Deltas()
    s = analytics_step.c
    steps: dict[str, list] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0, 0.0])
    depts: dict[str, list] = defaultdict(lambda: [0, 0, 0])
    pairs: dict[tuple, list] = defaultdict(lambda: [0, 0, 0])
    for r in conn.execute(sa.select(s.element_id, s.department, sa.func.sum(s.completed), sa.func.sum(s.with_due),
                                    sa.func.sum(s.overdue), sa.func.sum(s.cycle_s), sa.func.sum(s.wait_s),
                                    sa.func.sum(s.work_s))
                          .where(*_in_range(analytics_step, version_id, day_from, day_to))
                          .group_by(s.element_id, s.department)):
        _add(steps[r[0]], r[2:], 1)
        _add(depts[r[1]], r[2:5], 1)
        _add(pairs[(r[0], r[1])], r[2:5], 1)
    for key, v in minus.steps.items():
        if _keep(key, version_id, day_from, day_to):
            _add(steps[key[2]], v, -1)
            _add(depts[key[3]], v[:3], -1)
            _add(pairs[(key[2], key[3])], v[:3], -1)
    d = analytics_duration.c
    hist: dict[tuple, dict[int, list]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for r in conn.execute(sa.select(d.element_id, d.measure, d.bucket, sa.func.sum(d.n), sa.func.sum(d.seconds))
                          .where(*_in_range(analytics_duration, version_id, day_from, day_to))
                          .group_by(d.element_id, d.measure, d.bucket)):
        _add(hist[(r[0], r[1])][r[2]], r[3:], 1)
    for key, v in minus.durations.items():
        if _keep(key, version_id, day_from, day_to):
            _add(hist[(key[2], key[3])][key[4]], v, -1)
    v_ = analytics_variant.c
    variants: dict[str, list] = {}
    for r in conn.execute(sa.select(v_.variant, sa.func.min(v_.steps_json), sa.func.sum(v_.n))
                          .where(*_in_range(analytics_variant, version_id, day_from, day_to))
                          .group_by(v_.variant)):
        variants[r[0]] = [r[1], int(r[2])]
    for key, v in minus.variants.items():
        if _keep(key, version_id, day_from, day_to) and key[2] in variants:
            variants[key[2]][1] -= v[1]
    finished = sum(n for _j, n in variants.values() if n > 0)
    ranked = sorted((v for v in variants.values() if v[1] > 0), key=lambda v: (-v[1], v[0]))
    return {
        "steps": {el: _step(v, hist, el) for el, v in steps.items() if v[0] > 0},
        "departments": {dept: _counts(v) for dept, v in depts.items() if v[0] > 0},
        "step_departments": {pair: _counts(v) for pair, v in sorted(pairs.items()) if v[0] > 0},
        "variants": [{"steps": json.loads(j), "n": n, "share": _rate(n, finished)} for j, n in ranked[:TOP_VARIANTS]],
        "variant_count": len(ranked),
        "finished": finished,
    }


def _counts(v: list) -> dict:
    return {"completed": int(v[0]), "with_due": int(v[1]), "overdue": int(v[2]), "overdue_rate": _rate(v[2], v[1])}


def _add(into: list, values, sign: int) -> None:
    for i, x in enumerate(values):
        into[i] += sign * (x or 0)


def _step(v: list, hist: dict, element_id: str) -> dict:
    completed = int(v[0])
    out = {"completed": completed, "with_due": int(v[1]), "overdue": int(v[2]), "overdue_rate": _rate(v[2], v[1])}
    for i, measure in enumerate(fold.MEASURES):
        rows = [(b, int(n), sec) for b, (n, sec) in hist.get((element_id, measure), {}).items() if n > 0]
        out[measure] = {"mean": round(v[3 + i] / completed, 1),
                        **{name: _round(fold.percentile(rows, p)) for name, p in PERCENTILES}}
    return out


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
