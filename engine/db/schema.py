"""The tables. SQLAlchemy Core, not ORM: the engine's hot paths are a handful of statements each.

Alembic migrations in `migrations/` create these; `metadata` is what they are checked against.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
})


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is timezone.utc:
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):
            # process_bind_param, then SQLAlchemy's SQLite format, in one step (a hot path: every
            # task and event row carries several of these)
            return None if value is None else _as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")
        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


ID = sa.String(36)

role = sa.Table(
    "role", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name_zh", sa.String(64), nullable=False),
    sa.Column("name_en", sa.String(64), nullable=False),
)

process_version = sa.Table(
    "process_version", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("process_key", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("bpmn_xml", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("meta_json", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("deployed_by", sa.String(64), nullable=False),
    sa.Column("deployed_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("process_key", "version"),
    sa.Index("ix_process_version_key_sha", "process_key", "sha256"),
)

# A deployed DMN decision (决策表), immutable like a process version; business rule tasks name it by key
# and a process version embeds the decision's latest version at its own deploy.
decision_version = sa.Table(
    "decision_version", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_key", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("dmn_xml", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("hit_policy", sa.String(16), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("deployed_by", sa.String(64), nullable=False),
    sa.Column("deployed_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("decision_key", "version"),
)

process_instance = sa.Table(
    "process_instance", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("process_version_id", sa.Integer, sa.ForeignKey("process_version.id"), nullable=False),
    sa.Column("process_key", sa.String(255), nullable=False),
    sa.Column("business_key", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
    sa.Column("event_head", sa.String(64), nullable=False),
    sa.Column("workflow_json", sa.Text, nullable=False),
    # The instance whose service task started this one (a campaign's department work), if any.
    sa.Column("parent_id", ID),
    sa.Index("ix_process_instance_status", "status"),
    sa.Index("ix_process_instance_parent", "parent_id", "process_key"),
    sa.Index("ix_process_instance_key", "process_key", "status"),
    sa.Index("ix_process_instance_business_key", "business_key"),
)

# One row per definite SpiffWorkflow task (predicted MAYBE/LIKELY/FUTURE tasks are never stored).
instance_task = sa.Table(
    "instance_task", metadata,
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), primary_key=True),
    sa.Column("id", ID, primary_key=True),
    sa.Column("workflow_id", ID),
    sa.Column("parent_id", ID),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("state", sa.Integer, nullable=False),
    sa.Column("spec_name", sa.String(255), nullable=False),
    sa.Column("props_json", sa.Text, nullable=False),
    sa.Column("data_json", sa.Text, nullable=False),
)

human_task = sa.Table(
    "human_task", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("process_key", sa.String(255), nullable=False),
    sa.Column("element_id", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255)),
    sa.Column("lane", sa.String(255)),
    sa.Column("candidate_role", sa.String(64)),
    sa.Column("candidate_department", sa.String(64)),
    # the one person who may take up a task that has no candidate role: a task in no lane goes to
    # the instance's starter (docs/bpmn-support.md)
    sa.Column("candidate_user", sa.String(64)),
    sa.Column("assignee", sa.String(64)),
    sa.Column("form_key", sa.String(255)),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime),
    sa.Column("due_rule", sa.String(255)),
    sa.Column("due_provisional", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("remind_at", UTCDateTime),
    sa.Column("reminded_at", UTCDateTime),
    sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_escalation_at", UTCDateTime),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("completed_by", sa.String(64)),
    sa.Column("completed_at", UTCDateTime),
    # Roles that may see a task of a confidential process (comma-separated), else NULL.
    sa.Column("confidential", sa.String(255)),
    # A delegated task (Camunda's delegation): the person it returns to once the delegate resolves it,
    # and the delegation's state ('pending' while with the delegate, 'resolved' once back), else NULL.
    sa.Column("owner", sa.String(64)),
    sa.Column("delegation", sa.String(16)),
    sa.Index("ix_human_task_instance", "instance_id"),
)

# The inbox's and the scheduler's indexes are partial: each holds only the rows its queries look
# for (open tasks, tasks someone holds, alerts still to send), so a task closing or an alert sent
# leaves them rather than moving inside them (fewer pages written per completion), and they stay
# the size of the open work, not of the history. A query uses a partial index only when its WHERE
# clause repeats the index's condition word for word, with literals rather than parameters: the
# queries use the clauses below (`TASK_OPEN`, `REMIND_PENDING`, `ESCALATION_PENDING`).
_h = human_task.c
TASK_OPEN = _h.status == sa.literal_column("'open'")
REMIND_PENDING = sa.and_(TASK_OPEN, _h.reminded_at.is_(None))
ESCALATION_PENDING = sa.and_(TASK_OPEN, _h.escalation_level < sa.literal_column("2"))


def _partial(name: str, *columns, where) -> sa.Index:
    return sa.Index(name, *columns, sqlite_where=where, postgresql_where=where)


# the department first: a list looks up (department, role) pairs, (no department, role) and, for a
# department's head, the department alone (engine/inbox/lists.py)
_partial("ix_human_task_open_inbox", _h.candidate_department, _h.candidate_role, where=TASK_OPEN)
_partial("ix_human_task_open_candidate_user", _h.candidate_user, where=sa.and_(TASK_OPEN, _h.candidate_user.is_not(None)))
_partial("ix_human_task_held", _h.assignee, _h.status, where=_h.assignee.is_not(None))
_partial("ix_human_task_done", _h.completed_by, _h.completed_at, where=_h.completed_by.is_not(None))
_partial("ix_human_task_open_due", _h.due_at, where=sa.and_(TASK_OPEN, _h.due_at.is_not(None)))
_partial("ix_human_task_remind", _h.remind_at, where=sa.and_(REMIND_PENDING, _h.remind_at.is_not(None)))
_partial("ix_human_task_escalate", _h.next_escalation_at,
         where=sa.and_(ESCALATION_PENDING, _h.next_escalation_at.is_not(None)))

# Waiting timers, indexed by due time, written in the same transaction as the instance.
timer = sa.Table(
    "timer", metadata,
    sa.Column("task_id", ID, primary_key=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("element_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("armed_at", UTCDateTime),
    sa.Column("rule", sa.String(255)),           # a calendar rule (working_days(n), monthly(d)) to recompute
    sa.Column("provisional", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", UTCDateTime),
    sa.Index("ix_timer_due", "due_at"),
    sa.Index("ix_timer_instance", "instance_id"),
)

incident = sa.Table(
    "incident", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("task_id", ID),
    sa.Column("element_id", sa.String(255)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("script_line", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("resolved_by", sa.String(64)),
    sa.Index("ix_incident_open", "resolved_at"),
    sa.Index("ix_incident_instance", "instance_id"),
)

# Append-only history. Each row carries the hash of the previous row of its chain (an instance's
# chain, or the 'registry' chain for deployments) and of its own content.
event = sa.Table(
    "event", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chain", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("instance_id", ID),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64)),
    sa.Column("task_id", ID),
    sa.Column("element_id", sa.String(255)),
    sa.Column("data_json", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # The algorithm of `hash` (NULL: SHA-256; "sm3": 国密 SM3, QINGLIAN_HASH) and, on the last event of a
    # write, the digest of the instance's stored state it seals (engine.history.state_digest).
    sa.Column("hash_alg", sa.String(8)),
    sa.Column("state_hash", sa.String(64)),
    # An instance's events are its chain (chain = instance_id): queries find them by chain.
    sa.UniqueConstraint("chain", "seq"),
)

chain_head = sa.Table(
    "chain_head", metadata,
    sa.Column("chain", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Key/value settings of this database: whether it is a sandbox (drills), its virtual clock.
setting = sa.Table(
    "setting", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Administrator overrides of the official working-day calendar (a closure day, an extra working day).
calendar_override = sa.Table(
    "calendar_override", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("working", sa.Boolean, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# In-app notifications (reminders, escalations), to a user or to a role (optionally in a department).
notification = sa.Table(
    "notification", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("recipient_user", sa.String(64)),
    sa.Column("recipient_role", sa.String(64)),
    sa.Column("recipient_department", sa.String(64)),
    sa.Column("instance_id", ID),
    sa.Column("task_id", ID),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("emailed_at", UTCDateTime),
    # Where it leads, when not to its task's page (a copy, the signatures asked of one, a result).
    sa.Column("link", sa.Text),
    # Its messages to each person's channels (message_outbox) are written by the scheduler's tick
    # (`engine.messages.outbox.fan_out`), not by the operation that raised it: who it reaches, on which
    # channel and after which quiet hours is read then, off the operation. Until then NULL.
    sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),   # its messages say only 您有一项待办
    sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),         # they ignore quiet hours
    sa.Column("fanned_out_at", UTCDateTime),
)
# A new task's notification is only the parent of its channel messages: the inbox lists the task, the
# bell (`engine.deadlines.notifications`) leaves it out. There is one per task ever opened, so the
# bell's indexes hold only the other kinds (as the inbox's hold only open tasks, see above): a page's
# bell count reads the person's notifications, not every task their role was ever offered.
NEW_TASK_KIND = "task_ready"
ON_THE_BELL = notification.c.kind != sa.literal_column(f"'{NEW_TASK_KIND}'")
sa.Index("ix_notification_bell_user", notification.c.recipient_user,
         sqlite_where=ON_THE_BELL, postgresql_where=ON_THE_BELL)
sa.Index("ix_notification_bell_role", notification.c.recipient_role, notification.c.recipient_department,
         sqlite_where=ON_THE_BELL, postgresql_where=ON_THE_BELL)
# The notifications whose messages are still to be written (a handful at any moment).
TO_FAN_OUT = notification.c.fanned_out_at.is_(None)
sa.Index("ix_notification_to_fan_out", notification.c.id, sqlite_where=TO_FAN_OUT, postgresql_where=TO_FAN_OUT)

notification_read = sa.Table(
    "notification_read", metadata,
    sa.Column("notification_id", sa.Integer, sa.ForeignKey("notification.id"), primary_key=True),
    sa.Column("user", sa.String(64), primary_key=True),
    sa.Column("read_at", UTCDateTime, nullable=False),
)

# Processes started once per period by a timer start event (e.g. `monthly(12)`): the next moment due.
process_schedule = sa.Table(
    "process_schedule", metadata,
    sa.Column("process_key", sa.String(255), primary_key=True),
    sa.Column("element_id", sa.String(255), nullable=False),
    sa.Column("rule", sa.String(255), nullable=False),
    sa.Column("next_at", UTCDateTime, nullable=False),
)

# Scheduler processes report here, so operators (and /readyz) can see they are alive.
scheduler_heartbeat = sa.Table(
    "scheduler_heartbeat", metadata,
    sa.Column("owner", sa.String(128), primary_key=True),
    sa.Column("beat_at", UTCDateTime, nullable=False),
    sa.Column("fired_total", sa.Integer, nullable=False),
)


# --- Organisation and accounts -------------------------------------------------------------------
# 科室 departments, by category: administrative (职能), clinical (临床), medical-technical (医技).
DEPARTMENT_CATEGORIES = ("administrative", "clinical", "medical_technical")
# Position levels as the campaign's summary tables count people: 中层 middle manager, 其他 other;
# 院领导 hospital leader (a cadre the Party committee manages: clues about them go to the higher
# commission, see docs/clues.md).
POSITION_LEVELS = ("hospital_leader", "middle_manager", "other")

department = sa.Table(
    "department", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name_zh", sa.String(128), nullable=False),
    sa.Column("name_en", sa.String(128)),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("head", sa.String(64)),              # username of the 科室负责人; not a foreign key (circular)
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name_zh"),
)

# A member of staff, and their login. No password hash means the person cannot log in (yet).
staff = sa.Table(
    "staff", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("department", sa.String(64), sa.ForeignKey("department.code")),
    sa.Column("position_level", sa.String(32), nullable=False, server_default="other"),
    sa.Column("party_member", sa.Boolean, nullable=False, server_default=sa.false()),
    # 公职人员: a public employee (seed 002 附件4's notes: 政务处分 and the four forms apply to them,
    # 行政处罚 counts only staff who are neither party members nor public employees).
    sa.Column("public_employee", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("email", sa.String(255)),
    sa.Column("locale", sa.String(8), nullable=False, server_default="zh"),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # Who deactivated the account (an administrator, or `ldap-sync` when the directory no longer had the
    # person); cleared when it is active again. The sync re-activates only what the sync deactivated.
    sa.Column("deactivated_by", sa.String(64)),
    # Unused since revision 0011: failures are counted per name, source and both in `login_attempt`.
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime),
    sa.Column("password_changed_at", UTCDateTime),
    # Set when an administrator resets the password: the owner must choose a new one at next sign-in.
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Two-factor sign-in (TOTP, RFC 6238): the shared secret (base32) once enrolled, and the last time
    # step a code was accepted for, so that no code is accepted twice.
    sa.Column("totp_secret", sa.String(64)),
    sa.Column("totp_last_step", sa.BigInteger),
    # The one way in (engine.signon): local (a password here), ldap, oidc or cas.
    sa.Column("sign_in_method", sa.String(8), nullable=False, server_default="local"),
    # Where a message reaches the person (engine.messages): mobile number, WeCom and DingTalk user ids.
    sa.Column("phone", sa.String(32)),
    sa.Column("wecom_userid", sa.String(64)),
    sa.Column("dingtalk_userid", sa.String(64)),
    sa.Index("ix_staff_department", "department"),
)

staff_role = sa.Table(
    "staff_role", metadata,
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), primary_key=True),
    sa.Column("role", sa.String(64), sa.ForeignKey("role.code"), primary_key=True),
)

# API bearer tokens: only a SHA-256 of the token is kept.
api_token = sa.Table(
    "api_token", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# A person's previous password hashes: a new password may not be one of the last few (level 3).
password_history = sa.Table(
    "password_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("replaced_at", UTCDateTime, nullable=False),
    sa.Index("ix_password_history_username", "username"),
)

# Failed sign-ins, counted three ways (`engine.org.lockout`): per name and source address (a row
# for both), per name (`source` "*") and per source (`username` "*"). The source is a keyed hash.
login_attempt = sa.Table(
    "login_attempt", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# A person's single-use recovery codes for two-factor sign-in (only a SHA-256 of each is kept).
recovery_code = sa.Table(
    "recovery_code", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.Index("ix_recovery_code_username", "username"),
)

# A signed-in page session, kept on the server so that signing out, a password or role change and
# the idle and absolute limits end it: the signed cookie carries only the secret whose hash is here.
web_session = sa.Table(
    "web_session", metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # Set while the person has given their password but not yet their second factor: "two_factor"
    # (a code is asked) or "enrol" (they set up an authenticator, `enrol_secret`). Such a row signs
    # nobody in (`engine.org.sessions.session_principal` reads only rows without a stage).
    sa.Column("stage", sa.String(16)),
    sa.Column("enrol_secret", sa.String(64)),
    # The portal's own session this one came from ("oidc:<sid>", "cas:<ticket>"): the portal's single
    # logout names it (engine.signon.doors.end_portal_session).
    sa.Column("sso_session", sa.String(255)),
    sa.Index("ix_web_session_username", "username"),
    sa.Index("ix_web_session_sso_session", "sso_session"),
)

# --- Inbox -----------------------------------------------------------------------------------------
saved_filter = sa.Table(
    "saved_filter", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("query", sa.Text, nullable=False),      # the inbox's query string, e.g. view=mine&process=x
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("username", "name"),
)

task_comment = sa.Table(
    "task_comment", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("task_id", ID),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_task_comment_instance", "instance_id"),
)

# Files attached to a task (a form's file field, or the task page). Content kept in the database so
# that it shares the instance's transactions and backups; the SHA-256 proves it was not altered.
attachment = sa.Table(
    "attachment", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("task_id", ID),
    sa.Column("field", sa.String(64)),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(128), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
    sa.Index("ix_attachment_instance", "instance_id"),
)

# A form saved but not submitted ("save draft"), per task and person.
# 催办: each time someone with the right urged the holder of a task (the task shows the count).
task_urge = sa.Table(
    "task_urge", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("task_id", ID, nullable=False),
    sa.Column("urged_by", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("urged_at", UTCDateTime, nullable=False),
    sa.Index("ix_task_urge_task", "task_id"),
)

# 抄送 (知会): a read-only copy of a task in another person's inbox, with its read receipt.
task_copy = sa.Table(
    "task_copy", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("task_id", ID, nullable=False),
    sa.Column("recipient", sa.String(64), nullable=False),
    sa.Column("sent_by", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("read_at", UTCDateTime),
    sa.Index("ix_task_copy_recipient", "recipient"),
    sa.Index("ix_task_copy_task", "task_id"),
)

# 加签: a signer added to a task by its holder, before (前加签: signs first) or after (后加签: the
# holder's submission waits for the signature, then completes the task).
added_signer = sa.Table(
    "added_signer", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("task_id", ID, nullable=False),
    sa.Column("signer", sa.String(64), nullable=False),
    sa.Column("position", sa.String(8), nullable=False),
    sa.Column("added_by", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("agree", sa.Boolean),
    sa.Column("opinion", sa.Text),
    sa.Column("submission_json", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("signed_at", UTCDateTime),
    sa.Index("ix_added_signer_signer", "signer", "status"),
    sa.Index("ix_added_signer_task", "task_id"),
)

task_draft = sa.Table(
    "task_draft", metadata,
    sa.Column("task_id", ID, primary_key=True),
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("data_json", sa.Text, nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
)

# A diagram being edited in the modeler, not yet deployed: one per process key (a new process's
# key is its process id). Deploying it makes a version and leaves the draft for further edits.
process_draft = sa.Table(
    "process_draft", metadata,
    sa.Column("process_key", sa.String(255), primary_key=True),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("bpmn_xml", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("saved_by", sa.String(64), nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
)

# Form definitions edited in the browser: versions 2, 3… of a form whose version 1 is its file in
# forms/ (a form created in the browser starts at 1). Immutable once saved.
form_version = sa.Table(
    "form_version", metadata,
    sa.Column("form_key", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition_json", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("saved_by", sa.String(64), nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
)

# An organisation import (engine/org/importing.py) between its preview and its end: the uploaded
# file waits here for the administrator's confirmation, then the job's progress and outcome are
# read by whichever worker a poll reaches. The file (it may hold initial passwords) is dropped once
# the job ends; jobs older than half an hour are deleted when the next one is staged.
org_import = sa.Table(
    "org_import", metadata,
    sa.Column("token", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content", sa.LargeBinary),
    sa.Column("state", sa.String(16), nullable=False),       # pending, running, done, failed
    sa.Column("done", sa.Integer, nullable=False, default=0),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("result_json", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# -- clues: what must stay out of workflow data (see engine.clues.confidential) and the public page's
# rate limit (see engine.clues.public) --
# 回避 (recusal): who is kept out of an instance — a person concerned (named by the data its process
# declares in `personsConcerned`), someone related to them (`staff_relation`, the head of their
# department), a person who declared a conflict (自行回避), or everyone holding a role the data withholds
# it from (`withheldFromRoles`). Exactly one of username / role is set. See engine/runtime/recusal.py.
recusal = sa.Table(
    "recusal", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, nullable=False),
    sa.Column("username", sa.String(64)),
    sa.Column("role", sa.String(64)),
    sa.Column("kind", sa.String(16), nullable=False),      # concerned, related, declared, withheld
    sa.Column("reason", sa.String(500)),
    sa.Column("recorded_by", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_recusal_instance", "instance_id"),
    sa.Index("ix_recusal_username", "username"),
)

# 回头看 reopened a clue: each later disposal round is an instance of the clue process, a line of the
# ledger groups them under the first round's instance (`line_id`). Round 1 has no row.
clue_round = sa.Table(
    "clue_round", metadata,
    sa.Column("instance_id", ID, primary_key=True),
    sa.Column("line_id", ID, nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("review_instance_id", ID, nullable=False),
    sa.Column("reason", sa.String(2000), nullable=False),
    sa.Column("reopened_by", sa.String(64), nullable=False),
    sa.Column("reopened_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("line_id", "round"),
    sa.Index("ix_clue_round_line", "line_id"),
)

# Declared relations between staff (配偶, 近亲属, …): each keeps the other out of instances about them.
staff_relation = sa.Table(
    "staff_relation", metadata,
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), primary_key=True),
    sa.Column("related", sa.String(64), sa.ForeignKey("staff.username"), primary_key=True),
    sa.Column("relation", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

clue_reporter = sa.Table(
    "clue_reporter", metadata,
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), primary_key=True),
    sa.Column("name_token", sa.Text),           # Fernet tokens; never the plain text
    sa.Column("contact_token", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

clue_query_code = sa.Table(
    "clue_query_code", metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_clue_query_code_instance", "instance_id"),
)

public_throttle = sa.Table(
    "public_throttle", metadata,
    sa.Column("client", sa.String(64), primary_key=True),     # SHA-256 of the client address, never the address
    sa.Column("action", sa.String(32), primary_key=True),
    sa.Column("window_start", UTCDateTime, primary_key=True),
    sa.Column("hits", sa.Integer, nullable=False),
)


# --- Messages (engine.messages) --------------------------------------------------------------------
# What a person chose: the channels a message reaches them on (comma-separated) and quiet hours
# ("22:00"–"07:30", Beijing time) during which only urgent escalations are sent.
message_preference = sa.Table(
    "message_preference", metadata,
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), primary_key=True),
    sa.Column("channels", sa.String(64), nullable=False),
    sa.Column("quiet_start", sa.String(5)),
    sa.Column("quiet_end", sa.String(5)),
)

# The outbox: one row per notification, person and channel, written in the notification's own
# transaction and sent by the scheduler. A sender claims a row (`claimed_by`, `claim_until`: a lease
# a killed sender's rows outlive), sends it under its `idempotency_key` and marks it sent.
message_outbox = sa.Table(
    "message_outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notification_id", sa.Integer, sa.ForeignKey("notification.id"), nullable=False),
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("link", sa.Text),
    sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("state", sa.String(8), nullable=False, server_default="pending"),   # pending, sent, failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(128)),
    sa.Column("claim_until", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Index("ix_message_outbox_due", "state", "next_attempt_at"),
    sa.Index("ix_message_outbox_recipient", "username", "channel", "sent_at"),
)


# -- official documents (公文, engine.documents) --
# The last number given out per document kind (纪函, 纪告…) and year: allocation is one atomic
# UPDATE … RETURNING of this row, inside the transaction that stores the document (no gaps).
document_sequence = sa.Table(
    "document_sequence", metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

# Every number ever given out; a voided number stays, marked voided (never reused).
document_number = sa.Table(
    "document_number", metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("text", sa.String(64), nullable=False),
    sa.Column("instance_id", ID),
    sa.Column("status", sa.String(16), nullable=False),         # issued, voided
    sa.Column("issued_by", sa.String(64), nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("voided_by", sa.String(64)),
    sa.Column("voided_at", UTCDateTime),
    sa.Column("void_reason", sa.Text),
)

# Template versions uploaded in the browser; version 1 of a kind is its file in documents/.
document_template = sa.Table(
    "document_template", metadata,
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("saved_by", sa.String(64), nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
)

# A generated document: which template version, from which data, stored as which attachments.
# Regenerating adds a row (version 2, 3…); none is ever overwritten.
generated_document = sa.Table(
    "generated_document", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", ID, sa.ForeignKey("process_instance.id"), nullable=False),
    sa.Column("task_id", ID),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("number_text", sa.String(64)),
    sa.Column("data_sha256", sa.String(64), nullable=False),
    sa.Column("docx_id", sa.Integer, sa.ForeignKey("attachment.id"), nullable=False),
    sa.Column("pdf_id", sa.Integer, sa.ForeignKey("attachment.id")),
    sa.Column("reveals_reporter", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("generated_by", sa.String(64), nullable=False),
    sa.Column("generated_at", UTCDateTime, nullable=False),
    sa.Index("ix_generated_document_instance", "instance_id"),
)

# 医德考评 (seed 003: "医德考评实行季度考核记分，年度考核确定等级…进行加减分项目登记和一票否决制"): one
# row per person and quarter — its 加分/减分 items (JSON: kind, points as text, reason) and the
# one-vote veto. The score and the grades are computed when read, from the rule in `setting`
# (engine/records/conduct.py), so the rows keep what was entered, not a derived number. The department
# is the person's at the time: the score follows the person (一人一档), the department stays history.
conduct_score = sa.Table(
    "conduct_score", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("staff.username"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("quarter", sa.Integer, nullable=False),
    sa.Column("department", sa.String(64)),
    sa.Column("items_json", sa.Text, nullable=False),
    sa.Column("veto", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("veto_reason", sa.Text),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("entered_by", sa.String(64), nullable=False),
    sa.Column("entered_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("username", "year", "quarter"),
    sa.Index("ix_conduct_score_year", "year", "quarter"),
)

# --- process analytics (engine.audit.analytics): summaries of the event log, kept incrementally ------
# Completed human tasks per process version, step, department and day of completion (Beijing): how
# many, how many late, and the summed cycle, waiting and working seconds. The key's order is the page's
# GROUP BY (the day last, filtered while reading).
analytics_step = sa.Table(
    "analytics_step", metadata,
    sa.Column("version_id", sa.Integer, primary_key=True),
    sa.Column("element_id", sa.String(255), primary_key=True),
    sa.Column("department", sa.String(64), primary_key=True),      # '' when nobody's department is known
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("completed", sa.Integer, nullable=False),
    sa.Column("with_due", sa.Integer, nullable=False),
    sa.Column("overdue", sa.Integer, nullable=False),
    sa.Column("cycle_s", sa.Float, nullable=False),
    sa.Column("wait_s", sa.Float, nullable=False),
    sa.Column("work_s", sa.Float, nullable=False),
    sqlite_with_rowid=False,     # SQLite: rows kept in key order, so the page's GROUP BY reads them without sorting
)

# The same tasks' durations as histograms (log buckets, engine.audit.analytics.fold.bucket): the
# medians and 90th percentiles are read from them; `seconds` sums the durations in the bucket.
analytics_duration = sa.Table(
    "analytics_duration", metadata,
    sa.Column("version_id", sa.Integer, primary_key=True),
    sa.Column("element_id", sa.String(255), primary_key=True),
    sa.Column("measure", sa.String(8), primary_key=True),         # cycle | wait | work
    sa.Column("bucket", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sqlite_with_rowid=False,     # SQLite: rows kept in key order, so the page's GROUP BY reads them without sorting
)

# Finished instances per version, day they ended and variant (the sequence of steps completed).
analytics_variant = sa.Table(
    "analytics_variant", metadata,
    sa.Column("version_id", sa.Integer, primary_key=True),
    sa.Column("variant", sa.String(64), primary_key=True),          # SHA-256 of steps_json
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("steps_json", sa.Text, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sqlite_with_rowid=False,     # SQLite: rows kept in key order, so the page's GROUP BY reads them without sorting
)

# The watermark, per instance: the last event of its chain already in the summaries, and whether its
# variant is counted (once, when it has ended).
analytics_instance = sa.Table(
    "analytics_instance", metadata,
    sa.Column("instance_id", ID, primary_key=True),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("seq_done", sa.Integer, nullable=False),
    sa.Column("variant_done", sa.Boolean, nullable=False, server_default=sa.false()),
)
