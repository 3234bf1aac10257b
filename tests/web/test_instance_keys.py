"""A fresh instance folder's keys (the session secret and the reporters' development key) are created
once, even when several gunicorn workers start at the same moment: the loser of the race reads the
winner's key instead of dying with FileExistsError (issue 23)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from engine.clues.confidential import vault_from_settings
from engine.config import Settings
from web import _secret_key

RACERS = 8


def _race(call, rounds: int, tmp_path) -> list[set]:
    results = []
    for n in range(rounds):
        folder = tmp_path / f"instance{n}"
        start = threading.Barrier(RACERS)

        def one():
            start.wait()
            return call(folder)
        with ThreadPoolExecutor(RACERS) as pool:
            results.append({f.result() for f in [pool.submit(one) for _ in range(RACERS)]})
    return results


def test_workers_racing_for_a_fresh_secret_key_all_get_the_same_one(tmp_path):
    for keys in _race(_secret_key, 30, tmp_path):
        assert len(keys) == 1 and len(next(iter(keys))) == 64


def test_workers_racing_for_a_fresh_reporter_key_all_get_the_same_one(tmp_path):
    def vault_key(folder):
        vault = vault_from_settings(Settings("sqlite://", folder, folder, instance_dir=folder))
        return vault.open(vault.seal("张三"))                       # the key works, whichever worker wrote it
    for names in _race(vault_key, 30, tmp_path):
        assert names == {"张三"}
    assert (tmp_path / "instance0" / "reporter_key").stat().st_mode & 0o777 == 0o600


def test_serve_prod_creates_the_keys_before_starting_the_workers(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from web import serve
    seen = {}

    def fake_gunicorn(settings, *args):
        seen["files"] = sorted(p.name for p in settings.instance_dir.iterdir() if p.name.endswith("_key"))
        raise SystemExit(0)
    monkeypatch.setattr(serve, "serve_production", fake_gunicorn)
    env = {"QINGLIAN_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}",
           "QINGLIAN_REPORTER_KEY": "", "QINGLIAN_SECRET_KEY": ""}
    assert CliRunner().invoke(serve.main, ["init-db"], env=env).exit_code == 0
    result = CliRunner().invoke(serve.main, ["serve", "--prod"], env=env)
    assert seen.get("files") == ["reporter_key", "secret_key"], result.output
