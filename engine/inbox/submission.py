"""Submitting a form: a task's, from the task page or the API alike (save it as a draft, or complete
the task with it), or a process's start form.

A completion is one transaction: who may work the task and the form (its lookups — staff,
departments, the instance's attachments) are checked first in it, then its new files are stored,
the task is completed and the person's draft discarded. A refused completion (a completion guard,
a conflict, a failing commit) leaves no file behind and the draft as it was.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import sqlalchemy as sa

from engine.db.schema import attachment, department, staff
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Conflict, Invalid, NotFound
from engine.forms import AttachmentMeta, Submission, validate_submission
from engine.inbox import attachments, drafts
from engine.org.people import Principal
from engine.permissions import can_start, can_view, can_work, is_recused, require, require_work
from engine.runtime import signatures
from engine.runtime.door import DoorReads
from engine.runtime.views import HumanTask

COMPLETE, SAVE_DRAFT, RESOLVE = "complete", "save_draft", "resolve"


class FormRejected(Invalid):
    """The form has fields at fault; `.submission` holds what was typed and each field's message,
    to show the form again."""

    def __init__(self, submission: Submission):
        invalid = submission.to_invalid()
        super().__init__(invalid.message, invalid.problems)
        self.submission = submission


@dataclass(frozen=True)
class Submitted:
    task: HumanTask                  # the task as it was submitted
    instance: object | None     # the instance after the completion (InstanceView); None for a draft


class FormLookups:
    """A form's lookups over one connection, opened at the first lookup (`reads`), so that a form
    that asks none costs no round trip."""

    def __init__(self, reads: "_Reads", instance_id: str):
        self.reads, self.instance_id = reads, instance_id

    def _first(self, query):
        return self.reads.conn.execute(query).first()

    def _one(self, query) -> bool:
        return self._first(query) is not None

    def is_person(self, username: str) -> bool:
        return self._one(sa.select(staff.c.username).where(staff.c.username == str(username), staff.c.active))

    def is_department(self, code: str) -> bool:
        return self._one(sa.select(department.c.code).where(department.c.code == str(code), department.c.active))

    def attachment(self, ref: str) -> AttachmentMeta | None:
        try:
            attachment_id = int(ref)
        except (TypeError, ValueError):
            return None
        row = self._first(
            sa.select(attachment.c.id, attachment.c.filename, attachment.c.content_type, attachment.c.size)
            .where(attachment.c.id == attachment_id, attachment.c.instance_id == self.instance_id))
        return AttachmentMeta(str(row.id), row.filename, row.content_type, row.size) if row else None


class _Reads:
    """One read transaction, begun when first needed (or a connection the caller already holds)."""

    def __init__(self, db, stack: contextlib.ExitStack, conn=None):
        self.db, self.stack, self._conn = db, stack, conn

    @property
    def conn(self):
        if self._conn is None:
            self._conn = self.stack.enter_context(read_transaction(self.db))
        return self._conn


@contextlib.contextmanager
def lookups(db, instance_id: str = "", conn=None):
    """`FormLookups` for a form of `instance_id` (none: a form that starts something), over `conn`
    or one read of their own, closed on leaving."""
    with contextlib.ExitStack() as stack:
        yield FormLookups(_Reads(db, stack, conn), instance_id)


def validate(definition: dict | None, raw, files, found: FormLookups, roles=None) -> Submission:
    """An HTML post (with `getlist`, and its files) or an API body's `data` against the form, from a
    person holding `roles` (a field meant for other roles refuses a value).
    A task without a form takes nothing: a post's fields are ignored, an API body must be empty."""
    if definition is None:
        if not hasattr(raw, "getlist") and raw not in (None, {}):
            return Submission({}, {}, {"_form": "此任务没有表单，不接受数据"}, {})
        return Submission({}, {}, {}, {})
    return validate_submission(definition, raw if raw is not None else {}, lookups=found, files=files,
                               roles=roles)


def submit(engine, principal: Principal, task_id: str, raw, files=None, *, action: str = COMPLETE,
           note: str | None = None) -> Submitted:
    """Save the form as the person's draft of the task, complete the task with it, or (a delegate)
    resolve the task with it and hand it back to its owner.

    `raw`: an HTML post (werkzeug MultiDict, with `files`) or an API body's `data`; `note`: the
    delegate's note when resolving (an HTML post carries it as its field `note`). NotFound if
    there is no such task, Forbidden if the person may not see or work it, a Conflict if it is no
    longer theirs to complete, `FormRejected` naming each field at fault."""
    if action not in (COMPLETE, SAVE_DRAFT, RESOLVE):
        raise ValueError(action)
    if action == COMPLETE:
        return _complete(engine, principal, task_id, raw, files)
    with read_transaction(engine.db) as conn:      # every check's reads in one transaction
        task = engine.task(task_id, conn)
        _may_work(engine, conn, principal, task)
    definition = engine.forms.for_task(task)
    if action == SAVE_DRAFT:
        _save_draft(engine, principal, task, definition, raw)
        return Submitted(task, None)
    if action == RESOLVE:       # a delegate hands the task back: what they filled in goes with it
        with lookups(engine.db, task.instance_id) as found:
            checked = validate(definition, raw, None, found, principal.roles)
        if "_form" in checked.errors:      # data for a task without a form
            raise FormRejected(checked)
        values = checked.values
        if note is None:
            note = raw.get("note", "") if hasattr(raw, "getlist") else ""
        return Submitted(engine.resolve(task.id, user=principal.username, data=values, note=note), None)


def _may_work(engine, conn, principal: Principal, task: HumanTask, *, reads: DoorReads | None = None) -> None:
    """The person may see and work the task now. `reads`: a completion's (`door.DoorReads`), which
    also refuses it while an added signature is pending."""
    recused = (reads.exclusions.excludes(principal) if reads is not None
               else is_recused(conn, principal, task.instance_id))
    if recused:      # 回避: as if there were no such task
        raise NotFound(f"task {task.id} not found", field="task_id")
    require(can_view(principal, task), "你无权查看此任务")
    require_work(principal, task)
    if reads is not None:      # 加签: the engine's own check, asked here ahead of the form's
        signatures.refuse_while_pending(reads.pending_signers)


def _save_draft(engine, principal: Principal, task: HumanTask, definition: dict | None, raw) -> None:
    """What the user typed, valid or not (files are not kept in a draft), in one write."""
    with write_transaction(engine.db) as conn:
        values = {}
        if definition is not None:
            with lookups(engine.db, task.instance_id, conn) as found:
                values = validate_submission(definition, raw, lookups=found).values
        drafts.save(conn, task.id, principal.username, values, engine.clock.now())


def _complete(engine, principal: Principal, task_id: str, raw, files) -> Submitted:
    """Every check (who may, the form and its lookups) in the completion's own transaction, ahead
    of the engine's checks: one transaction a completion."""
    checked: dict = {}

    def check(conn, task: HumanTask, reads: DoorReads) -> dict:
        _may_work(engine, conn, principal, task, reads=reads)
        checked["task"] = task
        if "submission" not in checked:      # once (a retry under the lock finds the files read)
            checked["definition"] = definition = engine.forms.for_task(task, conn)
            with lookups(engine.db, task.instance_id, conn) as found:
                checked["submission"] = validate(definition, raw, files, found, principal.roles)
        submission = checked["submission"]
        if submission.errors:
            raise FormRejected(submission)
        return submission.data

    def store_files(conn, instance_id) -> dict | None:
        """In the completion's transaction, before the task runs: the files stored, their ids
        in the form data."""
        submission = checked["submission"]
        uploads = [(name, upload) for name, each in submission.files.items() for upload in each]
        if not uploads:
            return None
        now, names = engine.clock.now(), {}
        for name, upload in uploads:
            stored = attachments.store(conn, instance_id=instance_id, task_id=task_id, filename=upload.filename,
                                       data=upload.data, user=principal.username, now=now, field=name)
            names.setdefault(name, []).append(str(stored["id"]))
        return submission.data_with_uploads(names)

    try:
        view = engine.complete_task(task_id, user=principal.username, check=check, prepare=store_files,
                                    also=[drafts.discarding(task_id)])
    except FormRejected:
        raise
    except Invalid as exc:      # a completion guard or a refused file: the form again, with the reason
        if "submission" not in checked:          # refused before the form was read (not a form's refusal)
            raise
        raise FormRejected(Submission({}, {}, refusal_errors(exc, checked["definition"]),
                                      checked["submission"].values)) from exc
    return Submitted(checked["task"], view)


def refusal_errors(exc: Invalid, definition: dict | None) -> dict[str, str]:
    """An engine refusal as the form's field errors: each problem next to its field when the form has
    it, the rest (and a refusal naming no field) on the form as a whole."""
    fields = set((definition or {}).get("schema", {}).get("properties", {}))
    errors: dict[str, str] = {}
    for p in exc.problems:
        key = p.field if p.field and p.field.split("[")[0].split(".")[0] in fields else "_form"
        errors[key] = f"{errors[key]}；{p.message}" if key in errors and errors[key] != p.message else p.message
    return errors or {"_form": exc.message}


@dataclass(frozen=True)
class Started:
    instance: object                # InstanceView
    first_task: HumanTask | None         # the first of its tasks the starter may work, to go on with


def start(engine, principal: Principal, process_key: str, raw, *, business_key: str | None = None,
          refused: dict[str, str] | None = None) -> Started:
    """Start the latest version of a process `principal` may start, with its start form's data (files
    are not taken here: they go with the first task). `refused`: what the caller found wrong with the
    request itself, shown with the form's own errors; `FormRejected` if there is any, or if the
    process's own checks (a service task) refuse the data. Checked like `start_with_data`: against
    the latest version this node knows, verified by the start's write."""
    return _checked(lambda: _start(engine, principal, process_key, raw, business_key, refused), process_key)


def _checked(attempt, process_key: str):
    """`attempt()`, again while a version deployed meanwhile (on another node) makes the checks it
    made stale: they are then made against the new version."""
    from engine.runtime.instances import StaleVersion
    for n in range(3):
        try:
            return attempt()
        except StaleVersion:
            if n == 2:
                raise Conflict("此流程正在发布新版本，请稍后重试", field="process_key") from None


def _start(engine, principal: Principal, process_key: str, raw, business_key, refused) -> Started:
    info = engine.process_info(process_key)
    require(can_start(principal, info), "你无权发起此流程")
    definition = engine.forms.for_start(info.start_form) if info.start_form else None
    errors, values, data = dict(refused or {}), {}, {}
    if definition is not None:
        with lookups(engine.db) as found:
            checked = validate_submission(definition, raw, lookups=found, files=None, roles=principal.roles)
        values = checked.values
        errors.update(checked.errors)
        if checked.ok:
            data = checked.data
    if errors:
        raise FormRejected(Submission({}, {}, errors, values))
    try:
        view = engine.start(process_key, started_by=principal.username,
                            business_key=business_key or data.get("name") or None, data=data, checked=info.version)
    except Invalid as exc:
        errors = {p.field or "_form": p.message for p in exc.problems} or {"_form": exc.message}
        raise FormRejected(Submission({}, {}, errors, values)) from exc
    mine = [t for t in view.tasks if can_work(principal, t)]
    return Started(view, mine[0] if mine else None)


def start_with_data(engine, principal: Principal, process_key: str, *, version: int | None = None,
                    business_key: str | None = None, data: dict | None = None):
    """Start an instance with data as given (the API's start, for callers its role group admits),
    checked by the latest version's start form like the page's start (`FormRejected` naming each
    field). A confidential process only by the roles its `startableBy` names: its dedicated page keeps
    what is confidential out of the workflow data.

    The checks are those of the latest version as this node knows it (no query); the start's write
    verifies it is still the latest, else the start is checked again against the new one."""
    return _checked(lambda: _start_with_data(engine, principal, process_key, version, business_key, data),
                    process_key)


def _start_with_data(engine, principal: Principal, process_key: str, version, business_key, data):
    info = engine.process_info(process_key)
    require(info.confidential is None or can_start(principal, info), "此流程含保密信息，只能通过其专用页面发起")
    definition = engine.forms.for_start(info.start_form) if info.start_form else None
    if definition is not None:      # the start form's checks, as on the page; other keys pass as given
        with lookups(engine.db) as found:
            own = set(definition.get("schema", {}).get("properties", {}))
            given = {k: v for k, v in data.items() if k in own} if isinstance(data, dict) else data
            checked = validate_submission(definition, given if given is not None else {}, lookups=found,
                                          files=None, roles=principal.roles)
        if not checked.ok:
            raise FormRejected(checked)
        data = {**(data or {}), **checked.data}
    return engine.start(process_key, started_by=principal.username, version=version, business_key=business_key,
                        data=data, checked=info.version if version is None else None)
