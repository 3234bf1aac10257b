"""Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238, as any authenticator app reads
them from a QR code) and single-use recovery codes.

Who must give a second factor is `engine.org.roles.TWO_FACTOR_ROLES`. A code is accepted for the
current 30-second step or one either side (clocks drift), and never twice: the last accepted step
is kept (`staff.totp_last_step`). Recovery codes are random, shown once, kept as SHA-256 hashes and
spent when used.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa

from engine.db.schema import recovery_code, staff

ISSUER = "清廉 Qinglian"
STEP = 30
RECOVERY_CODES = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no 0/O, 1/I: read aloud and typed by hand


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg_data_uri(secret: str, username: str) -> str:
    """The enrolment QR code as an SVG data URI (made here: no outside service sees the secret)."""
    return segno.make(provisioning_uri(secret, username), error="m").svg_data_uri(scale=5, border=2)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code` (now, or one step either side), or None."""
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now.timestamp()) // STEP
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(conn, username: str, code: str, now: datetime) -> bool:
    """Whether `code` is the enrolled person's current code or an unused recovery code; either is
    then spent (the step is remembered, the recovery code marked used)."""
    row = conn.execute(sa.select(staff.c.totp_secret, staff.c.totp_last_step)
                       .where(staff.c.username == username)).one_or_none()
    if row is None or not row.totp_secret:
        return False
    step = matching_step(row.totp_secret, code, now)
    if step is not None:
        if row.totp_last_step is not None and step <= row.totp_last_step:
            return False                       # a code seen already: a replay
        conn.execute(staff.update().where(staff.c.username == username).values(totp_last_step=step))
        return True
    return _spend_recovery_code(conn, username, code, now)


def enrol(conn, username: str, secret: str, code: str, now: datetime) -> list[str] | None:
    """Enrol `secret` if `code` proves the authenticator reads it: the new recovery codes, else None."""
    step = matching_step(secret, code, now)
    if step is None:
        return None
    conn.execute(staff.update().where(staff.c.username == username)
                 .values(totp_secret=secret, totp_last_step=step))
    return new_recovery_codes(conn, username, now)


def enrol_known_secret(conn, username: str, secret: str) -> None:
    """Enrol without a code (tests and drills only: the secret is known to whoever set it)."""
    conn.execute(staff.update().where(staff.c.username == username).values(totp_secret=secret, totp_last_step=None))


def is_enrolled(conn, username: str) -> bool:
    return bool(conn.execute(sa.select(staff.c.totp_secret).where(staff.c.username == username)).scalar())


def remove(conn, username: str) -> None:
    """Forget the authenticator and the recovery codes (lost phone): the next sign-in enrols again."""
    conn.execute(staff.update().where(staff.c.username == username).values(totp_secret=None, totp_last_step=None))
    conn.execute(recovery_code.delete().where(recovery_code.c.username == username))


def new_recovery_codes(conn, username: str, now: datetime) -> list[str]:
    """RECOVERY_CODES fresh codes (the old ones end), shown once: only their hashes are kept."""
    conn.execute(recovery_code.delete().where(recovery_code.c.username == username))
    codes = ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))
             for _ in range(RECOVERY_CODES)]
    conn.execute(recovery_code.insert(), [{"username": username, "code_hash": _digest(c), "created_at": now}
                                          for c in codes])
    return codes


def _digest(code: str) -> str:
    return hashlib.sha256("".join(code.upper().split()).replace("-", "").encode()).hexdigest()


def _spend_recovery_code(conn, username: str, code: str, now: datetime) -> bool:
    if not (code or "").strip():
        return False
    spent = conn.execute(recovery_code.update().where(
        recovery_code.c.username == username, recovery_code.c.code_hash == _digest(code),
        recovery_code.c.used_at.is_(None)).values(used_at=now))
    return spent.rowcount == 1
