"""The inbox and the scheduler find their rows through indexes, not by reading every task ever made.

Their indexes are partial (open tasks only, alerts still to send: see engine/schema.py) and a query
can use one only when it repeats the index's condition. On SQLite the planner's choice is checked;
on PostgreSQL, with sequential scans switched off, a plan that still reads the whole table means no
index could serve the query.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engine.deadlines import reminders
from engine.inbox import lists as worklist
from engine.org.people import Principal

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 12, 4, 8, tzinfo=timezone.utc)
STAFF = Principal("wangfang", "王芳", "内科", frozenset({"staff", "dept_member"}))
HEAD = Principal("lihua", "李华", "内科", frozenset({"staff", "department_head"}), heads=frozenset({"内科"}))


def _plan(db, statement) -> list[str]:
    """The plan of the statement as the application sends it: with its values as parameters (a
    partial index whose condition the query only matches through a parameter is of no use)."""
    with db.connect() as conn:
        if conn.dialect.name == "sqlite":
            state = statement.compile(dialect=conn.dialect).construct_expanded_state()
            params = tuple(state.parameters[name] for name in state.positiontup)
            params = tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in params)
            return [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + state.statement, params)]
        # PostgreSQL plans a statement with its values known unless told to plan it for any values
        dollar = type(conn.dialect)(paramstyle="numeric_dollar")
        state = statement.compile(dialect=dollar).construct_expanded_state()
        values = ", ".join(str(sa.literal(state.parameters[name]).compile(
            dialect=conn.dialect, compile_kwargs={"literal_binds": True})) for name in state.positiontup)
        transaction = conn.begin()
        try:
            # planned as for a new table, whatever rows earlier tests left in the statistics (the test
            # database is emptied with DELETE between tests): emptied here, in a transaction undone below
            conn.exec_driver_sql("TRUNCATE human_task CASCADE")
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql(f"PREPARE plan_check AS {state.statement}")
            try:
                return [r[0] for r in conn.exec_driver_sql(f"EXPLAIN EXECUTE plan_check({values})")]
            finally:
                conn.exec_driver_sql("DEALLOCATE plan_check")
        finally:
            transaction.rollback()


def _plan_among_many(db, statement) -> list[str]:
    """As `_plan`, on PostgreSQL over 8,000 open tasks for the role `staff` in 40 departments, with
    their statistics: what the planner does with a hospital's open work, not with an empty table."""
    if db.dialect.name == "sqlite":
        return _plan(db, statement)
    sql = str(statement.compile(dialect=db.dialect, compile_kwargs={"literal_binds": True}))
    with db.connect() as conn:
        transaction = conn.begin()
        try:
            conn.exec_driver_sql("TRUNCATE human_task CASCADE")
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")    # no instance rows needed
            conn.exec_driver_sql(
                "INSERT INTO human_task (id, instance_id, process_key, element_id, candidate_role, "
                "candidate_department, priority, status, created_at) "
                "SELECT 't' || n, 'i' || n, 'p', 'e', 'staff', 'd' || mod(n, 40), 50, 'open', now() "
                "FROM generate_series(1, 8000) AS n")
            conn.exec_driver_sql("ANALYZE human_task")
            return [r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql)]
        finally:
            transaction.rollback()


def _reads_every_task(db, plan: list[str]) -> bool:
    """A read of human_task not narrowed by an index condition (reading the open tasks' index in
    full is allowed: that is the open work, not the history)."""
    if db.dialect.name == "sqlite":
        return any(line.startswith("SCAN human_task") and "ix_human_task_open_inbox" not in line for line in plan)
    for i, line in enumerate(plan):
        if " on human_task" not in line or "ix_human_task_open_inbox" in line:
            continue
        depth = len(line) - len(line.lstrip(" ->"))
        details = []
        for below in plan[i + 1:]:
            if "->" in below or len(below) - len(below.lstrip(" ")) < depth:
                break
            details.append(below)
        if not any("Index Cond" in d or "Recheck Cond" in d for d in details):
            return True
    return False


def _list_query(p: Principal, view: str):
    """The statement the inbox sends for a page of the list, with its parameters."""
    query = worklist.TaskQuery(view=view)
    _count, page = worklist.list_statements(p, query)
    return page.params({**worklist._values(p, NOW, NOW + timedelta(days=2)), **worklist._filter_values(query),
                        "w_limit": 20, "w_offset": 0})


@pytest.mark.parametrize("view", ["mine", "claimable", "due_soon", "overdue", "done"])
def test_each_inbox_list_is_found_by_an_index(db, view):
    plan = _plan(db, _list_query(STAFF, view))
    assert not _reads_every_task(db, plan), plan
    assert any("ix_human_task_" in line for line in plan), plan


def test_a_department_heads_list_reads_only_the_open_tasks(db):
    plan = _plan(db, _list_query(HEAD, "department"))
    assert not _reads_every_task(db, plan), plan


@pytest.mark.parametrize("who", [STAFF, HEAD], ids=["staff", "head"])
def test_the_list_counts_read_only_open_tasks(db, who):
    from engine.db.schema import human_task
    plan = _plan(db, sa.select(sa.func.count()).select_from(human_task).where(worklist._count_condition(who))
                 .params(worklist._values(who, NOW, NOW + timedelta(days=2))))
    assert not _reads_every_task(db, plan), plan


def test_the_scheduler_finds_due_reminders_and_escalations_by_index(db):
    captured = []

    class Capture:
        dialect = db.dialect

        def execute(self, statement):
            captured.append(statement)
            return type("R", (), {"all": lambda self: []})()

    reminders.due_work(Capture(), NOW, 10)
    plan = _plan_among_many(db, captured[0])
    assert not _reads_every_task(db, plan), plan
    assert any("ix_human_task_remind" in line for line in plan), plan
    assert any("ix_human_task_escalate" in line for line in plan), plan


def test_the_bells_count_reads_the_persons_notifications_not_one_per_task_ever_opened(db):
    """Every page shows the bell's count. A new task's notification (one per task ever opened, for its
    role and department) is not on the bell: the count reads only indexes that do not hold them."""
    from engine.deadlines import notifications
    plan = _plan(db, notifications.unread_statement(STAFF.username, sorted(STAFF.roles), STAFF.department))
    if db.dialect.name == "sqlite":
        reads = [line for line in plan if line.split()[:2] in (["SCAN", "notification"], ["SEARCH", "notification"])]
    else:
        assert not any("Seq Scan on notification " in f"{line} " for line in plan), plan
        reads = [line for line in plan if "Index" in line and " on ix_notification" in line]
    assert reads, plan
    assert all("ix_notification_bell_" in line for line in reads), plan
    if db.dialect.name == "sqlite":      # looked up in each index (the person's, their roles'), not read whole
        assert all(line.startswith("SEARCH") for line in reads), plan


def _finds_open_inbox_rows_by_department(db, plan: list[str]) -> bool:
    """Every look-up of the open tasks' index (role, department) narrows by the department too: a
    role's open tasks in every department (a campaign task for 200 departments' heads) are not read
    and filtered one by one."""
    if db.dialect.name == "sqlite":
        uses = [line for line in plan if "ix_human_task_open_inbox" in line]
        return bool(uses) and all("candidate_department" in line for line in uses)
    uses = [i for i, line in enumerate(plan) if "on ix_human_task_open_inbox" in line]
    return bool(uses) and all("candidate_department" in plan[i + 1] for i in uses)


def test_the_claimable_list_looks_up_the_department_of_a_roles_tasks(db):
    plan = _plan_among_many(db, _list_query(STAFF, "claimable"))
    assert _finds_open_inbox_rows_by_department(db, plan), plan


@pytest.mark.parametrize("who", [STAFF, HEAD], ids=["staff", "head"])
def test_the_list_counts_look_up_the_department_of_a_roles_tasks(db, who):
    from engine.db.schema import human_task
    plan = _plan_among_many(db, sa.select(sa.func.count()).select_from(human_task).where(worklist._count_condition(who))
                 .params(worklist._values(who, NOW, NOW + timedelta(days=2))))
    assert _finds_open_inbox_rows_by_department(db, plan), plan
