"""The public reporting page's defences, with no outside service: a per-client rate limit counted
in the database (so every web process shares it), and a signed form token carrying the moment the
form was shown (a form sent back too fast, or too late, is refused; together with a honeypot field
this keeps simple bots out)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer

from engine.db.schema import public_throttle  # noqa: F401  (defined with every table)
from engine.db.transactions import read_transaction, write_transaction

WINDOW = timedelta(hours=1)
MIN_FILL = timedelta(seconds=5)        # a person needs longer than this to write a report
MAX_AGE = timedelta(hours=4)


def client_key(address: str | None, secret: str) -> str:
    return hashlib.sha256(f"{secret}:{address or '-'}".encode()).hexdigest()


def hit(conn, client: str, action: str, now: datetime, limit: int) -> bool:
    """Count one request of `client` for `action` in the current hour; False when over `limit`."""
    start = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    t = public_throttle.c
    where = sa.and_(t.client == client, t.action == action, t.window_start == start)
    hits = conn.execute(sa.select(t.hits).where(where).with_for_update()).scalar_one_or_none()
    if hits is None:
        try:
            with conn.begin_nested():
                conn.execute(public_throttle.insert().values(client=client, action=action, window_start=start, hits=1))
            hits = 1
        except sa.exc.IntegrityError:        # a concurrent first request of the same window
            conn.execute(public_throttle.update().where(where).values(hits=t.hits + 1))
            hits = conn.execute(sa.select(t.hits).where(where)).scalar_one()
    else:
        conn.execute(public_throttle.update().where(where).values(hits=t.hits + 1))
        hits += 1
    conn.execute(public_throttle.delete().where(t.window_start < start - WINDOW))
    return hits <= limit


def form_token(secret: str, now: datetime) -> str:
    # the nonce tells apart two forms shown at the same moment: each token is spent on its own
    return URLSafeSerializer(secret, salt="public-report").dumps({"t": now.astimezone(timezone.utc).isoformat(),
                                                                  "n": secrets.token_hex(8)})


def check_form_token(secret: str, token: str | None, now: datetime) -> str | None:
    """None when the token is good; otherwise why not (for the log, never shown in detail)."""
    try:
        shown = datetime.fromisoformat(URLSafeSerializer(secret, salt="public-report").loads(token or "")["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return "bad token"
    if now - shown < MIN_FILL:
        return "too fast"
    if now - shown > MAX_AGE:
        return "expired"
    return None


def spend_form_token(engine, secret: str, token: str | None) -> str | None:
    """`check_form_token`, and the token spent: a second report with the same token (a replayed
    request) is refused. Spent tokens are kept in the throttle table until they would have expired."""
    now = engine.clock.now()
    problem = check_form_token(secret, token, now)
    if problem:
        return problem
    shown = datetime.fromisoformat(URLSafeSerializer(secret, salt="public-report").loads(token)["t"])
    row = {"client": hashlib.sha256(token.encode()).hexdigest(), "action": "form_token",
           "window_start": shown + MAX_AGE, "hits": 1}     # swept by `hit` only after the token expired
    with write_transaction(engine.db) as conn:
        try:
            with conn.begin_nested():
                conn.execute(public_throttle.insert().values(**row))
        except sa.exc.IntegrityError:
            return "replayed"
    return None


def has_room(engine, address: str | None, secret: str, action: str, limit: int) -> bool:
    """Whether the client at `address` may still do `action` this hour (counts nothing: a refused
    attempt costs the reporter nothing; `allowed` counts the accepted one)."""
    start = engine.clock.now().astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    t = public_throttle.c
    with read_transaction(engine.db) as conn:
        hits = conn.execute(sa.select(t.hits).where(t.client == client_key(address, secret), t.action == action,
                                                    t.window_start == start)).scalar_one_or_none()
    return (hits or 0) < limit


def allowed(engine, address: str | None, secret: str, action: str, limit: int) -> bool:
    """Count one request of the client at `address` for `action`; False when over `limit` this hour."""
    with write_transaction(engine.db) as conn:
        return hit(conn, client_key(address, secret), action, engine.clock.now(), limit)


def feedback_for_code(engine, code: str) -> list[dict] | None:
    """The feedback texts of the clue a reporter's query code names; None if it names none."""
    from engine.clues import confidential, ledger
    with read_transaction(engine.db) as conn:
        instance_id = confidential.instance_for_code(conn, code)
        return ledger.feedback_texts(conn, instance_id) if instance_id else None
