"""`make run` prints how to sign in: every demo login the README's tour names, each with its roles."""
from __future__ import annotations

import re

import pytest

from engine.config import PROJECT_ROOT, Settings
from engine.demo import hospital

pytestmark = pytest.mark.real_forms     # the shipped processes and forms, as `make run` loads them


def test_init_db_demo_prints_every_login_the_readme_tour_names(engine):
    printed = hospital.load(engine, Settings.from_env())["demo logins"]
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| login | who |"):].split("\n\n")[0]
    tour = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
    assert len(tour) >= 10
    shown = {line.split()[0] for line in printed.strip().splitlines()}
    assert [u for u in tour if u not in shown] == []
