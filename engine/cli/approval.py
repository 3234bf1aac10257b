"""`qinglian send-back`, `qinglian withdraw`: the approval operations from the command line (an
operator acting as a named person, as `claim` and `complete` do)."""
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
