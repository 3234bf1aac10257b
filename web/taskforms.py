"""Between the task page (or the API) and the form engine: validate a submission against the
task's form with lookups over the database, and store its uploaded files as attachments."""
from __future__ import annotations

import sqlalchemy as sa

from engine.inbox import attachments
from engine.db.transactions import read_transaction, write_transaction
from engine.forms import AttachmentMeta, Submission, validate_submission
from engine.db.schema import attachment, department, staff


class DbLookups:
    """Staff, departments and the attachments of one instance, read in one short transaction."""

    def __init__(self, db, instance_id: str):
        self.db, self.instance_id = db, instance_id

    def _one(self, query) -> bool:
        with read_transaction(self.db) as conn:
            return conn.execute(query).first() is not None

    def is_person(self, username: str) -> bool:
        return self._one(sa.select(staff.c.username).where(staff.c.username == str(username), staff.c.active))

    def is_department(self, code: str) -> bool:
        return self._one(sa.select(department.c.code).where(department.c.code == str(code), department.c.active))

    def attachment(self, ref: str) -> AttachmentMeta | None:
        try:
            attachment_id = int(ref)
        except (TypeError, ValueError):
            return None
        with read_transaction(self.db) as conn:
            row = conn.execute(sa.select(attachment.c.id, attachment.c.filename, attachment.c.content_type,
                                         attachment.c.size)
                               .where(attachment.c.id == attachment_id,
                                      attachment.c.instance_id == self.instance_id)).one_or_none()
        return AttachmentMeta(str(row.id), row.filename, row.content_type, row.size) if row else None


class _NoForm(Submission):
    def __init__(self, data: dict | None = None, errors: dict | None = None):
        super().__init__(data or {}, {}, errors or {}, {})


def validate(eng, definition: dict | None, form, files, task: dict) -> Submission:
    """An HTML post (werkzeug MultiDict and FileStorage map)."""
    if definition is None:
        return _NoForm()
    return validate_submission(definition, form, lookups=DbLookups(eng.db, task["instance_id"]), files=files)


def validate_json(eng, definition: dict | None, data, task: dict) -> Submission:
    """A REST API body's `data` object."""
    if definition is None:
        if data in (None, {}):
            return _NoForm()
        return _NoForm(errors={"_form": "此任务没有表单，不接受数据"})
    return validate_submission(definition, data if data is not None else {},
                               lookups=DbLookups(eng.db, task["instance_id"]))


def raw_values(eng, definition: dict | None, form, task: dict) -> dict:
    """What the user typed, valid or not, for a draft."""
    if definition is None:
        return {}
    return validate_submission(definition, form, lookups=DbLookups(eng.db, task["instance_id"])).values


def store_files(eng, task: dict, submission: Submission, user: str) -> dict:
    """Store the submission's new uploads; returns the data to complete the task with."""
    stored: dict[str, list[str]] = {}
    uploads = submission.files
    if not uploads:
        return submission.data
    with write_transaction(eng.db) as conn:
        for name, files in uploads.items():
            stored[name] = [str(attachments.store(conn, instance_id=task["instance_id"], task_id=task["id"],
                                                  filename=f.filename, data=f.data, user=user,
                                                  now=eng.clock.now(), field=name)["id"]) for f in files]
    submission.stored_ids = [int(i) for ids in stored.values() for i in ids]
    return submission.data_with_uploads(stored)


def discard_files(eng, submission: Submission) -> None:
    """Undo `store_files` when the completion it served failed: nothing half-applied."""
    ids = getattr(submission, "stored_ids", None)
    if ids:
        with write_transaction(eng.db) as conn:
            conn.execute(attachment.delete().where(attachment.c.id.in_(ids)))
