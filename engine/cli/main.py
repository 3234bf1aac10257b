"""The `qinglian` command line. Each command translates its arguments into one engine call.

`qinglian serve` is added by `web.serve`, the outer layer that composes the installed command;
the benchmark runs with `python -m bench` (`make bench`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine import bootstrap as services
from engine.config import Settings
from engine.errors import EngineError, Invalid


class Context:
    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.settings = Settings.from_env()
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            self._engine = services.open_engine(self.settings)
        return self._engine

    def out(self, value, human=None) -> None:
        value = plain(value)
        if self.as_json:
            click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
        elif human is not None:
            click.echo(human(value) if callable(human) else human)
        else:
            click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def plain(value):
    """The engine's answers (views, tasks, incidents) as the JSON shapes the command line prints."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _json_arg(text: str | None, name: str) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc.msg} at column {exc.colno}", param_hint=name)
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object, e.g. '{\"approved\": true}'", param_hint=name)
    return value


class QinglianGroup(click.Group):
    """Turns engine errors into a message naming the problem and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Invalid as exc:
            click.echo(f"error: {exc.message}", err=True)
            for p in exc.problems:
                click.echo(f"  - {p}", err=True)
            sys.exit(2)
        except EngineError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(2 if exc.code in ("invalid", "not_found") else 3)


@click.group(cls=QinglianGroup)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def main(ctx, as_json):
    """Qinglian (清廉): BPMN engine for hospital integrity campaigns and clue handling."""
    ctx.obj = Context(as_json)


@main.command("init-db")
@click.option("--demo", is_flag=True, help="Also deploy processes/ and load the demo data.")
@click.option("--sandbox", is_flag=True, help="A drill database whose clock you move (qinglian clock ...).")
@click.option("--at", "at", metavar="WHEN", help="With --sandbox: the drill clock's time, e.g. 2026-09-28T09:00+08:00.")
@click.pass_obj
def init_db(obj: Context, demo: bool, sandbox: bool, at: str | None):
    """Create or migrate the database schema (safe to run again)."""
    if at is not None and not sandbox:
        raise click.UsageError("--at sets a drill clock: use it with --sandbox")
    engine = services.init_db(obj.settings, sandbox=sandbox, at=_instant(at, "--at") if at else None)
    click.echo(f"database ready: {engine.db.url.render_as_string(hide_password=True)}", err=True)
    if demo:
        from engine.demo import hospital as demo_data
        summary = demo_data.load(engine, obj.settings)
        obj.out(summary, lambda s: "\n".join(f"{k}: {v}" for k, v in s.items()))


def _instant(text: str, param: str):
    """A moment typed by an operator (ISO 8601 with its offset)."""
    from datetime import datetime
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("not an ISO 8601 time, e.g. 2026-09-28T09:00:00+08:00", param_hint=param) from None


@main.command("import-org")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@click.pass_obj
def import_org(obj: Context, file, dry_run):
    """Import departments and staff from an .xlsx or .csv FILE (format: docs/org-import.md)."""
    from engine.org import importing as org_import, spreadsheet
    from engine.db.transactions import read_transaction, write_transaction
    with open(file, "rb") as f:
        plan = spreadsheet.parse(file.name, f.read(spreadsheet.MAX_BYTES + 1))
    with (read_transaction if dry_run else write_transaction)(obj.engine.db) as conn:
        result = org_import.preview(conn, plan)
        if result.ok and not dry_run:
            result = org_import.apply(conn, plan, obj.engine.clock.now())
    obj.out({**result.to_dict(), "applied": result.ok and not dry_run}, lambda r: "\n".join([
        f"科室 departments: 新增 {r['departments_new']}, 更新 {r['departments_updated']}, "
        f"无变化 {r['departments_unchanged']}",
        f"人员 staff: 新增 {r['staff_new']}, 更新 {r['staff_updated']}, 无变化 {r['staff_unchanged']}; "
        f"初始密码 {r['passwords_set']}, 尚无密码 {r['staff_without_password']}",
        *(f"warning: {w}" for w in result.warnings),
        "imported" if r["applied"] else "dry run: nothing written" if result.ok else ""]).rstrip())
    if not result.ok:
        click.echo(f"error: {len(result.problems)} problem(s) in the file; nothing imported", err=True)
        for p in result.problems:
            click.echo(f"  - {p}", err=True)
        sys.exit(2)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "user", default="admin", show_default=True, help="Who deploys.")
@click.option("--note", default=None, help="A note kept with the version.")
@click.pass_obj
def deploy(obj: Context, files, user, note):
    """Validate and deploy BPMN FILES as new process versions."""
    result = obj.engine.deploy(services.read_sources(list(files)), deployed_by=user, note=note)
    obj.out([v.to_dict() for v in result], lambda vs: "\n".join(
        f"{v['process_key']} v{v['version']} {'deployed' if v['created'] else 'unchanged'} "
        f"(sha256 {v['sha256'][:12]}…, id {v['id']})" for v in vs))


@main.command()
@click.option("--key", "process_key", default=None, help="Only this process.")
@click.pass_obj
def versions(obj: Context, process_key):
    """List deployed process versions."""
    rows = obj.engine.registry.list_versions(process_key)
    obj.out(rows, lambda rs: "\n".join(
        f"{r['process_key']} v{r['version']}  {r['deployed_at']:%Y-%m-%d %H:%M}  {r['deployed_by']}  "
        f"{r['sha256'][:12]}…  {r['name'] or ''}" for r in rs) or "no process deployed")


@main.command()
@click.argument("key")
@click.option("--data", default=None, help="Initial data, a JSON object.")
@click.option("--as", "user", default="admin", show_default=True)
@click.option("--version", "version", type=int, default=None, help="A specific version (default: latest).")
@click.option("--business-key", default=None)
@click.pass_obj
def start(obj: Context, key, data, user, version, business_key):
    """Start an instance of process KEY."""
    view = obj.engine.start(key, started_by=user, version=version, business_key=business_key,
                            data=_json_arg(data, "--data"))
    obj.out(view.to_dict(), _show_text)


@main.command("void-number")
@click.argument("kind")
@click.argument("year", type=int)
@click.argument("number", type=int)
@click.option("--reason", required=True, help="Why the number is voided (kept with it).")
@click.option("--as", "user", default="admin", show_default=True, help="Who voids it.")
@click.pass_obj
def void_number(obj: Context, kind, year, number, reason, user):
    """Void document number (文号) NUMBER of KIND (e.g. 函) in YEAR; it stays recorded as voided."""
    from engine.documents import service as documents
    voided = documents.void_number(obj.engine, user, kind, year, number, reason)
    obj.out({"number": voided["text"], "status": voided["status"], "reason": voided["void_reason"]},
            lambda v: f"{v['number']}: {v['status']} ({v['reason']})")


@main.command()
@click.option("--user", default=None, help="Only tasks claimed by USER.")
@click.option("--status", default="open", type=click.Choice(["open", "completed", "cancelled"]))
@click.pass_obj
def tasks(obj: Context, user, status):
    """List human tasks."""
    rows = obj.engine.list_tasks(user=user, status=status)
    obj.out(rows, lambda rs: "\n".join(
        f"{r['id']}  {r['name']}  [{r['candidate_role'] or '-'}]  assignee={r['assignee'] or '-'}  "
        f"due={_when(r['due_at'])}{'（暂定）' if r.get('due_provisional') else ''}  instance={r['instance_id']}"
        for r in rs) or "no tasks")


@main.command()
@click.argument("task")
@click.option("--as", "user", required=True)
@click.pass_obj
def claim(obj: Context, task, user):
    """Claim TASK for yourself."""
    row = obj.engine.claim(task, user=user)
    obj.out(row, f"claimed {row.name} ({task}) for {user}")


@main.command()
@click.argument("task")
@click.option("--as", "user", required=True)
@click.pass_obj
def unclaim(obj: Context, task, user):
    """Give TASK back to its candidates."""
    row = obj.engine.unclaim(task, user=user)
    obj.out(row, f"released {row.name} ({task})")


@main.command()
@click.argument("task")
@click.option("--as", "user", required=True)
@click.option("--data", default=None, help="Form data, a JSON object.")
@click.pass_obj
def complete(obj: Context, task, user, data):
    """Complete TASK with DATA."""
    view = obj.engine.complete_task(task, user=user, data=_json_arg(data, "--data"))
    obj.out(view.to_dict(), _show_text)


@main.command()
@click.argument("instance")
@click.pass_obj
def show(obj: Context, instance):
    """Show an instance: status, version, active tasks, data."""
    obj.out(obj.engine.show(instance).to_dict(), _show_text)


@main.command()
@click.argument("instance")
@click.pass_obj
def events(obj: Context, instance):
    """Show an instance's history."""
    rows = obj.engine.events(instance)
    obj.out(rows, lambda rs: "\n".join(
        f"{r['seq']:>4}  {r['at']}  {r['type']:<18} {r['element_id'] or '':<20} {r['actor'] or ''}" for r in rs))


@main.command()
@click.option("--all", "show_all", is_flag=True, help="Include resolved incidents.")
@click.pass_obj
def incidents(obj: Context, show_all):
    """List instances in error, with the failing task, message and script line."""
    rows = obj.engine.incidents(open_only=not show_all)
    obj.out(rows, lambda rs: "\n".join(
        f"#{r['id']}  instance={r['instance_id']}  task={r['element_id']}"
        f"{' line ' + str(r['script_line']) if r['script_line'] else ''}: {r['message']}"
        + (f"  (resolved by {r['resolved_by']})" if r['resolved_at'] else "") for r in rs) or "no incidents")


@main.command()
@click.argument("instance")
@click.option("--as", "user", required=True)
@click.option("--data", default=None, help="Data to merge into the failed tasks' input, a JSON object.")
@click.pass_obj
def retry(obj: Context, instance, user, data):
    """Retry the failed tasks of INSTANCE, optionally with corrected DATA."""
    view = obj.engine.retry(instance, user=user, data=_json_arg(data, "--data"))
    obj.out(view.to_dict(), _show_text)


@main.group()
def timers():
    """Waiting timers."""


@timers.command("due")
@click.option("--limit", default=200, show_default=True)
@click.pass_obj
def timers_due(obj: Context, limit):
    """List waiting timers and when they fall due."""
    rows = obj.engine.waiting_timers(limit)
    now = obj.engine.clock.now()
    obj.out(rows, lambda rs: "\n".join(
        f"{_when(r['due_at'])}  {'DUE ' if r['due_at'] <= now else '    '}{r['element_id']:<24} "
        f"instance={r['instance_id']}" + (f"  leased by {r['lease_owner']}" if r['lease_owner'] else "")
        for r in rs) or "no waiting timers")


@timers.command("run-due")
@click.option("--owner", default=None, help="Name of this scheduler in leases (default host:pid).")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10000),
              help="Timers claimed and fired per transaction.")
@click.pass_obj
def timers_run_due(obj: Context, owner, batch):
    """Fire every timer that is due now, then exit."""
    from engine.deadlines.scheduler import TimerScheduler
    n = TimerScheduler(obj.engine, owner=owner, batch=batch).run_once()
    obj.out({"fired": n}, f"fired {n} timer(s)")


@main.command()
@click.option("--interval", default=1.0, show_default=True, help="Seconds between ticks.")
@click.option("--owner", default=None)
@click.option("--metrics-port", default=None, type=int, help="Serve this scheduler's Prometheus metrics on PORT.")
@click.pass_obj
def scheduler(obj: Context, interval, owner, metrics_port):
    """Run a standalone scheduler (any number may run against one database)."""
    from engine.deadlines.scheduler import TimerScheduler
    from engine.cli.ops import scheduler_observability
    scheduler_observability(obj.settings, metrics_port)
    click.echo(f"scheduler running every {interval}s; Ctrl-C to stop", err=True)
    from engine.bootstrap import scheduled_jobs
    TimerScheduler(obj.engine, owner=owner, interval=interval,
                   jobs=scheduled_jobs(obj.settings, obj.engine)).run_forever()


@main.command("sync-staff")
@click.pass_obj
def sync_staff_command(obj: Context):
    """Bring the staff up to date from the hospital's directory (QINGLIAN_LDAP_*), once."""
    from engine.signon.ldap import Directory
    from engine.signon.sync import sync_staff
    directory = Directory.from_settings(obj.settings)
    if directory is None:
        raise click.ClickException("QINGLIAN_LDAP_URL is not set: there is no directory to sync from")
    report = sync_staff(obj.engine, directory)
    obj.out(vars(report), f"created {report.created}, changed {report.changed}, deactivated {report.disabled}")


@main.group()
def clock():
    """The virtual clock of a drill (sandbox) database."""


@clock.command("show")
@click.pass_obj
def clock_show(obj: Context):
    from engine.deadlines import drills
    now = obj.engine.clock.now()
    kind = "virtual (sandbox)" if drills.is_sandbox(obj.engine.db) else "real"
    obj.out({"now": now.isoformat(), "clock": kind}, f"{now.isoformat()}  ({kind} clock)")


@clock.command("set")
@click.argument("when")
@click.pass_obj
def clock_set(obj: Context, when):
    """Set the drill clock to WHEN (ISO 8601 with offset, e.g. 2026-09-28T09:00:00+08:00)."""
    from datetime import datetime
    from engine.deadlines import drills
    now = drills.set_clock(obj.engine.db, _instant(when, "WHEN"))
    obj.out({"now": now.isoformat()}, f"clock set to {now.isoformat()}")


@clock.command("advance")
@click.argument("amount")
@click.pass_obj
def clock_advance(obj: Context, amount):
    """Move the drill clock forward by AMOUNT (3d, 12h, 30m, 45s)."""
    from engine.deadlines import drills
    now = drills.advance_clock(obj.engine.db, amount)
    obj.out({"now": now.isoformat()}, f"clock now {now.isoformat()}")


@main.group()
def calendar():
    """The working-day calendar: China's official one plus this hospital's overrides."""


@calendar.command("show")
@click.argument("start")
@click.argument("days", type=int, default=14)
@click.pass_obj
def calendar_show(obj: Context, start, days):
    """Describe DAYS days from START (YYYY-MM-DD)."""
    from datetime import timedelta
    day = _date_arg(start, "START")
    cal = obj.engine.deadlines.calendar()
    rows = [{"day": (day + timedelta(d)).isoformat(), "working": cal.is_working_day(day + timedelta(d)),
             "what": cal.describe(day + timedelta(d))} for d in range(days)]
    obj.out(rows, lambda rs: "\n".join(f"{r['day']}  {'工作日' if r['working'] else '休息日'}  {r['what']}" for r in rs))


@calendar.command("override")
@click.argument("day")
@click.option("--working/--closed", required=True, help="An extra working day, or a closure day.")
@click.option("--note", default=None)
@click.option("--as", "user", required=True)
@click.pass_obj
def calendar_override(obj: Context, day, working, note, user):
    """Override the official calendar for DAY (YYYY-MM-DD)."""
    from engine.deadlines import calendar_admin
    calendar_admin.set_override(obj.engine, _date_arg(day, "DAY"), working, note, user)
    n = calendar_admin.refresh(obj.engine, only_provisional=False)
    obj.out({"day": day, "working": working, "recomputed": n},
            f"{day} is now {'a working day' if working else 'closed'}; {n} deadline(s) recomputed")


@calendar.command("remove")
@click.argument("day")
@click.option("--as", "user", required=True)
@click.pass_obj
def calendar_remove(obj: Context, day, user):
    """Remove the override of DAY."""
    from engine.deadlines import calendar_admin
    if not calendar_admin.remove_override(obj.engine, _date_arg(day, "DAY"), user):
        raise click.BadParameter(f"there is no override on {day}", param_hint="DAY")
    n = calendar_admin.refresh(obj.engine, only_provisional=False)
    obj.out({"day": day, "recomputed": n}, f"override of {day} removed; {n} deadline(s) recomputed")


@calendar.command("overrides")
@click.pass_obj
def calendar_overrides(obj: Context):
    """List the overrides."""
    from engine.deadlines import calendar_admin
    rows = calendar_admin.overrides(obj.engine)
    obj.out(rows, lambda rs: "\n".join(f"{r['day']}  {'working' if r['working'] else 'closed'}  "
                                       f"{r['note'] or ''}  ({r['created_by']})" for r in rs) or "no overrides")


@calendar.command("refresh")
@click.pass_obj
def calendar_refresh(obj: Context):
    """Recompute provisional deadlines now that the official calendar may know their year."""
    from engine.deadlines import calendar_admin
    n = calendar_admin.refresh(obj.engine)
    obj.out({"recomputed": n}, f"{n} provisional deadline(s) recomputed")


@main.command()
@click.option("--user", required=True)
@click.option("--role", "roles", multiple=True, help="A role the user holds (repeatable).")
@click.option("--department", default=None)
@click.pass_obj
def notifications(obj: Context, user, roles, department):
    """List a person's notifications (reminders, escalations)."""
    from engine.deadlines import notifications as notes
    rows = notes.for_user(obj.engine.db, user, list(roles), department)
    unread = notes.unread_count(obj.engine.db, user, list(roles), department)
    obj.out({"unread": unread, "notifications": rows}, lambda d: f"{d['unread']} unread\n" + "\n".join(
        f"{'  ' if r['read'] else '* '}{r['created_at']:%Y-%m-%d %H:%M}  {r['title']}" for r in d["notifications"]))


def _date_arg(text: str, name: str):
    from datetime import date
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("not a date, write YYYY-MM-DD", param_hint=name) from None


def _when(value) -> str:
    """A moment as a Chinese reader writes it: Beijing time, a deadline at midnight as 24:00."""
    from datetime import datetime, timedelta
    from engine.deadlines.workdays import BEIJING
    if not value:
        return "-"
    moment = (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(BEIJING)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{moment - timedelta(days=1):%Y年%m月%d日} 24:00"
    return f"{moment:%Y年%m月%d日 %H:%M}"


def _show_text(v: dict) -> str:
    lines = [f"instance {v['id']}  {v['process_key']} v{v['version']}  status: {v['status']}",
             f"started by {v['started_by']} at {_when(v['started_at'])}"
             + (f", ended {_when(v['ended_at'])}" if v['ended_at'] else "")]
    if v.get("business_key"):
        lines.append(f"business key: {v['business_key']}")
    for t in v["tasks"]:
        lines.append(f"  task {t['id']}  {t['name']}  role={t['candidate_role'] or '-'}  "
                     f"assignee={t['assignee'] or '-'}  due={_when(t['due_at'])}"
                     + ("（暂定 provisional）" if t.get("due_provisional") else ""))
    for w in v["waiting"]:
        lines.append(f"  {w['state'].lower()}: {w['element_id']}")
    for i in v["incidents"]:
        lines.append(f"  INCIDENT at {i['element_id']}{' line ' + str(i['script_line']) if i['script_line'] else ''}: {i['message']}")
    lines.append("data: " + json.dumps(v["data"], ensure_ascii=False, default=str))
    return "\n".join(lines)


from engine.cli.audit import audit as _audit  # noqa: E402  (the audit group lives in its own module)
main.add_command(_audit)
from engine.cli.ops import backup_cmd as _backup, restore_cmd as _restore  # noqa: E402
main.add_command(_backup)
main.add_command(_restore)
from engine.cli import approval as _approval  # noqa: E402
main.add_command(_approval.send_back_cmd)
main.add_command(_approval.withdraw_cmd)
main.add_command(_approval.urge_cmd)
main.add_command(_approval.copy_cmd)
main.add_command(_approval.add_signer_cmd)
main.add_command(_approval.sign_cmd)
main.add_command(_approval.bulk_cmd)

if __name__ == "__main__":
    main()
