"""`qinglian audit ...`: verify the hash chains, make and check digests, replay an instance, export a package."""
from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import click

from engine.deadlines.workdays import BEIJING


@click.group()
def audit():
    """Tamper evidence, replay and audit packages (read-only)."""


def _day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), BEIJING)
    except ValueError:
        raise click.BadParameter(f'"{value}" is not a date like 2026-09-28', param_hint=name) from None


@audit.command("verify")
@click.option("--instance", default=None, help="Only this instance's chain.")
@click.option("--against", "digest_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Also check an earlier digest (qinglian audit digest), or a whole digest "
                                 "sink (QINGLIAN_DIGEST_SINK).")
@click.pass_obj
def verify_cmd(obj, instance, digest_file):
    """Recompute every hash chain (and every deployed version); report each break with its position."""
    from engine.audit import verify as audit_mod, anchor as audit_anchor
    db = obj.engine.db
    with click.progressbar(length=1, label="verifying", file=sys.stderr, show_pos=True) as bar:
        def progress(done, total):
            bar.length = max(total, 1)
            bar.update(done - bar.pos)
        report = audit_mod.verify_report(db, instance, progress=progress)
    if digest_file is not None:
        try:
            report.breaks.extend(audit_anchor.check_file(db, digest_file.read_text(encoding="utf-8")))
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--against") from None
    obj.out(report.to_dict(), lambda r: "\n".join(
        [f"{r['events']} events in {r['chains']} chains, {r['versions']} versions checked: "
         + ("OK" if r["ok"] else f"{len(r['breaks'])} break(s)")]
        + [f"  BREAK chain {b['chain']} position {b['position']}"
           + (f" (event {b['event_id']})" if b["event_id"] else "") + f": {b['reason']}" for b in r["breaks"]]))
    if not report.ok:
        sys.exit(1)


@audit.command("digest")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the digest to this file (keep it away from the database).")
@click.pass_obj
def digest_cmd(obj, out_file):
    """Anchor the head of every chain now (run daily); prints the digest's root hash."""
    from engine.audit import anchor as audit_anchor
    digest = audit_anchor.make_digest(obj.engine.db, obj.engine.clock.now(), by="cli")
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(digest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    obj.out({"root": digest["root"], "at": digest["at"], "chains": len(digest["chains"]),
             "file": str(out_file) if out_file else None},
            lambda d: f"digest root {d['root']} at {d['at']} over {d['chains']} chains"
                      + (f", written to {d['file']}" if d["file"] else ""))


@audit.command("prune-logs")
@click.option("--days", type=int, default=None,
              help="Keep this many days (at least 180; default QINGLIAN_LOG_RETENTION_DAYS).")
@click.pass_obj
def prune_logs_cmd(obj, days):
    """Delete operational logs (sessions, tokens, sign-in counters, rate limits, delivered messages)
    older than the retention period; chained events are never deleted. The scheduler runs it daily."""
    from engine.audit import retention
    from engine.errors import Invalid
    try:
        result = retention.prune(obj.engine, days if days is not None else obj.settings.log_retention_days, by="cli")
    except Invalid as exc:
        raise click.BadParameter(str(exc.problems[0].message if exc.problems else exc), param_hint="--days") from None
    obj.out({"cutoff": result["cutoff"].isoformat(), "days": result["days"], "deleted": result["deleted"]},
            lambda r: f"kept {r['days']} days (before {r['cutoff']} deleted): "
                      + ", ".join(f"{k} {v}" for k, v in r["deleted"].items()))


@audit.command("analytics")
@click.option("--rebuild", is_flag=True, help="Empty the summaries and fold the whole event log again.")
@click.pass_obj
def analytics_cmd(obj, rebuild):
    """Fold the events written since the last run into the process analytics (the scheduler does it
    every QINGLIAN_ANALYTICS_MINUTES); with --rebuild, recompute them from the whole log."""
    from engine.audit.analytics import service as analytics
    n = analytics.rebuild(obj.engine) if rebuild else analytics.refresh(obj.engine)
    obj.out({"instances": n, "rebuilt": rebuild},
            lambda d: f"{'rebuilt from' if d['rebuilt'] else 'brought up to date'} {d['instances']} instances")


@audit.command("replay")
@click.argument("instance")
@click.pass_obj
def replay_cmd(obj, instance):
    """Re-execute INSTANCE from its recorded inputs and check every recorded state is reached."""
    from engine.runtime import replay
    result = replay.replay(obj.engine, instance)
    def text(r):
        head = f"{r['process_key']} v{r['version']}: {r['events']} events, {r['operations']} operations replayed"
        if r["ok"]:
            return head + ": every recorded state reached"
        d = r["divergence"]
        return (head + f"\nMISMATCH at event {d['seq']} ({d['type']}): {d['reason']}"
                + (f"\n  recorded: {json.dumps(d['expected'], ensure_ascii=False, default=str)}"
                   f"\n  replayed: {json.dumps(d['found'], ensure_ascii=False, default=str)}"
                   if d["expected"] is not None or d["found"] is not None else ""))
    obj.out(result.to_dict(), text)
    if not result.ok:
        sys.exit(1)


@audit.command("export")
@click.option("--instance", default=None, help="One instance.")
@click.option("--from", "date_from", default=None, help="First day (Beijing), e.g. 2026-09-01.")
@click.option("--to", "date_to", default=None, help="Last day (Beijing), included.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export_cmd(obj, instance, date_from, date_to, out_file):
    """Write an audit package (ZIP) and print its SHA-256."""
    from engine.audit import export as audit_export
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    data, sha, summary = audit_export.build_package(obj.engine, instance_id=instance, date_from=start,
                                                    date_to=end + timedelta(days=1) if end else None)
    out_file.write_bytes(data)
    obj.out(dict(summary, sha256=sha, file=str(out_file)),
            lambda s: f"{s['file']}: {s['instances']} instance(s), {s['files']} files, "
                      f"{'verified' if s['ok'] else 'PROBLEMS FOUND (see verification.json)'}\nsha256 {s['sha256']}")
