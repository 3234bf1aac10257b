"""`make bench`, official documents (公文): rendering a document from a template (target: docx at the
p95 ≤ 200 ms), generating one through the service (a 文号, the render, the sealing: attachment and
chain event, one transaction), and its PDF through LibreOffice headless (target ≤ 3 s): the first
PDF of a process (the resident office starting) and the following ones (the office kept running)."""
from __future__ import annotations

import statistics
import time

import sqlalchemy as sa

from engine.config import Settings
from engine.db.schema import human_task
from engine.db.transactions import read_transaction
from engine.demo import hospital
from engine.documents import fields, kinds, office, pdf, rendering, service, templates
from engine.org.people import principal

DOCX_P95_MS, PDF_S = 200, 3.0


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def _ms(seconds: list[float]) -> dict:
    return {"n": len(seconds), "median_ms": round(statistics.median(seconds) * 1000, 1),
            "p95_ms": round(_p95(seconds) * 1000, 1), "max_ms": round(max(seconds) * 1000, 1)}


def run(fresh_engine, url: str, quick: bool = False) -> dict:
    engine = fresh_engine(url)
    hospital.load(engine, Settings.from_env())
    rounds = 3 if quick else 20
    now = engine.clock.now()
    render = []
    with read_transaction(engine.db) as conn:
        monthly = conn.execute(sa.select(human_task.c.id, human_task.c.instance_id).where(
            human_task.c.element_id == "fill_report", human_task.c.status == "open")).first()
        data = engine.show(monthly.instance_id).data
        head = principal(conn, conn.execute(sa.select(human_task.c.candidate_department)
                                            .where(human_task.c.id == monthly.id)).scalar() + "_head")
        prepared = []
        for kind in kinds.load_kinds().values():
            values = fields.document_values(engine, conn, kind, data, business_key="2026-11 内科", now=now)
            prepared.append((templates.current(conn, kind)[1], values))
    for _ in range(rounds):
        for template, values in prepared:
            t0 = time.perf_counter()
            docx = rendering.render(template, values)
            render.append(time.perf_counter() - t0)
    generate = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        service.generate(engine, head, monthly.id, "月度工作进展报告")
        generate.append(time.perf_counter() - t0)
    conversions, first = [], None
    if pdf.available():
        office.shutdown()                       # the first conversion starts the resident office
        t0 = time.perf_counter()
        pdf.to_pdf(docx)
        first = time.perf_counter() - t0
        for _ in range(5 if quick else 20):
            t0 = time.perf_counter()
            pdf.to_pdf(docx)
            conversions.append(time.perf_counter() - t0)
    engine.db.dispose()
    report = {"render_docx_all_14_templates": dict(_ms(render), target_p95_ms=DOCX_P95_MS),
              "generate_monthly_report_service_call": dict(_ms(generate), target_p95_ms=DOCX_P95_MS)}
    if conversions:
        ordered = sorted(conversions)
        report["pdf_libreoffice"] = {"n": len(conversions), "median_s": round(statistics.median(conversions), 2),
                                     "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
                                     "max_s": round(max(conversions), 2), "target_s": PDF_S,
                                     "first_with_office_start_s": round(first, 2),
                                     "resident": office.uno_python() is not None}
    return report
