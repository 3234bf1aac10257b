"""Process registry: deploy BPMN files as immutable, numbered versions.

A version stores its XML, sha256 and the parsed spec of its process together with the specs of
every process it calls (resolved at deploy time), so a running instance never sees a later edit.
Deploying content identical to a key's latest version returns that version.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin

from engine import history
from engine.bpmn import decisions, migration_rule, spiff
from engine.db.transactions import write_transaction, read_transaction
from engine.errors import Invalid, NotFound, Problem
from engine.forms import FormCatalog
from engine.db.prepared import Prepared
from engine.org.roles import role_resolver
from engine.sandbox import check_source
from engine.db.schema import process_version
from engine.bpmn.validation import SourceFile, validate_bundle


@dataclass(frozen=True)
class DeployedVersion:
    id: int
    process_key: str
    version: int
    name: str | None
    sha256: str
    file_name: str
    created: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LoadedVersion:
    """A deployed version with its specs restored, shared by all its instances."""

    id: int
    process_key: str
    version: int
    spec: object
    subprocess_specs: dict
    lanes: dict
    confidential: str | None = None   # roles that may see its tasks, comma-separated, if confidential
    joins: frozenset = frozenset()    # names of its join task specs (they merge their branches' data)
    # the process's own properties (recusal's personsConcerned / withheldFromRoles, quorum, …)
    properties: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessInfo:
    """What the process says of itself (its own properties), for the start page and visibility."""

    key: str
    name: str | None
    version: int
    startable_by: frozenset[str]            # role codes; "staff" = every signed-in person
    start_form: str | None
    confidential: frozenset[str] | None     # roles that may see its instances, besides their starter
    receipt: str | None = None              # what its starter's receipt tells them (`variable:label, …`)
    name_en: str | None = None              # its name for English readers (property `nameEn`)

    @classmethod
    def from_row(cls, row) -> "ProcessInfo":
        props = json.loads(row.meta_json).get("process", {})
        confidential = props.get("confidential")
        return cls(row.process_key, row.name, row.version, frozenset(props.get("startableBy", ())),
                   props.get("startForm"), frozenset(confidential) if confidential is not None else None,
                   props.get("receipt"), props.get("nameEn"))


def process_infos(conn, keys: list[str] | None = None) -> dict[str, ProcessInfo]:
    """The latest version's ProcessInfo of every process (or of `keys`)."""
    latest = (sa.select(process_version.c.process_key, sa.func.max(process_version.c.version).label("v"))
              .group_by(process_version.c.process_key))
    if keys is not None:
        latest = latest.where(process_version.c.process_key.in_(keys))
    latest = latest.subquery()
    rows = conn.execute(sa.select(process_version.c.process_key, process_version.c.name, process_version.c.version,
                                  process_version.c.meta_json)
                        .join(latest, sa.and_(process_version.c.process_key == latest.c.process_key,
                                              process_version.c.version == latest.c.v))).all()
    return {r.process_key: ProcessInfo.from_row(r) for r in rows}


# The latest version of one process, with its id (what `Registry.latest_info` remembers).
_LATEST_INFO = Prepared(sa.select(process_version.c.id, process_version.c.process_key, process_version.c.name,
                                  process_version.c.version, process_version.c.meta_json)
                        .where(process_version.c.process_key == sa.bindparam("p_key"))
                        .order_by(process_version.c.version.desc()).limit(1))


class Registry:
    def __init__(self, db: sa.Engine, forms: FormCatalog, clock, cache_size: int = 256, operators=None):
        """`operators`: what the engine provides beyond scripts — anything with `services` and `guards`
        mappings by name (the runtime's Connectors); deploy refuses a diagram naming another one."""
        self.db = db
        self.forms = forms
        self.clock = clock
        self._cache: OrderedDict[int, LoadedVersion] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[int, int]] = {}          # key -> (id, number) last resolved as latest
        self._numbered: dict[tuple[str, int], int] = {}        # (key, number) -> id
        self._infos: dict[int, ProcessInfo] = {}                # version id -> its ProcessInfo (never changes)
        self.on_deployed = None     # hook(conn, key, spec, now) run in the deploy transaction
        self.on_decision = None     # hook(task, evaluation) when a business rule task decides
        self.operators = operators
        self.helper_names = frozenset({"now", "today", "working_days", "monthly", "working_days_from", "end_of_day",
                                   "staff_name"})

    # -- deploy -------------------------------------------------------------------------------
    def deploy(self, files: list[SourceFile], deployed_by: str, note: str | None = None, *,
               within: Callable | None = None) -> list[DeployedVersion]:
        """Deploy the files' processes as new versions (a file equal to the latest version makes
        none). `within(conn, deployed)` runs in the same transaction (e.g. to drop the drafts)."""
        if not files:
            raise Invalid("nothing to deploy", [Problem("no BPMN file given", field="files")])
        with write_transaction(self.db) as conn:
            bundle = self._validate(conn, files)
            by_name = {f.name: f for f in files}
            results = []
            for key, proc in bundle.processes.items():
                content = by_name[proc.file].content
                sha = hashlib.sha256(content).hexdigest()
                latest = conn.execute(
                    sa.select(process_version).where(process_version.c.process_key == key)
                    .order_by(process_version.c.version.desc()).limit(1)).one_or_none()
                if latest is not None and latest.sha256 == sha:
                    results.append(DeployedVersion(latest.id, key, latest.version, latest.name, sha,
                                                   latest.file_name, False))
                    continue
                subprocess_specs = dict(proc.subprocess_specs)
                for called in sorted(proc.called_elements):
                    subprocess_specs.update(self._called_specs(conn, called))
                meta = {"lanes": {name: {"role": rule.role, "department": rule.department}
                                  for name, rule in proc.lanes.items()},
                        "forms": sorted(proc.form_keys), "process": proc.properties}
                used = decisions.referenced(content, decisions.latest(conn))
                if used:
                    meta["decisions"] = used
                number = (latest.version + 1) if latest is not None else 1
                now = self.clock.now()
                new_id = conn.execute(process_version.insert().values(
                    process_key=key, version=number, name=proc.name, file_name=proc.file,
                    bpmn_xml=content.decode("utf-8"), sha256=sha,
                    spec_json=spiff.spec_bundle_json(proc.spec, subprocess_specs),
                    meta_json=json.dumps(meta, ensure_ascii=False), note=note,
                    deployed_by=deployed_by, deployed_at=now,
                )).inserted_primary_key[0]
                data = {"process_key": key, "version": number, "version_id": new_id, "sha256": sha,
                        "file": proc.file, "note": note}
                if latest is not None:     # who may see or act changed: said in the chained record
                    changed = migration_rule.access_changes(json.loads(latest.meta_json), meta)
                    if changed:
                        data["access_changes"] = changed
                append_registry_event(conn, now, history.NewEvent("version_deployed", actor=deployed_by, data=data))
                if self.on_deployed is not None:
                    self.on_deployed(conn, key, proc.spec, now)
                results.append(DeployedVersion(new_id, key, number, proc.name, sha, proc.file, True))
                self.forget_latest(key)
            if within is not None:
                within(conn, results)
            return results

    def validate(self, files: list[SourceFile]) -> None:
        """The checks of `deploy` without deploying: raise Invalid listing every problem."""
        if not files:
            raise Invalid("nothing to validate", [Problem("no BPMN file given", field="files")])
        with read_transaction(self.db) as conn:
            self._validate(conn, files)

    def _validate(self, conn, files: list[SourceFile]):
        resolve_role = role_resolver(conn)
        deployed_keys = {r.process_key for r in conn.execute(sa.select(process_version.c.process_key).distinct())}
        return validate_bundle(
            files, form_exists=self.forms.exists, form_problems=self.forms.problems, role_for_lane=resolve_role,
            process_deployed=lambda key: key in deployed_keys, check_expression=check_source,
            helper_names=self.helper_names,
            services=self.operators.services if self.operators is not None else (),
            guards=self.operators.guards if self.operators is not None else (),
            documents=(self.operators.documents() if self.operators is not None
                       and self.operators.documents is not None else None),
            decisions={key: row.dmn_xml for key, row in decisions.latest(conn).items()},
        )

    def _called_specs(self, conn, key: str) -> dict:
        row = conn.execute(
            sa.select(process_version.c.spec_json).where(process_version.c.process_key == key)
            .order_by(process_version.c.version.desc()).limit(1)).one_or_none()
        if row is None:  # validation guarantees it exists; keep the error specific all the same
            raise Invalid("unresolved call activity", [Problem(f"called process '{key}' is not deployed",
                                                              code="unresolved_call")])
        spec, subs = spiff.spec_bundle_from_json(row.spec_json)
        return {key: spec, **subs}

    # -- lookup -------------------------------------------------------------------------------
    def resolve(self, conn, process_key: str, version: int | None = None):
        if version is None:
            rows = _LATEST.fetch(conn, {"p_key": process_key})
        else:
            hit = self._numbered.get((process_key, version))    # a numbered version never changes
            if hit is not None:
                return hit
            rows = _NUMBERED.fetch(conn, {"p_key": process_key, "p_version": version})
        row = rows[0] if rows else None
        if row is None:
            what = f"version {version} of process '{process_key}'" if version is not None else f"process '{process_key}'"
            raise NotFound(f"{what} is not deployed", field="process_key")
        with self._lock:
            self._numbered[(process_key, row.version)] = row.id
            if version is None:
                self._latest[process_key] = (row.id, row.version)
        return row.id

    def latest_hint(self, process_key: str) -> tuple[int, tuple] | None:
        """The latest version this node has seen for a key, and a check that it still is.

        The check, a prepared SELECT with its parameters, returns exactly one row while no later
        version is deployed; `start` runs it in its write batch instead of resolving first,
        and resolves again if it fails.
        """
        with self._lock:
            hit = self._latest.get(process_key)
        if hit is None:
            return None
        version_id, number = hit
        return version_id, (_STILL_LATEST, {"p_key": process_key, "p_version": number})

    def latest_info(self, conn_source, process_key: str) -> ProcessInfo | None:
        """The ProcessInfo of the latest version this node has seen (no query when it has seen one);
        else read (with `conn_source()`, a read transaction's context) and remembered as the latest.
        A start checked against it passes its number to `Engine.start(checked=…)`, whose write
        batch verifies it is still the latest."""
        with self._lock:
            hit = self._latest.get(process_key)
            info = self._infos.get(hit[0]) if hit is not None else None
        if info is not None:
            return info
        with conn_source() as conn:
            rows = _LATEST_INFO.fetch(conn, {"p_key": process_key})
        if not rows:
            return None
        row = rows[0]
        info = ProcessInfo.from_row(row)
        with self._lock:
            self._infos[row.id] = info
            self._numbered[(process_key, row.version)] = row.id
            self._latest[process_key] = (row.id, row.version)
        return info

    def forget_latest(self, process_key: str) -> None:
        with self._lock:
            self._latest.pop(process_key, None)

    def load(self, conn, version_id: int) -> LoadedVersion:
        with self._lock:
            hit = self._cache.get(version_id)
            if hit is not None:
                self._cache.move_to_end(version_id)
                return hit
        row = conn.execute(sa.select(process_version).where(process_version.c.id == version_id)).one_or_none()
        if row is None:
            raise NotFound(f"process version {version_id} not found")
        spec, subs = spiff.spec_bundle_from_json(row.spec_json)
        meta_decisions = json.loads(row.meta_json).get("decisions", {})
        for s in (spec, *subs.values()):
            spiff.connect_multi_instance(s)
            if self.on_decision is not None:
                decisions.record_evaluations(s, meta_decisions, self.on_decision)
        meta = json.loads(row.meta_json)
        confidential = meta.get("process", {}).get("confidential")
        joins = frozenset(name for s in (spec, *subs.values()) for name, ts in s.task_specs.items()
                          if isinstance(ts, UnstructuredJoin))
        loaded = LoadedVersion(row.id, row.process_key, row.version, spec, subs, meta["lanes"],
                               ",".join(confidential) if confidential is not None else None, joins,
                               meta.get("process", {}))
        with self._lock:
            self._cache[version_id] = loaded
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return loaded

    def list_versions(self, process_key: str | None = None) -> list[dict]:
        with read_transaction(self.db) as conn:
            return versions(conn, process_key)


def versions(conn, process_key: str | None = None) -> list[dict]:
    """Every deployed version (of `process_key`), oldest first, without its XML."""
    cols = [process_version.c[n] for n in ("id", "process_key", "version", "name", "file_name", "sha256",
                                           "note", "deployed_by", "deployed_at")]
    q = sa.select(*cols).order_by(process_version.c.process_key, process_version.c.version)
    if process_key:
        q = q.where(process_version.c.process_key == process_key)
    return [dict(r._mapping) for r in conn.execute(q)]


def version_row(conn, process_key: str, number: int | None = None):
    """Version `number` of a process (its latest when None), with its XML; None if there is none."""
    q = sa.select(process_version).where(process_version.c.process_key == process_key)
    q = q.where(process_version.c.version == number) if number else q.order_by(process_version.c.version.desc())
    return conn.execute(q.limit(1)).one_or_none()


_LATEST = Prepared(sa.select(process_version.c.id, process_version.c.version)
                   .where(process_version.c.process_key == sa.bindparam("p_key"))
                   .order_by(process_version.c.version.desc()).limit(1))
_NUMBERED = Prepared(sa.select(process_version.c.id, process_version.c.version)
                     .where(process_version.c.process_key == sa.bindparam("p_key"),
                            process_version.c.version == sa.bindparam("p_version")))
# One row while version p_version is still the latest of p_key, none once a later one is deployed.
_STILL_LATEST = Prepared(sa.select(sa.func.max(process_version.c.version))
                         .where(process_version.c.process_key == sa.bindparam("p_key"))
                         .having(sa.func.max(process_version.c.version) == sa.bindparam("p_version")))


def append_registry_event(conn, at: datetime, ev: history.NewEvent) -> None:
    """Append to the registry chain; the chain head row is locked for the transaction."""
    history.append_to_chain(conn, history.REGISTRY_CHAIN, at, [ev])
