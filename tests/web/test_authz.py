"""The authorization matrix of the pages: every route, anonymous → sign-in, wrong person → 403 (or
404 where existence itself is private), right person → allowed. A route missing from the matrix fails
the last test, so a new page cannot slip through unchecked. (The REST API has its own matrix.)"""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from engine.db.schema import attachment
from tests.web.test_campaign import campaign_id  # noqa: F401  (fixture)
from tests.web.test_pages import report  # noqa: F401  (fixtures)
from tests.helpers.web import csrf, login

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)

PUBLIC = {"/healthz", "/readyz", "/metrics", "/login", "/login/two-factor", "/login/enrol", "/logout", "/account/locale", "/vendor/<path:name>", "/static/<path:filename>",
          "/report", "/report/status",   # the public reporting page: tested in test_clue_pages.py
          "/login/oidc", "/login/oidc/callback", "/login/oidc/backchannel-logout",
          "/login/cas"}   # single sign-on: tested in test_signon.py

# rule, method, path (filled in with the task/attachment ids), wrong user, status for the wrong user,
# right user. Anonymous users are always sent to the sign-in page.
MATRIX = [
    ("/", "GET", "/", None, None, "nurse"),
    ("/inbox", "GET", "/inbox", None, None, "nurse"),
    ("/notifications", "GET", "/notifications", None, None, "nurse"),
    ("/notifications/read", "POST", "/notifications/read", None, None, "nurse"),
    ("/notifications/<int:notification_id>", "POST", "/notifications/1", None, None, "nurse"),
    ("/started", "GET", "/started", None, None, "nurse"),
    ("/started/<instance_id>", "GET", "/started/{instance}", "neike_head", 404, "jijian"),
    ("/inbox/filters", "POST", "/inbox/filters", None, None, "nurse"),
    ("/inbox/filters/<int:filter_id>/delete", "POST", "/inbox/filters/1/delete", None, None, "nurse"),
    ("/account/password", "GET", "/account/password", None, None, "nurse"),
    ("/account/password", "POST", "/account/password", None, None, "nurse"),
    ("/account/two-factor", "GET", "/account/two-factor", None, None, "nurse"),
    ("/account/two-factor", "POST", "/account/two-factor", None, None, "nurse"),
    ("/tasks/<task_id>", "GET", "/tasks/{task}", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>", "POST", "/tasks/{task}", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/claim", "POST", "/tasks/{task}/claim", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/unclaim", "POST", "/tasks/{task}/unclaim", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/delegate", "POST", "/tasks/{task}/delegate", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/transfer", "POST", "/tasks/{task}/transfer", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/targets", "GET", "/tasks/{task}/targets", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/reassign", "POST", "/tasks/{task}/reassign", "waike_head", 403, "neike_head"),
    ("/tasks/<task_id>/recuse", "POST", "/tasks/{task}/recuse", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/comments", "POST", "/tasks/{task}/comments", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/attachments", "POST", "/tasks/{task}/attachments", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/send-back", "POST", "/tasks/{task}/send-back", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/withdraw", "POST", "/tasks/{task}/withdraw", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/urge", "POST", "/tasks/{task}/urge", "nurse", 403, "jijian"),
    ("/tasks/<task_id>/copies", "POST", "/tasks/{task}/copies", "surgeon", 403, "neike_head"),
    ("/copies", "GET", "/copies", None, None, "nurse"),
    ("/inbox/bulk", "POST", "/inbox/bulk", None, None, "nurse"),
    ("/tasks/<task_id>/signers", "POST", "/tasks/{task}/signers", "surgeon", 403, "neike_head"),
    ("/signatures", "GET", "/signatures", None, None, "nurse"),
    ("/signatures/<int:signature_id>", "GET", "/signatures/1", "surgeon", 404, "nurse"),
    ("/signatures/<int:signature_id>", "POST", "/signatures/1", "surgeon", 404, "nurse"),
    ("/copies/<int:copy_id>", "GET", "/copies/1", "surgeon", 404, "nurse"),
    ("/attachments/<int:attachment_id>", "GET", "/attachments/{attachment}", "surgeon", 404, "neike_head"),
    ("/instances/<instance_id>/diagram", "GET", "/instances/{instance}/diagram", "surgeon", 404, "neike_head"),
    ("/start", "GET", "/start", None, None, "nurse"),
    ("/start/<key>", "GET", "/start/monthly_report", "neike_head", 403, "jijian"),
    ("/start/<key>", "POST", "/start/monthly_report", "neike_head", 403, "jijian"),
    ("/admin/staff", "GET", "/admin/staff", "neike_head", 403, "admin"),
    ("/admin/staff/new", "GET", "/admin/staff/new", "neike_head", 403, "admin"),
    ("/admin/staff/<username>", "GET", "/admin/staff/nurse", "neike_head", 403, "admin"),
    ("/admin/staff/new", "POST", "/admin/staff/new", "neike_head", 403, "admin"),
    ("/admin/staff/<username>", "POST", "/admin/staff/nurse", "neike_head", 403, "admin"),
    ("/admin/staff/<username>/relations", "POST", "/admin/staff/nurse/relations", "neike_head", 403, "admin"),
    ("/admin/staff/<username>/two-factor", "POST", "/admin/staff/nurse/two-factor", "neike_head", 403, "security"),
    ("/admin/departments", "GET", "/admin/departments", "jijian", 403, "admin"),
    ("/admin/departments", "POST", "/admin/departments", "jijian", 403, "admin"),
    ("/admin/calendar", "GET", "/admin/calendar", "auditor", 403, "admin"),
    ("/admin/calendar", "POST", "/admin/calendar", "auditor", 403, "admin"),
    ("/admin/hospital", "GET", "/admin/hospital", "jijian", 403, "admin"),
    ("/admin/hospital", "POST", "/admin/hospital", "auditor", 403, "admin"),
    ("/admin/import", "GET", "/admin/import", "owner", 403, "admin"),
    ("/admin/import", "POST", "/admin/import", "owner", 403, "admin"),
    ("/admin/import/<token>", "GET", "/admin/import/x", "owner", 403, "admin"),
    ("/admin/import/<token>", "POST", "/admin/import/x", "owner", 403, "admin"),
    ("/admin/import/<token>/status", "GET", "/admin/import/x/status", "owner", 403, "admin"),
    ("/campaigns", "GET", "/campaigns", "nurse", 403, "jijian"),
    ("/campaigns/new", "GET", "/campaigns/new", "neike_head", 403, "jijian"),
    ("/campaigns/new", "POST", "/campaigns/new", "neike_head", 403, "jijian"),
    ("/campaigns/mine", "GET", "/campaigns/mine", "nurse", 403, "neike_head"),
    ("/campaigns/<campaign_id>", "GET", "/campaigns/{campaign}", "neike_head", 403, "auditor"),
    ("/campaigns/<campaign_id>/timeline.json", "GET", "/campaigns/{campaign}/timeline.json", "nurse", 403, "jijian"),
    ("/campaigns/<campaign_id>/cells/<column>/<department>", "GET", "/campaigns/{campaign}/cells/mobilization/neike",
     "waike_head", 403, "neike_head"),
    ("/clues", "GET", "/clues", "nurse", 403, "jijian"),
    ("/clues/export.xlsx", "GET", "/clues/export.xlsx", "neike_head", 403, "jijian"),
    ("/clues/quarterly", "GET", "/clues/quarterly", "neike_head", 403, "jijian"),
    ("/clues/quarterly.xlsx", "GET", "/clues/quarterly.xlsx", "nurse", 403, "auditor"),
    ("/clues/new", "GET", "/clues/new", "auditor", 403, "jijian"),
    ("/clues/new", "POST", "/clues/new", "admin", 403, "jijian"),
    ("/clues/<instance_id>", "GET", "/clues/{clue}", "neike_head", 403, "auditor"),
    ("/clues/<instance_id>/reporter", "POST", "/clues/{clue}/reporter", "admin", 403, "jijian"),
    ("/clues/<instance_id>/reopen", "POST", "/clues/{clue}/reopen", "owner", 403, "jijian"),
    ("/clues/<instance_id>/review", "POST", "/clues/{clue}/review", "neike_head", 403, "jijian"),
    ("/reports", "GET", "/reports", "nurse", 403, "jijian"),
    ("/reports/<campaign_id>/<kind>", "GET", "/reports/{campaign}/outcomes", "neike_head", 403, "auditor"),
    ("/reports/<campaign_id>/<kind>.xlsx", "GET", "/reports/{campaign}/monthly.xlsx", "nurse", 403, "neike_head"),
    ("/records/gifts", "GET", "/records/gifts", "neike_head", 403, "jijian"),
    ("/records/gifts.xlsx", "GET", "/records/gifts.xlsx", "owner", 403, "jijian"),
    ("/records/issues", "GET", "/records/issues", "nurse", 403, "neike_head"),
    ("/records/issues.xlsx", "GET", "/records/issues.xlsx", "nurse", 403, "jijian"),
    ("/records/people", "GET", "/records/people", None, None, "nurse"),
    ("/records/people/<username>", "GET", "/records/people/nurse", "nurse2", 403, "nurse"),
    ("/records/conduct", "GET", "/records/conduct", "nurse", 403, "neike_head"),
    ("/records/conduct", "POST", "/records/conduct", "nurse", 403, "neike_head"),
    ("/records/conduct/import", "POST", "/records/conduct/import", "surgeon", 403, "neike_head"),
    ("/reports/<campaign_id>/dashboard", "GET", "/reports/{campaign}/dashboard", "neike_head", 403, "jijian"),
    ("/reports/<campaign_id>/dashboard.json", "GET", "/reports/{campaign}/dashboard.json", "nurse", 403, "auditor"),
    ("/reports/<campaign_id>/overdue", "GET", "/reports/{campaign}/overdue?department=waike", "neike_head", 403,
     "waike_head"),
    ("/audit", "GET", "/audit", "nurse", 403, "auditor"),
    ("/audit/instances/<instance_id>", "GET", "/audit/instances/{instance}", "neike_head", 403, "auditor"),
    ("/audit/instances/<instance_id>/frames", "GET", "/audit/instances/{instance}/frames", "neike_head", 403, "auditor"),
    ("/audit/instances/<instance_id>/replay", "GET", "/audit/instances/{instance}/replay", "neike_head", 403, "auditor"),
    ("/audit/instances/<instance_id>/package", "GET", "/audit/instances/{instance}/package", "neike_head", 403,
     "auditor"),
    ("/audit/package", "GET", "/audit/package?from=2026-09-28&to=2026-09-28", "nurse", 403, "auditor"),
    ("/audit/package.zip", "GET", "/audit/package.zip?from=2026-09-28&to=2026-09-28", "nurse", 403, "auditor"),
    ("/audit/verify", "POST", "/audit/verify", "owner", 403, "auditor"),
    ("/audit/instances/<instance_id>/grants", "POST", "/audit/instances/{instance}/grants", "auditor", 403, "jijian"),
    ("/audit/administration", "GET", "/audit/administration", "owner", 403, "auditor"),
    ("/audit/migrations", "GET", "/audit/migrations", "owner", 403, "jijian"),
    ("/audit/migrations/<instance_id>/approve", "POST", "/audit/migrations/{instance}/approve", "owner", 403, "jijian"),
    ("/audit/versions/<int:version_id>/heatmap", "GET", "/audit/versions/1/heatmap", "nurse", 403, "auditor"),
    ("/analytics", "GET", "/analytics", "nurse", 403, "owner"),
    ("/analytics/versions/<int:version_id>", "GET", "/analytics/versions/1", "neike_head", 403, "owner"),
    ("/analytics/versions/<int:version_id>.xlsx", "GET", "/analytics/versions/1.xlsx", "nurse", 403, "auditor"),
    ("/modeler", "GET", "/modeler", None, None, "nurse"),
    ("/modeler/new", "GET", "/modeler/new", "jijian", 403, "owner"),
    ("/modeler/<key>", "GET", "/modeler/monthly_report", None, None, "nurse"),
    ("/modeler/<key>/versions", "GET", "/modeler/monthly_report/versions", None, None, "nurse"),
    ("/modeler/<key>/versions/<int:number>.bpmn", "GET", "/modeler/monthly_report/versions/1.bpmn", None, None,
     "nurse"),
    ("/modeler/<key>/diff", "GET", "/modeler/monthly_report/diff", None, None, "nurse"),
    ("/modeler/validate", "POST", "/modeler/validate", "jijian", 403, "owner"),
    ("/modeler/draft", "POST", "/modeler/draft", "neike_head", 403, "owner"),
    ("/modeler/deploy", "POST", "/modeler/deploy", "jijian", 403, "admin"),
    ("/modeler/<key>/instances/<instance_id>/migrate", "POST", "/modeler/monthly_report/instances/{instance}/migrate",
     "jijian", 403, "owner"),
    ("/modeler/forms", "GET", "/modeler/forms", "jijian", 403, "owner"),
    ("/modeler/forms/<key>", "GET", "/modeler/forms/monthly_report", "nurse", 403, "owner"),
    ("/modeler/forms/<key>", "POST", "/modeler/forms/monthly_report", "jijian", 403, "admin"),
    ("/modeler/forms/preview", "POST", "/modeler/forms/preview", "auditor", 403, "owner"),
    ("/modeler/decisions", "GET", "/modeler/decisions", None, None, "nurse"),
    ("/modeler/decisions/new", "GET", "/modeler/decisions/new", "jijian", 403, "owner"),
    ("/modeler/decisions/<key>", "GET", "/modeler/decisions/nothing", None, None, "nurse"),
    ("/modeler/decisions/<key>/versions/<int:number>.dmn", "GET", "/modeler/decisions/nothing/versions/1.dmn",
     None, None, "nurse"),
    ("/modeler/decisions/deploy", "POST", "/modeler/decisions/deploy", "jijian", 403, "owner"),
    ("/account/messages", "GET", "/account/messages", None, None, "nurse"),
    ("/account/messages", "POST", "/account/messages", None, None, "nurse"),
    ("/admin/messages", "GET", "/admin/messages", "jijian", 403, "admin"),
    ("/admin/messages/<int:message_id>/retry", "POST", "/admin/messages/1/retry", "auditor", 403, "admin"),
    ("/admin/staff/<username>/sign-on", "GET", "/admin/staff/nurse/sign-on", "neike_head", 403, "admin"),
    ("/admin/staff/<username>/sign-on", "POST", "/admin/staff/nurse/sign-on", "owner", 403, "admin"),
    ("/tasks/<task_id>/documents", "GET", "/tasks/{task}/documents", "surgeon", 403, "neike_head"),
    ("/tasks/<task_id>/documents", "POST", "/tasks/{task}/documents", "surgeon", 403, "neike_head"),
    ("/documents/<int:document_id>", "GET", "/documents/{document}", "surgeon", 404, "neike_head"),
    ("/documents/<int:document_id>.docx", "GET", "/documents/{document}.docx", "surgeon", 404, "neike_head"),
    ("/documents/<int:document_id>.pdf", "GET", "/documents/{document}.pdf", "surgeon", 404, "neike_head"),
    ("/instances/<instance_id>/documents", "GET", "/instances/{instance}/documents", "surgeon", 404, "neike_head"),
    ("/documents/numbers", "GET", "/documents/numbers", "auditor", 403, "jijian"),
    ("/documents/numbers/void", "POST", "/documents/numbers/void", "admin", 403, "jijian"),
    ("/modeler/documents", "GET", "/modeler/documents", "jijian", 403, "owner"),
    ("/modeler/documents/<kind>", "GET", "/modeler/documents/月度工作进展报告", "nurse", 403, "owner"),
    ("/modeler/documents/<kind>", "POST", "/modeler/documents/月度工作进展报告", "jijian", 403, "admin"),
    ("/modeler/documents/<kind>/v<int:version>.docx", "GET", "/modeler/documents/月度工作进展报告/v1.docx", "nurse", 403,
     "owner"),
]


@pytest.fixture
def ids(report, engine, db):
    task = engine.task(report)
    from engine.inbox import attachments
    from engine.db.transactions import write_transaction
    with write_transaction(db) as conn:
        att = attachments.store(conn, instance_id=task.instance_id, task_id=report, filename="a.pdf",
                                data=b"%PDF", user="neike_head", now=engine.clock.now())
    from engine.documents import service as documents
    from engine.org.people import principal
    with write_transaction(db) as conn:
        head = principal(conn, "neike_head")
    made = documents.generate(engine, head, report, "月度工作进展报告")
    return {"task": report, "instance": task.instance_id, "attachment": att["id"], "document": made["id"]}


@pytest.fixture
def clue_id(engine, app, people, shipped) -> str:
    """An anonymous clue (the clue pages' routes need one)."""
    from engine.clues import intake as clues_intake
    fields = {"person_name": "刘某", "person_position": None, "person_department": "neike", "position_level": "other",
              "party_member": True, "summary": "反映刘某收受红包", "source": "petition", "channel": "letter",
              "received_on": "2026-09-28", "real_name": False}
    return clues_intake.register(engine, app.extensions["qinglian_reporter_vault"], fields,
                                 started_by="jijian").instance_id


def _request(client, method: str, path: str, user: str | None):
    if method == "GET":
        return client.get(path)
    token = csrf(client, "/inbox" if user else "/login")
    return client.post(path, data={"csrf_token": token, "file": (io.BytesIO(b"%PDF"), "b.pdf")},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("rule,method,path,wrong,wrong_status,right", MATRIX, ids=[f"{m} {r}" for r, m, *_ in MATRIX])
def test_route(app, ids, request, rule, method, path, wrong, wrong_status, right):
    if "{campaign}" in path:
        ids = dict(ids, campaign=request.getfixturevalue("campaign_id"))
    if "{clue}" in path:
        ids = {**ids, "clue": request.getfixturevalue("clue_id")}
    path = path.format(**ids)
    anon = app.test_client()
    resp = _request(anon, method, path, None)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"], "anonymous must sign in"
    if wrong:
        c = app.test_client()
        login(c, wrong)
        assert _request(c, method, path, wrong).status_code == wrong_status
    c = app.test_client()
    login(c, right)
    status = _request(c, method, path, right).status_code
    assert status not in (401, 403) and status < 500, status


def test_every_page_route_is_in_the_matrix(app):
    covered = {(rule, method) for rule, method, *_ in MATRIX}
    missing = []
    for r in app.url_map.iter_rules():
        if r.rule.startswith("/api/") or r.rule in PUBLIC:
            continue
        for method in r.methods - {"HEAD", "OPTIONS"}:
            if (r.rule, method) not in covered:
                missing.append(f"{method} {r.rule}")
    assert not missing, f"routes without an authorization test: {missing}"


def test_a_file_of_one_instance_cannot_be_fetched_by_a_stranger(app, ids, db):
    c = app.test_client()
    login(c, "nurse2")                                   # same department, but not a candidate
    with db.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(attachment)).scalar()
    assert c.get(f"/attachments/{ids['attachment']}").status_code == 404
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(attachment)).scalar() == before >= 1
