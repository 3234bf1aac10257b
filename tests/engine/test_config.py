"""Settings in one place: every QINGLIAN_ variable is read by engine.config.Settings, and handed on."""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from engine.config import PROJECT_ROOT, Settings, SettingsError

VARIABLE = re.compile(r"QINGLIAN_[A-Z0-9_]+")
# Where a QINGLIAN_ name may still be written as a string outside config.py, and why.
EXCEPTIONS: dict[str, str] = {}


def _reads(path: Path) -> list[str]:
    """The QINGLIAN_ names written as string literals in the code (docstrings and comments aside)."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if tok.type == tokenize.STRING:
            text = tok.string.lstrip("rbuRBUfF").strip("'\"")
            if VARIABLE.fullmatch(text):
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{tok.start[0]} {text}")
    return found


def test_no_qinglian_variable_is_read_outside_the_settings():
    found = []
    for room in ("engine", "web", "migrations"):
        for path in sorted((PROJECT_ROOT / room).rglob("*.py")):
            name = str(path.relative_to(PROJECT_ROOT))
            if name != "engine/config.py" and name not in EXCEPTIONS:
                found += _reads(path)
    assert found == []


def test_the_settings_read_the_web_and_operations_variables():
    s = Settings.from_env({"QINGLIAN_SECRET_KEY": "k", "QINGLIAN_SECURE_COOKIES": "1", "QINGLIAN_LOG_FORMAT": "text",
                           "QINGLIAN_LOG_LEVEL": "DEBUG", "QINGLIAN_METRICS_ALLOW": "10.0.0.0/8",
                           "QINGLIAN_HEARTBEAT_MAX_AGE": "45", "QINGLIAN_BIND": "0.0.0.0:9000",
                           "QINGLIAN_WORKERS": "3", "QINGLIAN_THREADS": "2", "QINGLIAN_SMTP_HOST": "mail",
                           "QINGLIAN_NOTIFY_EMAILS": '{"jijian": "jw@h.test"}'})
    assert (s.secret_key, s.secure_cookies, s.log_json, s.log_level) == ("k", True, False, "DEBUG")
    bounds = Settings.from_env({"QINGLIAN_MAX_STEPS": "500", "QINGLIAN_MAX_SECONDS": "2.5"})
    assert (bounds.max_steps, bounds.max_seconds) == (500, 2.5)
    assert (s.metrics_allow, s.heartbeat_max_age_seconds, s.bind, s.workers, s.threads) == \
        ("10.0.0.0/8", 45.0, "0.0.0.0:9000", 3, 2)
    assert (s.smtp_host, s.smtp_port, s.notify_emails) == ("mail", 25, {"jijian": "jw@h.test"})
    defaults = Settings.from_env({})
    assert (defaults.secret_key, defaults.secure_cookies, defaults.log_json, defaults.smtp_host) == \
        (None, False, True, None)


@pytest.mark.parametrize("name, value", [("QINGLIAN_WORKERS", "many"), ("QINGLIAN_HEARTBEAT_MAX_AGE", "30s"),
                                         ("QINGLIAN_NOTIFY_EMAILS", "[1]")])
def test_a_value_not_of_its_kind_names_its_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_the_web_app_takes_its_secret_key_and_cookie_policy_from_the_settings(engine, tmp_path):
    from web import create_app
    settings = Settings.from_env({"QINGLIAN_SECRET_KEY": "from-settings", "QINGLIAN_SECURE_COOKIES": "1",
                                  "QINGLIAN_INSTANCE_DIR": str(tmp_path)})
    app = create_app(settings, engine=engine)
    assert app.config["SECRET_KEY"] == "from-settings" and app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()
