"""No untranslated text: every Chinese string the web layer marks for translation has its English,
and the pages of a person's daily work, rendered in English, show no Chinese but the data itself
(names of people, departments, processes and tasks, business keys)."""
from __future__ import annotations

import re
import subprocess

import pytest
import sqlalchemy as sa

from engine.config import PROJECT_ROOT
from engine.db.schema import department, human_task, process_instance, process_version, staff
from tests.helpers.web import csrf, login
from tests.web.test_pages import report  # noqa: F401  (fixture)

pytestmark = pytest.mark.real_forms

CJK = re.compile(r"[\u4e00-\u9fff]+")
PO = PROJECT_ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MARKED = re.compile(r"""_\(\s*(['"])((?:(?!\1).)*?[\u4e00-\u9fff](?:(?!\1).)*)\1""")


def test_every_chinese_string_marked_in_the_web_layer_has_an_english_translation():
    from babel.messages.pofile import read_po
    with PO.open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string}
    files = subprocess.run(["git", "ls-files", "web"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.split()
    missing = []
    for name in files:
        if not name.endswith((".py", ".html")):
            continue
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        for m in MARKED.finditer(text):
            if m.group(2).replace("\\'", "'") not in translated:
                missing.append(f"{name}: {m.group(2)}")
    assert not missing, missing


def _visible(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|option)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _data(db) -> list[str]:
    """What the pages show as data: names of people, departments, processes, tasks; business keys."""
    with db.connect() as conn:
        found = [*conn.execute(sa.select(staff.c.name)).scalars(),
                 *conn.execute(sa.select(department.c.name_zh)).scalars(),
                 *conn.execute(sa.select(process_version.c.name)).scalars(),
                 *conn.execute(sa.select(human_task.c.name)).scalars(),
                 *conn.execute(sa.select(process_instance.c.business_key)).scalars()]
    return sorted({s for s in found if s}, key=len, reverse=True)


PAGES = ("/inbox", "/inbox?view=claimable", "/tasks/{task}", "/notifications", "/started", "/start")


def test_the_daily_pages_in_english_show_chinese_only_in_the_data(client, report, db):
    login(client, "neike_head")
    client.post("/account/locale", data={"locale": "en", "csrf_token": csrf(client, "/inbox")})
    data = _data(db)
    leftovers = {}
    for path in PAGES:
        text = _visible(client.get(path.format(task=report)).get_data(as_text=True))
        for d in [*data, "中文"]:            # (the language switch names Chinese in Chinese)
            text = text.replace(d, " ")
        left = CJK.findall(text)
        if left:
            leftovers[path] = left
    assert not leftovers, leftovers
