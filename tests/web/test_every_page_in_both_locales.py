"""Every page a demo user can reach, in both languages: signed in as each demo login of the README's
tour (one per role), the test follows every link from the home page (each kind of page a few times)
and reads what the page shows. An English page shows no Chinese but the data itself (names of
people, departments, processes and tasks, business keys, what was typed into forms); a Chinese page
shows no English sentence or word that is not data or a product name (PDF, Word, BPMN…)."""
from __future__ import annotations

import html
import json
import re
from collections import Counter, deque
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from engine.campaign.operators import CAMPAIGN
from engine.config import PROJECT_ROOT, Settings
from engine.db.schema import (decision_version, department, document_number, event, human_task, instance_task,
                              process_instance, process_version, staff, task_comment)
from engine.db.transactions import write_transaction
from engine.demo import hospital
from engine.documents import kinds
from tests.helpers.web import csrf, login

pytestmark = [pytest.mark.real_forms, pytest.mark.slow]

DEMO_PASSWORD = "qinglian2026"
LOGINS = ("neike_head", "jijian", "neike_nurse1", "yiwu_head", "shuji", "liucheng", "shenji", "admin", "anquan",
          "shenjiguan")
CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
# Pages that are files, leave the session, or change something when fetched.
SKIP = re.compile(r"^/(static|vendor|api)/|^/logout|^/login|\.(docx|pdf|xlsx|csv|zip|json|bpmn|dmn|png|svg|txt)(\?|$)|"
                  r"/export|/download|/attachments/|/package|/diagram|/report$|/report\?")
PER_ROUTE = 2              # pages of one kind (same path with its ids and query left out)
PER_USER = 120
# Words a Chinese page may show in Latin letters: product and standard names, units, codes.
LATIN_OK = {"PDF", "Word", "Excel", "BPMN", "DMN", "API", "REST", "CSV", "LDAP", "AD", "OIDC", "CAS", "SSO",
            "TOTP", "SHA", "ID", "IP", "URL", "UTC", "JSON", "XML", "UTF", "GB", "MB", "KB", "OA", "HIS", "SM",
            "Qinglian", "QINGLIAN", "English", "Bearer", "PNG", "SVG", "ZIP", "Office", "WPS", "CA", "FEEL",
            "AND", "OR", "NOT", "UNIQUE", "COLLECT", "FIRST", "PRIORITY", "ANY", "RULE", "Python", "Camunda",
            "SpiffWorkflow", "docx", "pdf", "xlsx", "csv", "bpmn", "dmn", "json", "v", "x", "am", "pm",
            "qinglian", "administration"}     # the command and the hash chain's name, quoted as written

def _shape(path: str) -> str:
    """/tasks/3f2a…/documents → /tasks/*/documents (a kind of page)."""
    parts = [("*" if re.search(r"\d|[A-Za-z0-9_-]{20,}|%", p) else p) for p in urlsplit(path).path.split("/")]
    return "/".join(parts)


def _visible(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|template|textarea|code|pre)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    text = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"), ("&quot;", '"'), ("&#39;", "'"), ("&nbsp;", " ")):
        text = text.replace(entity, char)
    return re.sub(r"\s+", " ", text)


def _strings(value, out: set) -> None:
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def _data(db) -> list[str]:
    """What pages show as data: people and departments by name, the names in the process models
    (processes, their steps, gateways and decisions), business keys, document numbers, the process
    data and what was typed into forms, comments; longest first."""
    found: set[str] = set()
    with db.connect() as conn:
        for column in (staff.c.name, staff.c.username, department.c.name_zh, department.c.name_en, department.c.code,
                       process_version.c.name, human_task.c.name, process_instance.c.business_key,
                       task_comment.c.body, document_number.c.text, document_number.c.kind):
            found.update(s for s in conn.execute(sa.select(column)).scalars() if s)
        for xml in [*conn.execute(sa.select(process_version.c.bpmn_xml)).scalars(),
                    *conn.execute(sa.select(decision_version.c.dmn_xml)).scalars()]:
            found.update(html.unescape(n) for n in re.findall(r'\bname="([^"]+)"', xml))
        for raw in conn.execute(sa.select(instance_task.c.data_json)).scalars():
            _strings(json.loads(raw or "{}"), found)
        for raw in conn.execute(sa.select(event.c.data_json)).scalars():
            _strings(json.loads(raw or "{}"), found)
    found.update(k.number for k in kinds.load_kinds().values() if k.number)   # 文号 sequences: 函, 告 …
    return sorted({s.strip() for s in found if s and s.strip()}, key=len, reverse=True)


@pytest.fixture
def demo(engine, app):
    hospital.load(engine, Settings.from_env())
    _ended_campaign(engine)
    return _data(engine.db)


def _ended_campaign(engine) -> None:
    """Last year's campaign, ended: the disclosure form offers it marked as ended (the office may still
    file a paper disclosure under it)."""
    view = engine.start(CAMPAIGN, started_by="jijian", business_key="清廉医〔2025〕3号", data={
        "name": "2025年行风建设专项整治", "doc_no": "清廉医〔2025〕3号", "departments": ["neike"],
        "mobilization_deadline": "2026-10-09", "selfcheck_deadline": "2026-10-16",
        "rectification_deadline": "2026-10-23", "consolidation_deadline": "2026-10-30",
        "disclosure_deadline": "2026-10-16", "report_day": 20})
    with write_transaction(engine.db) as conn:       # ended early: only its end matters here
        conn.execute(process_instance.update().where(process_instance.c.id == view.id).values(
            status="completed", ended_at=engine.clock.now()))


def _crawl(app, user: str, locale: str):
    client = app.test_client()
    login(client, user, DEMO_PASSWORD)     # (a privileged one enrols an authenticator: its codes page)
    assert client.get("/inbox").status_code == 200, user
    client.post("/account/locale", data={"locale": locale, "csrf_token": csrf(client, "/inbox")})
    seen, shapes, queue, pages = set(), Counter(), deque(["/"]), {}
    while queue and len(pages) < PER_USER:
        path = queue.popleft()
        if path in seen or SKIP.search(path):
            continue
        seen.add(path)
        shape = _shape(path)
        if shapes[shape] >= PER_ROUTE:
            continue
        shapes[shape] += 1
        resp = client.get(path)
        assert resp.status_code < 500, (user, locale, path, resp.status_code)
        if resp.status_code in (301, 302, 303) and resp.location:
            shapes[shape] -= 1
            queue.appendleft(urlsplit(resp.location)._replace(scheme="", netloc="").geturl())
            continue
        if resp.status_code != 200 or not resp.content_type.startswith("text/html"):
            continue
        html = resp.get_data(as_text=True)
        pages[path] = html
        for href in re.findall(r'href="(/[^"#]*)"', html):
            href = href.replace("&amp;", "&")
            if href not in seen:
                queue.append(href)
    return pages


# Pages of a person's daily work, and the audit desk's, the modeler's and the analyses' pages: there a
# shipped process is named in English (its BPMN's `nameEn`), so its Chinese name is not data but a leftover.
NAMED_IN_ENGLISH = re.compile(r"^/(inbox|tasks/\*|start|start/\*|started|started/\*|audit(/.*)?|modeler(/.*)?|"
                              r"analytics(/.*)?)$")
# The inbox, the task pages, the audit desk and the analyses: there a shipped process's steps are named
# in English too (the catalogue's, by process key), so their Chinese names are leftovers.
STEPS_IN_ENGLISH = re.compile(r"^/(inbox|tasks/\*|audit(/.*)?|analytics(/.*)?)$")
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask", "sendTask", "receiveTask",
              "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
              "eventBasedGateway")


def _shipped_steps() -> set[str]:
    """The names of the steps of the processes the product ships (processes/*.bpmn)."""
    found = set()
    for path in (PROJECT_ROOT / "processes").glob("*.bpmn"):
        xml = path.read_text(encoding="utf-8")
        nodes = re.findall(rf'<bpmn:(?:{"|".join(FLOW_NODES)})\b[^>]*\bname="([^"]+)"', xml)
        found.update(html.unescape(n) for n in nodes)
    return found


def _english_leftovers(text: str, data: list[str]) -> list[str]:
    for d in [*data, "中文"]:              # (the language switch names Chinese in Chinese)
        if CJK.search(d):
            text = text.replace(d, " ")
    return CJK.findall(text)


def _latin_leftovers(text: str, data: list[str]) -> list[str]:
    for d in data:
        if re.search(r"[A-Za-z]", d):
            text = re.sub(rf"(?<![A-Za-z]){re.escape(d)}(?![A-Za-z])", " ", text)
    words = re.findall(r"(?<![\w.@/-])[A-Za-z][A-Za-z']*(?![\w@/-])", text)
    return [w for w in words if w not in LATIN_OK and len(w) > 1 and not w.isupper()]


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_every_page_a_demo_user_reaches_is_in_their_language(app, demo, locale):
    problems: dict[str, list[str]] = {}
    visited = 0
    with app.extensions["qinglian"].db.connect() as conn:
        process_names = set(conn.execute(sa.select(process_version.c.name)).scalars())
    shipped_steps = _shipped_steps()
    for user in LOGINS:
        pages = _crawl(app, user, locale)
        visited += len(pages)
        for path, html in pages.items():
            text = _visible(html)
            data = demo
            if locale == "en" and NAMED_IN_ENGLISH.match(_shape(path)):
                data = [d for d in demo if d not in process_names]
            if locale == "en" and STEPS_IN_ENGLISH.match(_shape(path)):
                data = [d for d in data if d not in shipped_steps]
            left = _english_leftovers(text, data) if locale == "en" else _latin_leftovers(text, data)
            if left:
                problems.setdefault(_shape(path), sorted(set(left))[:12])
    assert visited > 100, visited                         # the crawl reached the product, not just a login page
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
