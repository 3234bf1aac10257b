"""Generating a step's document: numbered, from the task's template version, sealed on the instance
and in its hash chain; the reporter's identity only for the discipline office, as a reveal."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.audit import verify
from engine.clues import confidential, letters
from engine.db.schema import event
from engine.db.transactions import read_transaction
from engine.documents import kinds, rendering, service, templates
from engine.errors import Forbidden, Invalid, NotFound
from engine.org.people import principal
from tests.helpers.docx import with_text

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]


def _who(engine, username):
    with read_transaction(engine.db) as conn:
        return principal(conn, username)


def _task(engine, instance_id, element):
    return next(t for t in engine.show(instance_id).tasks if t.element_id == element)


@pytest.fixture
def reporter(demo):
    return letters.reporter_source(confidential.vault_from_settings(demo["settings"]))


def test_the_acceptance_notice_is_numbered_sealed_and_names_the_reporter_for_the_office(engine, demo, reporter):
    office = _who(engine, "jijian_clerk")
    task = _task(engine, demo["clue"], "acceptance_notice")
    step = service.for_task(engine, office, task.id)
    assert [(d.kind, d.numbered, d.to_reporter, d.generated) for d in step] == [("受理告知书", True, True, [])]

    made = service.generate(engine, office, task.id, "受理告知书", reporter=reporter)
    assert made["number"] == "X纪告〔2026〕1号" and made["version"] == 1 and made["template_version"] == 1
    _meta, docx = service.docx_file(engine, office, made["id"])
    text = rendering.text_of(docx)
    assert "（演示）王某：" in text and "13800000000" in text and "李建国" in text and "X纪告〔2026〕1号" in text

    with read_transaction(engine.db) as conn:
        rows = conn.execute(sa.select(event.c.chain, event.c.type, event.c.actor, event.c.data_json)
                            .where(event.c.type.in_(["document_generated", "reporter_viewed"]))).all()
    chained = {r.type: (r.chain, r.actor, json.loads(r.data_json)) for r in rows}
    chain, actor, data = chained["document_generated"]
    assert (chain, actor) == (demo["clue"], "jijian_clerk")
    assert data["docx_sha256"] == _meta["sha256"] and data["kind"] == "受理告知书" and data["template_version"] == 1
    assert data["number"] == "X纪告〔2026〕1号" and len(data["data_sha256"]) == 64 and data["reveals_reporter"]
    assert "王某" not in rows[0].data_json + rows[-1].data_json          # identities never enter events
    assert chained["reporter_viewed"][0] == confidential.ACCESS_CHAIN
    assert chained["reporter_viewed"][2] == {"instance_id": demo["clue"], "document": "受理告知书"}
    assert verify.verify(engine.db)[1] == []

    again = service.generate(engine, office, task.id, "受理告知书", reporter=reporter)
    assert (again["version"], again["number"]) == (2, "X纪告〔2026〕2号")
    assert [d["version"] for d in service.for_task(engine, office, task.id)[0].generated] == [2, 1]


def test_a_document_naming_the_reporter_is_hidden_from_everyone_outside_the_office(engine, demo, reporter):
    office = _who(engine, "jijian_clerk")
    task = _task(engine, demo["clue"], "acceptance_notice")
    made = service.generate(engine, office, task.id, "受理告知书", reporter=reporter)
    auditor = _who(engine, "shenji")
    assert service.for_instances(engine, auditor, [demo["clue"]]) == []
    with pytest.raises(NotFound):
        service.docx_file(engine, auditor, made["id"])
    from engine.inbox import tasks as inbox_tasks
    with pytest.raises(NotFound):
        inbox_tasks.download(engine, auditor, made["docx_id"])


def test_outside_the_office_the_reporter_source_reveals_nothing(engine, demo, reporter):
    with engine.db.begin() as conn:
        assert reporter(conn, _who(engine, "neike_head"), demo["clue"], engine.clock.now(), "受理告知书") is None


def test_only_whoever_may_work_the_step_generates_and_only_the_documents_it_declares(engine, demo, reporter):
    task = _task(engine, demo["clue"], "acceptance_notice")
    with pytest.raises(Forbidden):
        service.generate(engine, _who(engine, "neike_head"), task.id, "受理告知书", reporter=reporter)
    with pytest.raises(Invalid) as refused:
        service.generate(engine, _who(engine, "jijian_clerk"), task.id, "移送函", reporter=reporter)
    assert refused.value.problems[0].field == "kind"


def test_an_open_task_keeps_the_template_version_it_opened_with(engine, demo, reporter, clock):
    owner = _who(engine, "liucheng")
    office = _who(engine, "jijian_clerk")
    kind = kinds.kind("受理告知书")
    opened = _task(engine, demo["clue"], "acceptance_notice")
    clock.advance(timedelta(hours=1))
    saved = service.upload_template(engine, owner, "受理告知书", "新版.docx",
                                    with_text(templates.shipped(kind), "已依规受理", "已依规受理（新版）"), note="措辞调整")
    assert saved.version == 2
    kept = service.generate(engine, office, opened.id, "受理告知书", reporter=reporter)
    assert kept["template_version"] == 1
    assert "（新版）" not in rendering.text_of(service.docx_file(engine, office, kept["id"])[1])

    later = engine.start("clue", started_by="jijian_clerk", data={**engine.show(demo["clue"]).data})
    fresh = service.generate(engine, office, _task(engine, later.id, "acceptance_notice").id, "受理告知书",
                             reporter=reporter)
    assert fresh["template_version"] == 2
    assert "已依规受理（新版）" in rendering.text_of(service.docx_file(engine, office, fresh["id"])[1])


def test_the_audit_package_holds_the_documents_but_only_the_hashes_of_one_naming_the_reporter(engine, demo, reporter):
    from engine.audit import export
    office = _who(engine, "jijian_clerk")
    notice = service.generate(engine, office, _task(engine, demo["clue"], "acceptance_notice").id, "受理告知书",
                              reporter=reporter)
    monthly = next(t for t in engine.list_tasks(limit=500) if t.element_id == "fill_report"
                   and t.instance_id == demo["monthly_report"])
    report = service.generate(engine, _who(engine, monthly.candidate_department + "_head"), monthly.id,
                              "月度工作进展报告")
    for iid, made, named in ((demo["clue"], notice, False), (demo["monthly_report"], report, True)):
        data, _sha, summary = export.build_package(engine, instance_id=iid)
        package = zipfile.ZipFile(io.BytesIO(data))
        [listed] = json.loads(package.read("documents.json"))
        assert listed["kind"] == made["kind"] and listed["docx_sha256"] == made["docx_sha256"]
        files = [n for n in package.namelist() if n.startswith("documents/")]
        assert bool(files) == named
        if named:
            assert "王某".encode() not in package.read(files[0])
        assert summary["ok"], package.read("verification.json").decode()[:3000]
