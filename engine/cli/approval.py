"""`qinglian send-back`, `withdraw`, `urge`, `copy`, `add-signer`, `sign`, `bulk`: the approval
operations from the command line (an operator acting as a named person, as `claim` and `complete`
do), each one call of the service the page and the API call."""
from __future__ import annotations

import click


def _show(view) -> str:
    active = ", ".join(f"{t['element_id']} ({t['id']}{', ' + t['assignee'] if t.get('assignee') else ''})"
                       for t in view["tasks"]) or "-"
    return f"{view['id']}  {view['status']}  active: {active}"


@click.command("send-back")
@click.argument("task")
@click.option("--as", "user", required=True)
@click.option("--reason", required=True, help="Why (kept in the history, shown to the earlier performer).")
@click.option("--to", "to", default=None, help="Element id of the earlier user task (default: the nearest allowed).")
@click.pass_obj
def send_back_cmd(obj, task, user, reason, to):
    """Send TASK back to an earlier user task (退回)."""
    view = obj.engine.send_back(task, user=user, reason=reason, to=to)
    obj.out(view.to_dict(), _show)


@click.command("withdraw")
@click.argument("task")
@click.option("--as", "user", required=True)
@click.option("--reason", default="", help="Why (kept in the history).")
@click.pass_obj
def withdraw_cmd(obj, task, user, reason):
    """Take back TASK, which you completed, while the next step is untouched (撤回)."""
    view = obj.engine.withdraw(task, user=user, reason=reason)
    obj.out(view.to_dict(), _show)


def _person(obj, username: str):
    from engine.db.transactions import read_transaction
    from engine.errors import NotFound
    from engine.org.people import principal
    with read_transaction(obj.engine.db) as conn:
        found = principal(conn, username)
    if found is None:
        raise NotFound(f"no active staff member {username}", field="as")
    return found


@click.command("urge")
@click.argument("task")
@click.option("--as", "user", required=True, help="The discipline office or the department's head.")
@click.option("--message", default="", help="Shown to the holder (default: 请尽快办理).")
@click.pass_obj
def urge_cmd(obj, task, user, message):
    """Urge the holder of TASK (催办)."""
    from engine.inbox import urging
    row = urging.urge(obj.engine, _person(obj, user), task, message)
    obj.out(row, f"urged {row['name']} ({task}): {row['urges']} time(s)")


@click.command("copy")
@click.argument("task")
@click.option("--as", "user", required=True)
@click.option("--to", "to", multiple=True, required=True, help="A colleague's username (repeat for several).")
@click.option("--message", default="")
@click.pass_obj
def copy_cmd(obj, task, user, to, message):
    """Copy TASK read-only to colleagues (抄送)."""
    from engine.inbox import copies
    rows = copies.copy(obj.engine, _person(obj, user), task, list(to), message)
    obj.out(rows, "\n".join(f"{r['recipient']}: {'read ' + str(r['read_at']) if r['read_at'] else 'unread'}"
                            for r in rows))


def _signers(result: dict) -> str:
    return "\n".join(f"{s['id']}  {s['signer']}  {s['position']}  {s['status']}"
                     f"{'  ' + s['opinion'] if s.get('opinion') else ''}" for s in result["signers"]) or "-"


@click.command("add-signer")
@click.argument("task")
@click.option("--as", "user", required=True, help="Who works TASK.")
@click.option("--signer", required=True, help="The colleague's username (among the step's addSignerCandidates).")
@click.option("--position", type=click.Choice(["before", "after"]), required=True,
              help="before (前加签): they sign first; after (后加签): --data waits for their agreement.")
@click.option("--reason", required=True)
@click.option("--data", default=None, help="For --position after: the task's form data as JSON.")
@click.pass_obj
def add_signer_cmd(obj, task, user, signer, position, reason, data):
    """Add a signer to TASK, before or after its holder (加签)."""
    from engine.cli.main import _json_arg
    from engine.inbox import signers
    result = signers.add(obj.engine, _person(obj, user), task, signer, position, reason,
                         raw=_json_arg(data, "--data") or {})
    obj.out(result, _signers)


@click.command("sign")
@click.argument("signature", type=int)
@click.option("--as", "user", required=True, help="The colleague asked to sign.")
@click.option("--agree/--disagree", required=True)
@click.option("--opinion", default="", help="Required with --disagree.")
@click.pass_obj
def sign_cmd(obj, signature, user, agree, opinion):
    """Sign SIGNATURE (an added signer's request; `add-signer` prints its id)."""
    from engine.inbox import signers
    obj.out(signers.sign(obj.engine, _person(obj, user), signature, agree, opinion), _signers)


@click.command("bulk")
@click.argument("action", type=click.Choice(["claim", "release", "complete"]))
@click.argument("tasks", nargs=-1, required=True)
@click.option("--as", "user", required=True)
@click.pass_obj
def bulk_cmd(obj, action, tasks, user):
    """Claim, release or complete TASKS, each on its own; one line per task (exit 3 if any failed)."""
    from engine.inbox import bulk
    results = [r.to_dict() for r in bulk.run(obj.engine, _person(obj, user), action, list(tasks))]
    obj.out(results, "\n".join(f"{r['task_id']}  {'ok' if r['ok'] else 'refused: ' + r['message']}"
                                 f"{'  ' + r['name'] if r.get('name') else ''}" for r in results))
    if not all(r["ok"] for r in results):
        raise SystemExit(3)
