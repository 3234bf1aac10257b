"""A launched campaign on the demo hospital (`make run`), so the campaign page has something to show."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.campaign.operators import CAMPAIGN
from engine.db.transactions import read_transaction
from engine.db.schema import department, human_task, process_instance
from engine.deadlines.workdays import BEIJING


def load(engine) -> str | None:
    """Launch the demo campaign once, with a little work done; returns its id (None if one exists)."""
    with read_transaction(engine.db) as conn:
        if conn.execute(sa.select(process_instance.c.id).where(process_instance.c.process_key == CAMPAIGN)).first():
            return None
        categories = dict(conn.execute(sa.select(department.c.code, department.c.category)).all())
        heads = dict(conn.execute(sa.select(department.c.code, department.c.head).where(
            department.c.active, department.c.code != "jijianshi").order_by(department.c.category, department.c.code)).all())
    codes = list(heads)
    today = engine.clock.now().astimezone(BEIJING).date()
    day = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
    view = engine.start(CAMPAIGN, started_by="jijian", business_key="清廉医〔2026〕1号", data={
        "name": "医疗领域群众身边腐败和作风问题专项整治", "doc_no": "清廉医〔2026〕1号", "departments": list(codes),
        "mobilization_deadline": day(14), "selfcheck_deadline": day(45), "rectification_deadline": day(105),
        "consolidation_deadline": day(165), "disclosure_deadline": day(44), "report_day": 20,
        "leadership": [{"person": "shuji", "duty": "组长"}, {"person": "yuanzhang", "duty": "副组长"}],
        "task_force": [{"person": "jijian", "duty": "办公室主任"}, {"person": "yiwu_head", "duty": "成员"}],
        # 逐级谈话: the 分管院领导 talk to the heads of the departments they oversee (shuji: the clinical ones)
        "leaders": [{"person": "shuji", "departments": [c for c in codes if categories.get(c) == "clinical"]},
                    {"person": "fuyuanzhang", "departments": [c for c in codes if categories.get(c) != "clinical"]}]})
    # a few departments have held their mobilization meeting, one has finished its talks too
    # (the whole department attends: the meeting's attendance is checked against its headcount)
    for code in ("neike", "waike", "erke", "jianyanke"):
        task = _open(engine, "meeting", code)
        if task:
            headcount = engine.show(engine.task(task).instance_id).data.get("headcount") or 1
            engine.complete_task(task, user=heads[code], data={"meeting_date": day(0), "attendance": headcount,
                                                                "trained": headcount, "summary": "传达专项整治工作方案"})
    for talk in _all_open(engine, "talk", "waike"):
        engine.complete_task(talk, user=heads["waike"], data={"talk_date": day(0), "summary": "引导主动说明问题"})
    return view.id


def _all_open(engine, element: str, code: str) -> list[str]:
    with read_transaction(engine.db) as conn:
        return conn.execute(sa.select(human_task.c.id).where(
            human_task.c.status == "open", human_task.c.element_id == element,
            human_task.c.candidate_department == code).order_by(human_task.c.created_at)).scalars().all()


def _open(engine, element: str, code: str) -> str | None:
    found = _all_open(engine, element, code)
    return found[0] if found else None
