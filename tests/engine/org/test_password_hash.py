"""Passwords are stored as argon2id hashes at the product's cost (the test suite itself signs in with a
cheaper hasher: tests/conftest.py), and a hash made under other parameters is renewed at sign-in."""
from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa
from argon2 import PasswordHasher

from engine.db.schema import staff
from engine.org import accounts
from tests.conftest import PASSWORD, ROOT


def test_the_product_stores_argon2id_at_64_mib_and_three_passes():
    made = subprocess.run([sys.executable, "-c", "from engine.org.accounts import hash_password; "
                                                 "print(hash_password('Qinglian#2026'))"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(made, "Qinglian#2026")


def test_a_hash_of_other_parameters_still_signs_in_and_is_renewed(db, people, clock):
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    with db.begin() as conn:
        conn.execute(staff.update().where(staff.c.username == "nurse").values(password_hash=old))
    assert accounts.authenticate(db, "nurse", PASSWORD, clock.now()).username == "nurse"
    with db.connect() as conn:
        renewed = conn.execute(sa.select(staff.c.password_hash).where(staff.c.username == "nurse")).scalar()
    assert renewed != old and renewed.startswith("$argon2id$") and ",t=1," in renewed
