"""Pure: an instance's events folded into the facts the summaries count — one per completed human
task — and the variant of a finished instance; the log buckets that durations are counted in.

A task's step is *ready* at its `task_ready` event, *started* at the first `task_claimed` after it (a
task completed without being claimed was taken up when it was completed), *done* at `task_completed`.
Waiting = ready → started, working = started → done, cycle = ready → done. It is *overdue* when done
after the due time its `task_ready` carried. Sent back, cancelled or withdrawn, the task's open state
is dropped; ready again, it starts over.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date, datetime

from engine.deadlines.workdays import BEIJING

MEASURES = ("cycle", "wait", "work")
# Bucket k > 0 holds durations in [RATIO**(k-1), RATIO**k) seconds; bucket 0 those under a second.
# A percentile is read as the mean of its bucket's durations: within 5% of the exact value, and the
# exact value whenever the bucket holds one distinct duration.
RATIO = 1.1
_LOG = math.log(RATIO)
DROPPED = ("task_cancelled", "task_sent_back", "task_withdrawn")


def bucket(seconds: float) -> int:
    return 0 if seconds < 1 else 1 + int(math.log(seconds) / _LOG)


def day_of(moment: datetime) -> date:
    """The day a moment falls on in Beijing."""
    return moment.astimezone(BEIJING).date()


@dataclass(frozen=True)
class StepFact:
    seq: int                  # the completion event's place in the chain
    element_id: str
    day: date                 # completed on (Beijing)
    actor: str | None
    department: str | None    # the task's department when it named one
    cycle: float              # seconds
    wait: float
    work: float
    due: bool
    overdue: bool


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def steps(events) -> list[StepFact]:
    """The completed human tasks of one instance, from its events (each with seq, type, at, actor,
    task_id, element_id and data — a dict), in chain order."""
    open_: dict[str, dict] = {}
    out = []
    for e in events:
        kind, tid = e["type"], e["task_id"]
        if not tid:
            continue
        if kind == "task_ready":
            open_[tid] = {"ready": e["at"], "started": None, "due": _moment(e["data"].get("due_at")),
                          "department": e["data"].get("department")}
        elif kind == "task_claimed" and tid in open_ and open_[tid]["started"] is None:
            open_[tid]["started"] = e["at"]
        elif kind in DROPPED:
            open_.pop(tid, None)
        elif kind == "task_completed" and tid in open_:
            t = open_.pop(tid)
            done, ready = e["at"], t["ready"]
            started = t["started"] or done
            out.append(StepFact(e["seq"], e["element_id"], day_of(done), e["actor"], t["department"],
                                (done - ready).total_seconds(), (started - ready).total_seconds(),
                                (done - started).total_seconds(), t["due"] is not None,
                                t["due"] is not None and done > t["due"]))
    return out


def variant(facts: list[StepFact]) -> tuple[str, str]:
    """A finished instance's variant: (its key, the JSON list of its steps in the order completed)."""
    steps_json = json.dumps([f.element_id for f in facts], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(steps_json.encode("utf-8")).hexdigest(), steps_json


def percentile(histogram: list[tuple[int, int, float]], p: float) -> float | None:
    """The p-th percentile (nearest rank: the ⌈p·n⌉-th smallest) of the durations counted in
    `histogram` — (bucket, n, seconds) rows, one per bucket — as the mean of its bucket."""
    total = sum(n for _b, n, _s in histogram)
    if not total:
        return None
    rank = max(1, math.ceil(round(p * total, 9)))
    seen = 0
    for _b, n, seconds in sorted(histogram):
        seen += n
        if seen >= rank:
            return seconds / n
    return None
