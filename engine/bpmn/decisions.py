"""Decision tables (决策表, DMN): what a decision *is*, deployed and versioned like a process.

A process owner states a rule a hospital may change (who approves a disposal by the subject's level,
a reply deadline by document kind) as a DMN decision table; a business rule task names the decision
(`decisionRef`, its key) and SpiffWorkflow's DMN support evaluates it when the task runs. A process
version embeds the decision's latest version at the process's own deploy, so a running instance
keeps the rule it started with, as it keeps its diagram.

Deploy checks, like a process's: one decision a file, holding one decision table; a hit policy
SpiffWorkflow executes (UNIQUE: at most one rule matches; COLLECT: every match, outputs as lists);
every input expression, input entry and output entry compiled by the sandbox's compile-time check.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin

from engine import history
from engine.bpmn import xml as bx
from engine.db.schema import decision_version
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid, Problem

DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "http://www.omg.org/spec/DMN/20151101/dmn.xsd")
HIT_POLICIES = ("UNIQUE", "COLLECT")          # what SpiffWorkflow's DMN engine executes
MAX_FILE_BYTES = 1024 * 1024
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,254}$")


@dataclass(frozen=True)
class ParsedDecision:
    key: str
    name: str
    hit_policy: str
    file_name: str
    xml: str
    inputs: tuple[str, ...]                    # the input expressions
    outputs: tuple[str, ...]                   # the output names (the task data they set)


def parse(file_name: str, content: bytes, check_expression) -> ParsedDecision:
    """The decision in a DMN file, or Invalid listing every problem (located by element id)."""
    problems: list[Problem] = []

    def refuse(message: str, el=None, code: str = "dmn_invalid"):
        problems.append(Problem(message, file=file_name, element_id=el.get("id") if el is not None else None,
                                line=el.sourceline if el is not None else None, code=code))

    if len(content) > MAX_FILE_BYTES:
        raise Invalid("the DMN file is too large", [Problem("DMN files may not be larger than 1 MB.",
                                                            file=file_name, code="too_large")])
    if bx._declaration_in(content):
        raise Invalid("the DMN file declares entities", [Problem(
            "The file contains a DOCTYPE or entity declaration; export it again without them.",
            file=file_name, code="xml_entities")])
    try:
        root = etree.fromstring(content, bx._hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise Invalid("the DMN file is not well-formed XML", [Problem(
            f"The file is not well-formed XML: {exc.msg}.", file=file_name, line=exc.lineno or None,
            code="malformed_xml")]) from None
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "definitions" or ns not in DMN_NAMESPACES:
        raise Invalid("not a DMN file", [Problem("This is not a DMN 1.x file: its root is not <definitions> "
                                                  "in a DMN namespace.", file=file_name, code="not_dmn")])
    q = lambda local: f"{{{ns}}}{local}"    # noqa: E731
    found = root.findall(q("decision"))
    if len(found) != 1:
        refuse(f"The file holds {len(found)} decisions; deploy one decision a file.")
        raise Invalid("the DMN file cannot be deployed", problems)
    decision = found[0]
    key, name = decision.get("id") or "", " ".join((decision.get("name") or "").split())
    if not KEY.match(key):
        refuse(f'The decision\'s id "{key}" is not a valid key (letters, digits, _ . -).', decision)
    tables = decision.findall(q("decisionTable"))
    if len(tables) != 1:
        refuse("The decision must hold exactly one decision table.", decision)
        raise Invalid("the DMN file cannot be deployed", problems)
    table = tables[0]
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in HIT_POLICIES:
        refuse(f'Hit policy "{policy}" is not supported; use UNIQUE (one rule matches) or COLLECT '
               "(every matching rule, outputs as lists).", table, "dmn_hit_policy")
    inputs, outputs = [], []
    for inp in table.findall(q("input")):
        text = inp.find(f"{q('inputExpression')}/{q('text')}")
        expression = (text.text or "").strip() if text is not None else ""
        if not expression:
            refuse(f'Input "{inp.get("label") or inp.get("id")}" has no expression.', inp, "dmn_expression")
        else:
            _compile(refuse, check_expression, expression, inp, f'input "{inp.get("label") or expression}"')
        inputs.append(expression)
    for out in table.findall(q("output")):
        if not (out.get("name") or "").strip().isidentifier():
            refuse(f'Output "{out.get("label") or out.get("id")}" needs a name that is a variable name '
                   "(the task data it sets).", out, "dmn_output")
        outputs.append((out.get("name") or "").strip())
    if not outputs:
        refuse("The decision table has no output.", table, "dmn_output")
    rules = table.findall(q("rule"))
    if not rules:
        refuse("The decision table has no rule.", table, "dmn_rule")
    for number, rule in enumerate(rules, start=1):
        entries = rule.findall(q("inputEntry"))
        if len(entries) != len(inputs) or len(rule.findall(q("outputEntry"))) != len(outputs):
            refuse(f"Rule {number} does not have one entry for each input and output.", rule, "dmn_rule")
        for entry in entries:
            text = (entry.findtext(q("text")) or "").strip()
            if text and text != "-":
                # as SpiffWorkflow evaluates it: "?" stands for the input; else `input == entry` or `input entry`
                source = text.replace("?", "dmninputexpr") if "?" in text else text
                if check_expression(source, "eval") and check_expression(f"v {text}", "eval"):
                    _compile(refuse, check_expression, source, rule, f"rule {number}'s condition «{text}»")
        for entry in rule.findall(q("outputEntry")):
            text = (entry.findtext(q("text")) or "").strip()
            if text:
                _compile(refuse, check_expression, text, rule, f"rule {number}'s output «{text}»")
    if problems:
        raise Invalid(f"The DMN file cannot be deployed: {len(problems)} problem(s)", problems)
    return ParsedDecision(key, name, policy, file_name, content.decode("utf-8"), tuple(inputs), tuple(outputs))


def _compile(refuse, check_expression, source: str, el, what: str) -> None:
    for line, message in check_expression(source, "eval"):
        refuse(f"Decision table: the {what} has an error: {message}", el, "dmn_expression")


def deploy(db, clock, content: bytes, file_name: str | None, *, deployed_by: str, check_expression,
           note: str | None = None) -> dict:
    """Deploy a decision as its next version (a file equal to the latest makes none)."""
    parsed = parse(file_name or "decision.dmn", content, check_expression)
    file_name = file_name or f"{parsed.key}.dmn"
    sha = hashlib.sha256(content).hexdigest()
    dv = decision_version.c
    with write_transaction(db) as conn:
        latest = conn.execute(sa.select(decision_version).where(dv.decision_key == parsed.key)
                              .order_by(dv.version.desc()).limit(1)).one_or_none()
        if latest is not None and latest.sha256 == sha:
            return {"key": parsed.key, "version": latest.version, "created": False}
        number = latest.version + 1 if latest is not None else 1
        now = clock.now()
        conn.execute(decision_version.insert().values(
            decision_key=parsed.key, version=number, name=parsed.name, file_name=file_name, dmn_xml=parsed.xml,
            sha256=sha, hit_policy=parsed.hit_policy, note=note, deployed_by=deployed_by, deployed_at=now))
        from engine.bpmn.registry import append_registry_event
        append_registry_event(conn, now, history.NewEvent("decision_deployed", actor=deployed_by, data={
            "decision_key": parsed.key, "version": number, "sha256": sha, "file": file_name, "note": note}))
    return {"key": parsed.key, "version": number, "created": True}


def latest(conn) -> dict[str, sa.Row]:
    """The latest version of every deployed decision, by key."""
    dv = decision_version.c
    newest = sa.select(dv.decision_key, sa.func.max(dv.version).label("v")).group_by(dv.decision_key).subquery()
    rows = conn.execute(sa.select(decision_version).join(
        newest, sa.and_(dv.decision_key == newest.c.decision_key, dv.version == newest.c.v))).all()
    return {r.decision_key: r for r in rows}


def listing(eng) -> list[dict]:
    """Every deployed decision version, newest last within a key."""
    dv = decision_version.c
    with read_transaction(eng.db) as conn:
        rows = conn.execute(sa.select(dv.id, dv.decision_key, dv.version, dv.name, dv.hit_policy, dv.sha256,
                                      dv.deployed_by, dv.deployed_at, dv.note)
                            .order_by(dv.decision_key, dv.version)).all()
    return [dict(r._mapping) for r in rows]


def choices(eng) -> list[dict]:
    """The deployed decisions (latest versions) a business rule task may name: key and name."""
    with read_transaction(eng.db) as conn:
        return [{"key": k, "name": r.name} for k, r in sorted(latest(conn).items())]


def version_file(eng, key: str, number: int | None = None) -> sa.Row | None:
    """A decision's version (the latest when `number` is None), or None."""
    return version_xml(eng.db, key, number)


def version_xml(db, key: str, number: int | None = None) -> sa.Row | None:
    dv = decision_version.c
    q = sa.select(decision_version).where(dv.decision_key == key)
    q = q.where(dv.version == number) if number is not None else q.order_by(dv.version.desc()).limit(1)
    with read_transaction(db) as conn:
        return conn.execute(q).first()


# -- evaluation, told to whoever records it ---------------------------------------------------------
class RecordingEngine(DMNEngine):
    """SpiffWorkflow's DMN engine, telling `on_evaluated(task, evaluation)` what it decided: the
    decision, each input's value, the rules that matched and the output."""

    def __init__(self, decision_table, decision_key: str, on_evaluated):
        super().__init__(decision_table)
        self.decision_key = decision_key
        self.on_evaluated = on_evaluated

    def result(self, task):
        found = super().result(task)
        table = self.decision_table
        matched = self.decide(task)
        script_engine = task.workflow.script_engine
        inputs = {}
        for inp in table.inputs:
            try:
                inputs[inp.label or inp.expression] = script_engine.evaluate(task, inp.expression)
            except Exception:  # noqa: BLE001 - the decision itself raised already if it could not read it
                inputs[inp.label or inp.expression] = None
        self.on_evaluated(task, {
            "decision": self.decision_key, "hit_policy": table.hit_policy, "inputs": inputs,
            "matched": [{"rule": r.id, "row": r.row_number, "description": r.description or ""} for r in matched],
            "output": found})
        return found


def record_evaluations(spec, decision_keys: dict[str, str], on_evaluated) -> None:
    """Make the business rule tasks of a loaded spec tell `on_evaluated` what they decide;
    `decision_keys` names each task's decision (by the task's BPMN id) as the version embedded it."""
    for ts in spec.task_specs.values():
        if isinstance(ts, BusinessRuleTaskMixin) and not isinstance(ts.dmnEngine, RecordingEngine):
            table = ts.dmnEngine.decision_table
            ts.dmnEngine = RecordingEngine(table, decision_keys.get(ts.bpmn_id, table.id), on_evaluated)


def referenced(bpmn_xml: bytes, deployed: dict) -> dict[str, str]:
    """The decision each business rule task of a diagram names, as "key vN" of the deployed version it
    embeds (by the task's BPMN id)."""
    root = etree.fromstring(bpmn_xml, bx._hardened_parser())
    found = {}
    for el in root.iter(f"{{{bx.BPMN_NS}}}businessRuleTask"):
        ref = bx.extension(el, "calledDecisionId")
        key = (ref.text or "").strip() if ref is not None else ""
        if key in deployed:
            found[el.get("id")] = f"{key} v{deployed[key].version}"
    return found


# -- the decision pages' services ---------------------------------------------------------------------
def deploy_file(eng, file_name: str | None, content: bytes, *, deployed_by: str, note: str | None = None) -> dict:
    """Deploy a decision file uploaded or saved from the editor (one transaction)."""
    from engine.sandbox import check_source
    return deploy(eng.db, eng.clock, content, file_name, deployed_by=deployed_by, check_expression=check_source,
                  note=note)


def editor(eng, key: str | None) -> dict:
    """A decision's latest version for the editor (NotFound when unknown), or a new decision's template."""
    if key is None:
        return {"key": None, "row": None, "xml": TEMPLATE}
    row = version_xml(eng.db, key)
    if row is None:
        from engine.errors import NotFound
        raise NotFound(f"decision {key} is not deployed", field="decision_key")
    return {"key": key, "row": row, "xml": row.dmn_xml}


TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_new_decision" name="新决策"
             namespace="http://qinglian.example/dmn">
  <decision id="new_decision" name="新决策">
    <decisionTable id="DecisionTable_new_decision" hitPolicy="UNIQUE">
      <input id="Input_1" label="输入">
        <inputExpression id="InputExpression_1" typeRef="string"><text>level</text></inputExpression>
      </input>
      <output id="Output_1" label="结果" name="result" typeRef="string" />
      <rule id="Rule_1">
        <inputEntry id="InputEntry_1"><text>"a"</text></inputEntry>
        <outputEntry id="OutputEntry_1"><text>"x"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""
