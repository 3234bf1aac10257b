"""`python -m bench` (`make bench`): run the benchmark suite and print its JSON report."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import engine_bench, rest_bench


def _analytics(quick: bool) -> dict:
    """Process analytics on SQLite and on PostgreSQL (a database of its own: the page's read over
    100,000 instances)."""
    import os
    import tempfile
    from bench import analytics_bench, engine_bench
    pg = os.environ.get("QINGLIAN_BENCH_ANALYTICS_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/qinglian_bench_analytics")
    engine_bench._ensure_pg_database(pg)
    with tempfile.TemporaryDirectory() as tmp:
        return {"analytics_sqlite": analytics_bench.run(engine_bench._fresh_engine,
                                                        f"sqlite:///{Path(tmp) / 'analytics.db'}", quick=quick),
                "analytics_postgresql": analytics_bench.run(engine_bench._fresh_engine, pg, quick=quick)}


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="Fewer iterations (a smoke run).")
    ap.add_argument("--output", type=Path, default=None, help="Also write the report to this file.")
    ap.add_argument("--rest-only", action="store_true",
                    help="Only the REST API beside the in-process engine (bench/rest_bench.py): about a minute.")
    ap.add_argument("--documents-only", action="store_true",
                    help="Only official documents (bench/documents_bench.py): render, generate, PDF.")
    ap.add_argument("--analytics-only", action="store_true",
                    help="Only process analytics (bench/analytics_bench.py): 100,000 instances, the page's read.")
    args = ap.parse_args()
    if args.documents_only:
        import tempfile
        from bench import documents_bench
        with tempfile.TemporaryDirectory() as tmp:
            report = {"documents_sqlite": documents_bench.run(engine_bench._fresh_engine,
                                                              f"sqlite:///{Path(tmp) / 'documents.db'}",
                                                              quick=args.quick)}
    elif args.analytics_only:
        report = _analytics(args.quick)
    elif args.rest_only:
        report = {"rest_sqlite": rest_bench.run(quick=args.quick)}
    else:
        report = engine_bench.run(quick=args.quick)
        report["rest_sqlite"] = rest_bench.run(quick=args.quick)
        report.update(_analytics(args.quick))
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
