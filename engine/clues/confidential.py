"""The reporter's identity (举报人信息), kept strictly confidential.

A reporter's name and contact never enter workflow data, task data, events or logs. They are
encrypted (Fernet, or SM4-GCM with QINGLIAN_VAULT_CIPHER=sm4 — both from the `cryptography`
package) with a key that lives only in configuration
(`QINGLIAN_REPORTER_KEY`) and stored in `clue_reporter`, keyed by the clue's instance id, in the
same transaction that starts the instance. Only the discipline office may reveal them, and every
reveal is itself an event on the `confidential-access` hash chain.

A reporter using the public page gets a query code (查询码) instead: only its SHA-256 is stored.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken

from engine import history, keyfile
from engine.errors import Forbidden, NotFound
from engine.db.schema import clue_query_code, clue_reporter  # noqa: F401  (defined with every table)
from engine.permissions import may_reveal_reporter

log = logging.getLogger(__name__)

ACCESS_CHAIN = "confidential-access"

FERNET, SM4 = "fernet", "sm4"
CIPHERS = (FERNET, SM4)
_SM4_PREFIX = "sm4:"
_SM4_AAD = b"qinglian reporter vault"


class ReporterVault:
    """Encrypts and decrypts reporters' identities with one key held outside the database.

    New identities are sealed with `cipher`: Fernet (AES-128-CBC + HMAC-SHA256) or SM4 (国密, GB/T
    32907) in GCM mode under a 128-bit key derived from the same key by HKDF-SM3. A token names its
    cipher (`sm4:` + base64 of nonce, ciphertext and tag; a Fernet token has no prefix), so a vault
    opens both: identities stored before the setting changed stay readable."""

    def __init__(self, key: str | bytes, cipher: str = FERNET):
        if cipher not in CIPHERS:
            raise ValueError(f"unknown vault cipher {cipher!r} (fernet or sm4)")
        self._fernet = Fernet(key)
        self._cipher = cipher
        self._sm4_key = _derive_sm4_key(key)

    def __repr__(self) -> str:           # never show the key in a traceback or a log
        return f"ReporterVault(<key hidden>, {self._cipher})"

    def seal(self, value: str | None) -> str | None:
        if value is None or not str(value).strip():
            return None
        plain = str(value).strip().encode("utf-8")
        if self._cipher == SM4:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
            nonce = secrets.token_bytes(12)
            enc = Cipher(algorithms.SM4(self._sm4_key), modes.GCM(nonce)).encryptor()
            enc.authenticate_additional_data(_SM4_AAD)
            body = enc.update(plain) + enc.finalize()
            return _SM4_PREFIX + base64.urlsafe_b64encode(nonce + body + enc.tag).decode("ascii")
        return self._fernet.encrypt(plain).decode("ascii")

    def open(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            if token.startswith(_SM4_PREFIX):
                return self._open_sm4(token[len(_SM4_PREFIX):])
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, InvalidTag, ValueError):
            raise Forbidden("举报人信息无法解密：密钥与加密时不一致") from None

    def _open_sm4(self, text: str) -> str:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        if len(raw) < 12 + 16:
            raise ValueError("short SM4 token")
        nonce, body, tag = raw[:12], raw[12:-16], raw[-16:]
        dec = Cipher(algorithms.SM4(self._sm4_key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(_SM4_AAD)
        return (dec.update(body) + dec.finalize()).decode("utf-8")


def _derive_sm4_key(key: str | bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    material = base64.urlsafe_b64decode(key if isinstance(key, bytes) else key.encode("ascii"))
    return HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=b"qinglian reporter vault sm4").derive(material)


def vault_from_settings(settings) -> ReporterVault:
    """The key from QINGLIAN_REPORTER_KEY; without it, a development key created once in the instance
    folder (owner-only file, never in the database) and a warning in the log."""
    cipher = getattr(settings, "vault_cipher", FERNET)
    if settings.reporter_key:
        return ReporterVault(settings.reporter_key, cipher)
    path = Path(settings.instance_dir) / "reporter_key"
    key, created = keyfile.read_or_create(path, lambda: Fernet.generate_key().decode("ascii"))
    if created:
        log.warning("QINGLIAN_REPORTER_KEY is not set: created a development key in %s", path)
    return ReporterVault(key, cipher)


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
