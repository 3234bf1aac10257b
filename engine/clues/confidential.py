"""The reporter's identity (举报人信息), kept strictly confidential.

A reporter's name and contact never enter workflow data, task data, events or logs. They are
encrypted (Fernet, from the `cryptography` package) with a key that lives only in configuration
(`QINGLIAN_REPORTER_KEY`) and stored in `clue_reporter`, keyed by the clue's instance id, in the
same transaction that starts the instance. Only the discipline office may reveal them, and every
reveal is itself an event on the `confidential-access` hash chain.

A reporter using the public page gets a query code (查询码) instead: only its SHA-256 is stored.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from engine import history, keyfile
from engine.errors import Forbidden, NotFound
from engine.db.schema import clue_query_code, clue_reporter  # noqa: F401  (defined with every table)
from engine.permissions import may_reveal_reporter

log = logging.getLogger(__name__)

ACCESS_CHAIN = "confidential-access"

class ReporterVault:
    """Encrypts and decrypts reporters' identities with one key held outside the database."""

    def __init__(self, key: str | bytes):
        self._fernet = Fernet(key)

    def __repr__(self) -> str:           # never show the key in a traceback or a log
        return "ReporterVault(<key hidden>)"

    def seal(self, value: str | None) -> str | None:
        if value is None or not str(value).strip():
            return None
        return self._fernet.encrypt(str(value).strip().encode("utf-8")).decode("ascii")

    def open(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise Forbidden("举报人信息无法解密：密钥与加密时不一致") from None


def vault_from_settings(settings) -> ReporterVault:
    """The key from QINGLIAN_REPORTER_KEY; without it, a development key created once in the instance
    folder (owner-only file, never in the database) and a warning in the log."""
    if settings.reporter_key:
        return ReporterVault(settings.reporter_key)
    path = Path(settings.instance_dir) / "reporter_key"
    key, created = keyfile.read_or_create(path, lambda: Fernet.generate_key().decode("ascii"))
    if created:
        log.warning("QINGLIAN_REPORTER_KEY is not set: created a development key in %s", path)
    return ReporterVault(key)


@dataclass(frozen=True)
class Reporter:
    name: str | None
    contact: str | None


def store_reporter(conn, vault: ReporterVault, instance_id: str, name: str | None, contact: str | None,
                   now: datetime) -> None:
    row = {"instance_id": instance_id, "name_token": vault.seal(name), "contact_token": vault.seal(contact),
           "created_at": now}
    conn.execute(clue_reporter.insert().values(**row))
    history.record_row(conn, now, "reporter_stored", actor=None, instance_id=instance_id, row_id=instance_id,
                       digest=history.reporter_digest(row))


def has_reporter(conn, instance_id: str) -> bool:
    return conn.execute(sa.select(clue_reporter.c.instance_id)
                        .where(clue_reporter.c.instance_id == instance_id)).first() is not None


def reveal_reporter(conn, vault: ReporterVault, principal, instance_id: str, now: datetime, *,
                    granted: bool = False, document: str | None = None) -> Reporter:
    """The discipline office — or someone it granted access to this clue (`granted`, checked by the
    caller against the grant events) — reads a reporter's identity; the reading is recorded first."""
    if not may_reveal_reporter(principal, granted=granted):
        raise Forbidden("只有纪检监察室可以查看举报人信息")
    row = conn.execute(sa.select(clue_reporter).where(clue_reporter.c.instance_id == instance_id)).one_or_none()
    if row is None:
        raise NotFound("该线索没有实名举报人信息", field="instance_id")
    history.append_to_chain(conn, ACCESS_CHAIN, now, [history.NewEvent(
        "reporter_viewed", data={"instance_id": instance_id, **({"under_grant": True} if granted else {}),
                                 **({"document": document} if document else {})},
        actor=principal.username)])
    return Reporter(vault.open(row.name_token), vault.open(row.contact_token))


# --- query codes -------------------------------------------------------------------------------------

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"      # no 0/O, 1/I: read back over the phone


def new_query_code() -> str:
    """16 random characters (80 bits) in groups of four: `7KQM-…`."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _code_hash(code: str) -> str:
    normal = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return hashlib.sha256(normal.encode("ascii", "ignore")).hexdigest()


def store_query_code(conn, instance_id: str, code: str, now: datetime) -> None:
    conn.execute(clue_query_code.insert().values(code_hash=_code_hash(code), instance_id=instance_id,
                                                 created_at=now))


def instance_for_code(conn, code: str) -> str | None:
    return conn.execute(sa.select(clue_query_code.c.instance_id)
                        .where(clue_query_code.c.code_hash == _code_hash(code))).scalar_one_or_none()
