"""Settings read from the environment, with defaults that make `make run` work out of the box.

Every `QINGLIAN_*` variable is read here and nowhere else; the rest of the system is handed a
`Settings` (the web app factory, logging, the scheduler, gunicorn's config file). A value that is
not of its kind stops the start with the variable's name (`SettingsError`), not a traceback.

    DATABASE_URL                the database (default: SQLite in the instance folder)
    QINGLIAN_INSTANCE_DIR       where keys and the default database live (default ./instance)
    QINGLIAN_FORMS_DIR          form definitions (default ./forms)
    QINGLIAN_PROCESSES_DIR      BPMN files deployed by init-db (default ./processes)
    QINGLIAN_SCRIPT_TIMEOUT     seconds a BPMN script may run (default 2)
    QINGLIAN_SCRIPT_WORKERS     worker processes that run scripts under a hard limit (default 2; 0: in-process)
    QINGLIAN_SCRIPT_MEMORY_MB   address space of a script worker (default 1024)
    QINGLIAN_CACHE_SIZE         parsed process specs kept in memory (default 2000)
    QINGLIAN_VERIFY_PERSISTENCE 1: check every commit by a cold reload (tests, never production)
    QINGLIAN_REPORTER_KEY       Fernet key for reporters' identities
    QINGLIAN_VAULT_CIPHER       fernet (default) or sm4 (国密 SM4-GCM) for newly stored reporters' identities
    QINGLIAN_HASH               sha256 (default) or sm3 (国密 SM3) for new events of the hash chains
    QINGLIAN_LOG_RETENTION_DAYS days operational logs are kept before the retention job deletes them (default 180; at least 180)
    QINGLIAN_TSA_URL            an RFC 3161 time-stamp server; each scheduled digest is time-stamped there (none: no stamp)
    QINGLIAN_SECRET_KEY         the session-signing key (default: one kept in the instance folder)
    QINGLIAN_SECURE_COOKIES     1: session cookies only over HTTPS
    QINGLIAN_DIGEST_SINK        append-only file the scheduler writes anchored digests to (default instance/digests.jsonl)
    QINGLIAN_DIGEST_HOURS       hours between two scheduled verifications and digests (default 24; 0: none)
    QINGLIAN_PASSWORD_MAX_AGE_DAYS  days a privileged role's password lasts (default 90; 0: never expires)
    QINGLIAN_LOG_LEVEL          INFO by default
    QINGLIAN_LOG_FORMAT         json (default) or text
    QINGLIAN_METRICS_ALLOW      addresses or networks that may read /metrics (default: loopback only)
    QINGLIAN_TRUSTED_PROXIES    reverse proxies (IPs or CIDR networks) whose X-Forwarded-For is believed
    QINGLIAN_METRICS_ADDR       address of a standalone scheduler's metrics port (default 127.0.0.1)
    QINGLIAN_HEARTBEAT_MAX_AGE  seconds after which /readyz calls the scheduler stale (default 30)
    QINGLIAN_BIND               gunicorn's address:port (default 127.0.0.1:8000)
    QINGLIAN_WORKERS            gunicorn's worker processes (default 2 × cores + 1)
    QINGLIAN_THREADS            threads per gunicorn worker (default 1)
    QINGLIAN_SMTP_HOST          mail server for notifications (none: no e-mail)
    QINGLIAN_SMTP_PORT          its port (default 25)
    QINGLIAN_SMTP_FROM          the sender (default qinglian@localhost)
    QINGLIAN_NOTIFY_EMAILS      JSON: user or role code → mailbox(es)
    QINGLIAN_REPORT_CHANNELS    JSON: the hospital's other reporting channels shown on the public report
                                page, e.g. {"phone": "0571-12388", "address": "院纪检监察室（行政楼3楼）",
                                "mailbox": "门诊大厅举报箱"}
    QINGLIAN_PUBLIC_URL         the address staff open (https://lianjie.example-hospital.cn): message links
  sign-on (docs/integration.md; each person's way in is `staff.sign_in_method`):
    QINGLIAN_LDAP_URL           ldap:// or ldaps:// server (none: no LDAP)
    QINGLIAN_LDAP_BIND_DN       the service account that searches for a person's entry
    QINGLIAN_LDAP_BIND_PASSWORD its password
    QINGLIAN_LDAP_BASE_DN       where people and groups are searched
    QINGLIAN_LDAP_USER_FILTER   default (uid={username}); Active Directory: (sAMAccountName={username})
    QINGLIAN_LDAP_ATTRIBUTES    JSON: name, department, email, phone → attribute (defaults: cn, departmentNumber, mail, mobile)
    QINGLIAN_LDAP_GROUP_ROLES   JSON: group DN or cn → role code
    QINGLIAN_LDAP_DEPARTMENTS   JSON: department attribute value → department code (default: the value itself)
    QINGLIAN_LDAP_SYNC_MINUTES  sync the staff from the directory this often (0, the default: never)
    QINGLIAN_OIDC_ISSUER        OpenID provider (its /.well-known/openid-configuration is read)
    QINGLIAN_OIDC_CLIENT_ID     this application's client id there
    QINGLIAN_OIDC_CLIENT_SECRET its secret
    QINGLIAN_OIDC_USERNAME_CLAIM the claim naming the username (default preferred_username)
    QINGLIAN_CAS_URL            CAS server prefix (https://sso.example-hospital.cn/cas)
    QINGLIAN_CAS_VERSION        2 (/serviceValidate) or 3 (/p3/serviceValidate, the default)
  messages (engine.messages):
    QINGLIAN_WECOM              JSON: corpid, secret, agentid[, api, per_minute]
    QINGLIAN_DINGTALK           JSON: appkey, appsecret, agent_id[, api]
    QINGLIAN_SMS                JSON: provider ("aliyun"), access_key_id, access_key_secret, sign_name, template_code[, api]
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A variable whose value is not of its kind; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    forms_dir: Path
    processes_dir: Path
    script_timeout_seconds: float = 2.0
    script_workers: int = 2              # processes running scripts under RLIMIT_CPU/RLIMIT_AS (0: in-process)
    script_memory_mb: int = 1024
    cache_size: int = 2000
    max_steps: int = 10_000              # engine steps one operation may take (a loop without a wait state)
    max_seconds: float = 10.0            # wall time one operation may take
    verify_persistence: bool = False
    instance_dir: Path = field(default=PROJECT_ROOT / "instance")
    reporter_key: str | None = None      # Fernet key for reporters' identities (QINGLIAN_REPORTER_KEY)
    vault_cipher: str = "fernet"         # fernet or sm4: how new reporters' identities are sealed
    hash_algorithm: str = "sha256"       # sha256 or sm3: how new events are hashed (QINGLIAN_HASH)
    log_retention_days: int = 180        # operational logs older than this are deleted (never below 180)
    tsa_url: str | None = None           # RFC 3161 time-stamp server for the scheduled digests
    secret_key: str | None = None        # signs sessions; None: a key kept in the instance folder
    secure_cookies: bool = False
    session_idle_minutes: float = 30.0   # a page session ends after this long without a request
    session_hours: float = 12.0          # …and this long after signing in, however busy
    digest_sink: Path | None = None      # None: instance_dir / "digests.jsonl"
    digest_hours: float = 24.0
    analytics_minutes: float = 5.0       # how often the scheduler folds new events into process analytics (0: never)
    password_max_age_days: float = 90.0  # a privileged role's password must be changed this often (0: never)
    log_level: str = "INFO"
    log_json: bool = True
    metrics_allow: str = ""              # comma-separated IPs or CIDR networks; empty: loopback
    metrics_addr: str = "127.0.0.1"
    trusted_proxies: str = ""            # comma-separated IPs or CIDR networks; empty: no proxy believed
    heartbeat_max_age_seconds: float = 30.0
    bind: str = "127.0.0.1:8000"
    workers: int = field(default_factory=lambda: 2 * (os.cpu_count() or 1) + 1)
    threads: int = 1
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "qinglian@localhost"
    notify_emails: dict = field(default_factory=dict)
    report_channels: dict = field(default_factory=dict)   # phone, address, mailbox (QINGLIAN_REPORT_CHANNELS)
    public_url: str = "http://127.0.0.1:8000"
    ldap_url: str | None = None
    ldap_bind_dn: str | None = None
    ldap_bind_password: str | None = None
    ldap_base_dn: str = ""
    ldap_user_filter: str = "(uid={username})"
    ldap_attributes: dict = field(default_factory=dict)
    ldap_group_roles: dict = field(default_factory=dict)
    ldap_departments: dict = field(default_factory=dict)
    ldap_sync_minutes: float = 0.0
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_username_claim: str = "preferred_username"
    cas_url: str | None = None
    cas_version: int = 3
    wecom: dict = field(default_factory=dict)
    dingtalk: dict = field(default_factory=dict)
    sms: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = os.environ if env is None else env
        instance_dir = Path(env.get("QINGLIAN_INSTANCE_DIR", PROJECT_ROOT / "instance"))
        default_db = f"sqlite:///{instance_dir / 'qinglian.db'}"
        return cls(
            database_url=env.get("DATABASE_URL", default_db),
            forms_dir=Path(env.get("QINGLIAN_FORMS_DIR", PROJECT_ROOT / "forms")),
            processes_dir=Path(env.get("QINGLIAN_PROCESSES_DIR", PROJECT_ROOT / "processes")),
            script_timeout_seconds=_number(env, "QINGLIAN_SCRIPT_TIMEOUT", 2.0, float),
            script_workers=_number(env, "QINGLIAN_SCRIPT_WORKERS", 2, int),
            script_memory_mb=_number(env, "QINGLIAN_SCRIPT_MEMORY_MB", 1024, int),
            cache_size=_number(env, "QINGLIAN_CACHE_SIZE", 2000, int),
            max_steps=_number(env, "QINGLIAN_MAX_STEPS", 10_000, int),
            max_seconds=_number(env, "QINGLIAN_MAX_SECONDS", 10.0, float),
            verify_persistence=env.get("QINGLIAN_VERIFY_PERSISTENCE", "") == "1",
            instance_dir=instance_dir,
            reporter_key=env.get("QINGLIAN_REPORTER_KEY") or None,
            vault_cipher=_choice(env, "QINGLIAN_VAULT_CIPHER", ("fernet", "sm4")),
            hash_algorithm=_choice(env, "QINGLIAN_HASH", ("sha256", "sm3")),
            log_retention_days=_retention_days(env),
            tsa_url=env.get("QINGLIAN_TSA_URL") or None,
            secret_key=env.get("QINGLIAN_SECRET_KEY") or None,
            secure_cookies=env.get("QINGLIAN_SECURE_COOKIES", "") == "1",
            session_idle_minutes=_number(env, "QINGLIAN_SESSION_IDLE_MINUTES", 30.0, float),
            session_hours=_number(env, "QINGLIAN_SESSION_HOURS", 12.0, float),
            password_max_age_days=_number(env, "QINGLIAN_PASSWORD_MAX_AGE_DAYS", 90.0, float),
            digest_sink=Path(env["QINGLIAN_DIGEST_SINK"]) if env.get("QINGLIAN_DIGEST_SINK") else None,
            digest_hours=_number(env, "QINGLIAN_DIGEST_HOURS", 24.0, float),
            analytics_minutes=_number(env, "QINGLIAN_ANALYTICS_MINUTES", 5.0, float),
            log_level=env.get("QINGLIAN_LOG_LEVEL", "INFO"),
            log_json=env.get("QINGLIAN_LOG_FORMAT", "json") == "json",
            metrics_allow=env.get("QINGLIAN_METRICS_ALLOW", ""),
            metrics_addr=env.get("QINGLIAN_METRICS_ADDR", "127.0.0.1"),
            trusted_proxies=env.get("QINGLIAN_TRUSTED_PROXIES", ""),
            heartbeat_max_age_seconds=_number(env, "QINGLIAN_HEARTBEAT_MAX_AGE", 30.0, float),
            bind=env.get("QINGLIAN_BIND", "127.0.0.1:8000"),
            workers=_number(env, "QINGLIAN_WORKERS", 2 * (os.cpu_count() or 1) + 1, int),
            threads=_number(env, "QINGLIAN_THREADS", 1, int),
            smtp_host=env.get("QINGLIAN_SMTP_HOST") or None,
            smtp_port=_number(env, "QINGLIAN_SMTP_PORT", 25, int),
            smtp_from=env.get("QINGLIAN_SMTP_FROM", "qinglian@localhost"),
            notify_emails=_json(env, "QINGLIAN_NOTIFY_EMAILS"),
            report_channels=_json(env, "QINGLIAN_REPORT_CHANNELS"),
            public_url=env.get("QINGLIAN_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            ldap_url=env.get("QINGLIAN_LDAP_URL") or None,
            ldap_bind_dn=env.get("QINGLIAN_LDAP_BIND_DN") or None,
            ldap_bind_password=env.get("QINGLIAN_LDAP_BIND_PASSWORD") or None,
            ldap_base_dn=env.get("QINGLIAN_LDAP_BASE_DN", ""),
            ldap_user_filter=env.get("QINGLIAN_LDAP_USER_FILTER") or "(uid={username})",
            ldap_attributes=_json(env, "QINGLIAN_LDAP_ATTRIBUTES"),
            ldap_group_roles=_json(env, "QINGLIAN_LDAP_GROUP_ROLES"),
            ldap_departments=_json(env, "QINGLIAN_LDAP_DEPARTMENTS"),
            ldap_sync_minutes=_number(env, "QINGLIAN_LDAP_SYNC_MINUTES", 0.0, float),
            oidc_issuer=(env.get("QINGLIAN_OIDC_ISSUER") or "").rstrip("/") or None,
            oidc_client_id=env.get("QINGLIAN_OIDC_CLIENT_ID") or None,
            oidc_client_secret=env.get("QINGLIAN_OIDC_CLIENT_SECRET") or None,
            oidc_username_claim=env.get("QINGLIAN_OIDC_USERNAME_CLAIM") or "preferred_username",
            cas_url=(env.get("QINGLIAN_CAS_URL") or "").rstrip("/") or None,
            cas_version=_number(env, "QINGLIAN_CAS_VERSION", 3, int),
            wecom=_json(env, "QINGLIAN_WECOM"),
            dingtalk=_json(env, "QINGLIAN_DINGTALK"),
            sms=_json(env, "QINGLIAN_SMS"),
        )


def _choice(env, name: str, allowed: tuple) -> str:
    """One of `allowed` (the first when unset), case-insensitive."""
    raw = (env.get(name) or allowed[0]).strip().lower()
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


MIN_LOG_RETENTION_DAYS = 180      # 等保 2.0 level 3: logs are kept at least six months


def _retention_days(env) -> int:
    days = _number(env, "QINGLIAN_LOG_RETENTION_DAYS", MIN_LOG_RETENTION_DAYS, int)
    if days < MIN_LOG_RETENTION_DAYS:
        raise SettingsError(f"QINGLIAN_LOG_RETENTION_DAYS must be at least {MIN_LOG_RETENTION_DAYS} "
                            f"(logs are kept at least 180 days), not {days}")
    return days


def _number(env, name: str, default, kind):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None


def _json(env, name: str) -> dict:
    raw = env.get(name) or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a JSON object, not {raw!r}") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{name} must be a JSON object, not {raw!r}")
    return value
