"""Deploy-time validation of BPMN bundles: every problem at once, before anything is stored.

A bundle is one or more files deployed together. Each finding is a `Problem` naming the file, the
BPMN element (id and name) and the line, with a `code` a client can act on:

  too_large, xml_entities, malformed_xml, encoding, not_bpmn   file-level refusals (see bpmn_xml)
  parse_error          BPMN schema violations and what SpiffWorkflow's parser refuses
  duplicate_file, duplicate_process
  no_executable_process, unresolved_call
  recursive_call       a call activity that always calls its own process again (see bpmn/recursion)
  script_error, condition_error, timer_error, expression_error
  unknown_lane_role, unknown_form, bad_form, bad_property
  unknown_service, unknown_guard    a service-task operator or completion guard the engine does not
                                    provide (the caller says which names it knows: `services`, `guards`)

SpiffWorkflow stops at the first error of a process and does not compile scripts or expressions, so
most checks walk the XML themselves; Spiff is used for what only it knows (its parse of each process,
and the specs to store). Each executable process is parsed on its own so one broken process does not
hide the problems of another.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Collection, Mapping, Sequence

from lxml import etree
from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.bpmn import recursion, xml as bx
from engine.bpmn.xml import Document, label, q
from engine.errors import Invalid, Problem

CheckExpression = Callable[[str, str], "list[tuple[int | None, str]]"]
DEFAULT_HELPERS = frozenset({"now", "working_days", "today"})


@dataclass(frozen=True)
class SourceFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class LaneRule:
    role: str                 # role code, as resolved by role_for_lane
    department: str | None    # expression evaluated on task data naming the task's department


@dataclass
class ParsedProcess:
    key: str
    name: str | None
    file: str
    spec: BpmnProcessSpec
    subprocess_specs: dict      # embedded subprocesses and processes called within the bundle, recursively
    called_elements: set[str]   # called process keys outside the bundle (already deployed)
    lanes: dict[str, LaneRule]  # lane name -> rule
    form_keys: set[str]
    properties: dict = field(default_factory=dict)   # the process's own: startableBy, startForm, confidential


@dataclass
class ParsedBundle:
    processes: dict[str, ParsedProcess]   # executable processes only


def validate_bundle(files: Sequence[SourceFile], *, form_exists: Callable[[str], bool],
                    role_for_lane: Callable[[str], str | None],
                    process_deployed: Callable[[str], bool],
                    check_expression: CheckExpression | None = None,
                    helper_names: frozenset[str] = DEFAULT_HELPERS,
                    form_problems: Callable[[str], list[Problem]] | None = None,
                    services: Collection[str] = (), guards: Collection[str] = (),
                    decisions: Mapping[str, str] | None = None,
                    documents: Collection[str] | None = None) -> ParsedBundle:
    """Raise errors.Invalid listing every problem of the bundle; else return the parsed bundle.

    `services` and `guards`: the service-task operators and completion guards the engine provides
    (by name); a diagram naming another one is refused. `documents`: the official documents a step
    may declare (property `document`); None leaves the property unchecked."""
    validator = _Validator(form_exists, role_for_lane, process_deployed,
                           check_expression or restricted_check, helper_names)
    validator.services, validator.guards = frozenset(services), frozenset(guards)
    validator.documents = frozenset(documents) if documents is not None else None
    validator.form_problems = form_problems or (lambda key: [])
    validator.decisions = dict(decisions or {})
    for key, xml in validator.decisions.items():      # deployed decisions a business rule task may name
        validator.parser.add_dmn_xml(etree.fromstring(xml.encode("utf-8"), bx._hardened_parser()),
                                     filename=f"{key}.dmn")
    return validator.run(files)


def declared_documents(value: str | None) -> list[str]:
    """The documents a step's `document` property names: one, or several separated by 、 or commas."""
    if not value:
        return []
    parts = value.replace("，", ",").replace("、", ",").split(",")
    return [p.strip() for p in parts if p.strip()]


def restricted_check(source: str, mode: str) -> list[tuple[int | None, str]]:
    """Compile like the sandbox does (RestrictedPython); (line, message) per error."""
    if mode == "eval":
        source = source.lstrip(" \t")  # as eval() does
    compile_fn = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        errors = compile_fn(source).errors
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return [(None, f"it cannot be compiled ({type(exc).__name__}: {exc})")]
    found = []
    for error in errors:
        match = re.match(r"Line (\d+|None): (.*)", error, re.S)
        if match:
            found.append((int(match.group(1)) if match.group(1).isdigit() else None, match.group(2)))
        else:
            found.append((None, error))
    return found


class _Validator:
    def __init__(self, form_exists, role_for_lane, process_deployed, check_expression, helper_names):
        self.form_exists = form_exists
        self.role_for_lane = role_for_lane
        self.process_deployed = process_deployed
        self.check_expression = check_expression
        self.helper_names = frozenset(helper_names)
        self.services: frozenset[str] = frozenset()     # operator and guard names the engine provides
        self.guards: frozenset[str] = frozenset()
        self.documents: frozenset[str] | None = None    # document kinds a step may declare
        self.problems: list[Problem] = []
        self.reported: set[tuple[str | None, str]] = set()   # (element id, code) found by our own checks
        self.docs: dict[str, Document] = {}
        self.parser = SpiffBpmnParser()
        self.specs: dict[str, BpmnProcessSpec | None] = {}
        self.file_order: dict[str, int] = {}
        self.added: set[str] = set()                    # files SpiffWorkflow accepted
        self.not_executable: set[str] = set()
        self.lanes: dict[str, dict[str, LaneRule]] = {}  # process key -> lane rules
        self.forms: dict[str, set[str]] = {}             # process key -> form keys
        self.process_props: dict[str, dict] = {}         # process key -> its own properties
        self.decisions: dict[str, str] = {}              # deployed decision key -> its DMN XML

    # -- reporting --------------------------------------------------------------------------------
    def report(self, code: str, message: str, doc: Document | None = None, el=None,
               line: int | None = None, field: str | None = None) -> None:
        el = bx.owner(el)
        element_id = el.get("id") if el is not None else None
        if line is None and el is not None:
            line = el.sourceline
        self.problems.append(Problem(message, file=doc.name if doc else None, element_id=element_id,
                                     line=line, field=field, code=code))
        self.reported.add((element_id, code))

    def check_source(self, doc, el, source_el, source: str, mode: str, code: str, what: str, field: str):
        """Compile one script or expression; report each error at its file line."""
        try:
            errors = self.check_expression(source, mode)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            errors = [(None, f"it cannot be compiled ({type(exc).__name__}: {exc})")]
        multiline = len(source.strip().splitlines()) > 1
        for line, message in errors:
            at = f" on line {line}" if line and multiline else ""
            self.report(code, f"{label(el)}: the {what} has an error{at}: {message}", doc, el,
                        line=bx.file_line(source_el, line), field=field)
        return not errors

    # -- the run --------------------------------------------------------------------------------
    def run(self, files: Sequence[SourceFile]) -> ParsedBundle:
        all_loaded = self._load(files)
        processes = self._index_processes()
        executable = {key: (el, doc) for key, (el, doc) in processes.items()
                      if el.get("isExecutable", "true") == "true"}   # SpiffWorkflow's own rule
        self.not_executable = set(processes) - set(executable)
        if not executable and all_loaded:
            self.report("no_executable_process", 'No process is executable: every process is marked '
                        'isExecutable="false". Mark the process to deploy as executable in the modeler.'
                        if processes else "The files contain no process to deploy.",
                        next(iter(self.docs.values())) if len(self.docs) == 1 else None)
        for el, doc in executable.values():   # before SpiffWorkflow, so that _COVERED can match
            self._check_process(el, doc, processes, executable)
        self._check_recursion(executable)
        results = {key: self._parse_process(key, el, doc)
                   for key, (el, doc) in executable.items() if doc.name in self.added}
        if self.problems:
            self.problems.sort(key=lambda p: (self.file_order.get(p.file, -1), p.line or 0))
            count = len(self.problems)
            raise Invalid(f"The BPMN files cannot be deployed: {count} problem{'s' if count > 1 else ''}",
                          problems=self.problems)
        return ParsedBundle({key: proc for key, proc in results.items() if proc is not None})

    def _load(self, files) -> bool:
        all_loaded = True
        for f in files:
            if f.name in self.file_order:
                self.problems.append(Problem(f"Two files are named {f.name}; file names in one deployment "
                                             "must be unique.", file=f.name, code="duplicate_file"))
                continue
            self.file_order[f.name] = len(self.file_order)
            doc, problems = bx.load_document(f.name, f.content)
            self.problems.extend(problems)
            if doc is None:
                all_loaded = False
                continue
            self.docs[f.name] = doc
            self.problems.extend(bx.schema_problems(doc))
        return all_loaded

    def _index_processes(self) -> dict:
        """Top-level processes by id; files repeating a process id are kept away from SpiffWorkflow."""
        processes = {}
        for doc in self.docs.values():
            clean = True
            for el in doc.root.iterchildren(q("process")):
                key = el.get("id")
                if not key:
                    self.report("parse_error", f"{label(el)} has no id; give the process an id.", doc, el)
                    clean = False
                elif key in processes:
                    first_el, first_doc = processes[key]
                    self.report("duplicate_process", f"{label(el)} is already defined in {first_doc.name} "
                                f"(line {first_el.sourceline}); process ids must be unique in a deployment.",
                                doc, el)
                    clean = False
                else:
                    processes[key] = (el, doc)
            if clean:
                try:
                    self.parser.add_bpmn_xml(doc.root, filename=doc.name)
                    self.added.add(doc.name)
                except Exception as exc:  # noqa: BLE001 - any parser failure is a finding, not a crash
                    self.spiff_problem(exc, doc)
        return processes

    # -- SpiffWorkflow ------------------------------------------------------------------------------
    # Spiff messages that our own checks already report more precisely (matched with the element id).
    _COVERED = (('No "calledElement" attribute', "unresolved_call"),
                ("Non-default exclusive outgoing sequence flow without condition", "condition_error"),
                ("Time Specification Error", "timer_error"),
                ("No DMN Diagram available", "unknown_decision"))

    def spiff_problem(self, exc: Exception, doc: Document | None, key: str | None = None) -> None:
        line = None
        if isinstance(exc, ValidationException):
            doc = self.docs.get(exc.file_name) or doc
            for prefix, code in self._COVERED:
                if str(exc).startswith(prefix) and (exc.id or None, code) in self.reported:
                    return
            el = doc.by_id.get(exc.id) if doc is not None and exc.id else None
            message = re.sub(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>", r"\1", str(exc))
            line = exc.line_number if isinstance(exc.line_number, int) else None
        else:
            el = doc.by_id.get(key) if doc is not None and key else None
            message = f"SpiffWorkflow cannot read it ({type(exc).__name__}: {exc})"
        message = " ".join(message.split()).rstrip(".")
        what = f"{label(el)}: " if el is not None else "SpiffWorkflow cannot use this file: "
        self.report("parse_error", f"{what}{message}.", doc, el, line=line)

    def spec(self, key: str, doc: Document) -> BpmnProcessSpec | None:
        """Parse one process (or embedded subprocess) once; its failure is reported once."""
        if key not in self.specs:
            self.specs[key] = None
            try:
                self.specs[key] = self.parser.get_spec(key)
            except Exception as exc:  # noqa: BLE001
                self.spiff_problem(exc, doc, key)
        return self.specs[key]

    def _parse_process(self, key, el, doc) -> ParsedProcess | None:
        spec = self.spec(key, doc)
        if spec is None:
            return None
        subs, external = {}, set()
        self._collect(spec, doc, subs, external)
        lanes, forms = self.lanes.get(key, {}), self.forms.get(key, set())
        return ParsedProcess(key, el.get("name"), doc.name, spec, subs, external, lanes, forms,
                             self.process_props.get(key, {}))

    def _collect(self, spec, doc, subs: dict, external: set) -> None:
        """Specs reachable through call activities and subprocesses, like get_subprocess_specs."""
        for task_spec in spec.task_specs.values():
            if not isinstance(task_spec, SubWorkflowTask):
                continue
            target = task_spec.spec
            if target in subs or target in external or target in self.not_executable:
                continue
            if self.parser.get_process_parser(target) is None:
                external.add(target)
                continue
            sub = self.spec(target, doc)
            if sub is not None:
                subs[target] = sub
                self._collect(sub, doc, subs, external)

    # -- our own checks, on the XML of one executable process ---------------------------------------
    def _check_process(self, proc, doc, processes, executable) -> None:
        key = proc.get("id")
        flows_from: dict[str, list] = {}
        for flow in proc.iter(q("sequenceFlow")):
            flows_from.setdefault(flow.get("sourceRef"), []).append(flow)
        self.lanes[key], self.forms[key] = self._check_lanes(proc, doc), set()
        for el in proc.iter(etree.Element):
            local = bx.bpmn_local(el)
            if el.find(q("extensionElements")) is not None and local != "lane":   # lanes: _check_lanes
                self._check_extension_scripts(el, doc)
                props = self._check_properties(el, doc, self.forms[key])
                if local == "process":
                    self.process_props[key] = self._check_process_properties(el, doc, props, self.forms[key])
            if local == "serviceTask":
                self._check_service_task(el, doc)
            if local == "scriptTask":
                self._check_script_task(el, doc)
            elif local == "callActivity":
                self._check_call(el, doc, processes, executable)
            elif local == "businessRuleTask":
                self._check_decision_ref(el, doc)
            elif local == "sequenceFlow":
                self._check_condition(el, el.find(q("conditionExpression")), doc, "condition",
                                      "conditionExpression")
            elif local == "conditionalEventDefinition":
                self._check_condition(el.getparent(), el.find(q("condition")), doc, "event condition", "condition")
            elif local in ("exclusiveGateway", "inclusiveGateway"):
                self._check_gateway(el, flows_from.get(el.get("id"), []), doc)
            elif local == "timerEventDefinition":
                self._check_timer(el, doc)
            elif local in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
                for part, what in (("loopCardinality", "loop cardinality"),
                                   ("completionCondition", "completion condition"),
                                   ("loopCondition", "loop condition")):
                    expr = el.find(q(part))
                    if expr is not None and (expr.text or "").strip():
                        self.check_source(doc, el.getparent(), expr, expr.text, "eval",
                                          "expression_error", what, part)
        self._check_separation(proc, doc)

    def _check_separation(self, proc, doc) -> None:
        """`notPerformedBy` on a user task names steps of the same process (user tasks, or a start
        event: whoever started the instance) whose performers may not perform it."""
        steps = {el.get("id") for el in proc.iter(q("userTask"), q("manualTask"), q("startEvent"))}
        for el in proc.iter(q("userTask")):
            props = {p.get("name"): p for p in bx.properties(el)}
            prop = props.get("notPerformedBy")
            if prop is None:
                continue
            names = [n.strip() for n in (prop.get("value") or "").split(",") if n.strip()]
            unknown = [n for n in names if n not in steps or n == el.get("id")]
            if unknown or not names:
                self.report("bad_property", f'{label(el)}: notPerformedBy must list other user tasks or start events '
                            f'of this process; {"、".join(unknown) if unknown else "it is empty"} is not one.',
                            doc, el, line=prop.sourceline, field="notPerformedBy")

    def _check_decision_ref(self, el, doc) -> None:
        ref = bx.extension(el, "calledDecisionId")
        name = (ref.text or "").strip() if ref is not None else ""
        if not name:
            self.report("unknown_decision", f"{label(el)} does not say which decision it evaluates; set its "
                        "decision (calledDecisionId).", doc, el, field="calledDecisionId")
        elif name not in self.decisions:
            self.report("unknown_decision", f'{label(el)} evaluates decision "{name}", which is not deployed '
                        f'(deployed: {", ".join(sorted(self.decisions)) or "none"}).', doc, el,
                        field="calledDecisionId")

    def _check_script_task(self, el, doc) -> None:
        script = el.find(q("script"))
        if script is None or not (script.text or "").strip():
            self.report("script_error", f"{label(el)} has no script.", doc, el, field="script")
        else:
            self.check_source(doc, el, script, script.text, "exec", "script_error", "script", "script")

    def _check_extension_scripts(self, el, doc) -> None:
        for part, what in (("preScript", "pre-script"), ("postScript", "post-script")):
            script = bx.extension(el, part)
            if script is not None and (script.text or "").strip():
                self.check_source(doc, el, script, script.text, "exec", "script_error", what, part)

    def _check_condition(self, el, expr, doc, what, field) -> None:
        if expr is not None and (expr.text or "").strip():
            self.check_source(doc, el, expr, expr.text, "eval", "condition_error", what, field)

    def _check_gateway(self, gateway, outgoing, doc) -> None:
        if len(outgoing) < 2:
            return  # SpiffWorkflow makes a single unconditioned flow the default
        for flow in outgoing:
            expr = flow.find(q("conditionExpression"))
            if flow.get("id") != gateway.get("default") and (expr is None or not (expr.text or "").strip()):
                self.report("condition_error", f"{label(flow)} leaves {label(gateway)} without a condition "
                            "and is not its default flow; add a condition or make it the default flow.", doc, flow,
                            field="conditionExpression")

    def _check_call(self, el, doc, processes, executable) -> None:
        called = (el.get("calledElement") or "").strip()
        if not called:
            self.report("unresolved_call", f"{label(el)} does not say which process it calls; set its "
                        "called element.", doc, el, field="calledElement")
        elif called in processes and called not in executable:
            self.report("unresolved_call", f'{label(el)} calls process "{called}", which is not executable.',
                        doc, el, field="calledElement")
        elif called not in processes and not self.process_deployed(called):
            self.report("unresolved_call", f'{label(el)} calls process "{called}", which is neither in these '
                        "files nor deployed.", doc, el, field="calledElement")

    def _check_recursion(self, executable: dict) -> None:
        """A call activity that always calls its own process again, directly or through others."""
        for el, key, cycle in recursion.recursive_calls({k: proc for k, (proc, _) in executable.items()}):
            self.report("recursive_call", f'{label(el)} calls process "{cycle[1]}", which always calls back: '
                        f'{" → ".join(cycle)}, for ever. Put the call behind a condition (a gateway or a '
                        "conditional flow) so that the recursion can end.", executable[key][1], el,
                        field="calledElement")

    def _check_timer(self, definition, doc) -> None:
        event = definition.getparent()
        for kind in ("timeDate", "timeDuration", "timeCycle"):   # the one SpiffWorkflow uses
            expr = definition.find(q(kind))
            if expr is not None:
                self.check_timing(event, expr, expr.text, kind, doc, "timer_error", kind)
                return
        self.report("timer_error", f"{label(event)} has a timer without a date, duration or cycle.", doc, event)

    def check_timing(self, el, source_el, source, kind, doc, code, field) -> None:
        """A timer or due expression: a quoted ISO 8601 text, a helper call, or any expression."""
        what = bx.TIMING_WHAT[kind]
        error = bx.timing_text_problem(source, kind)
        if error is None and self.check_source(doc, el, source_el, source, "eval", code, what, field):
            error = bx.timing_value_problem(source, kind, self.helper_names)
        if error:
            self.report(code, f"{label(el)}: the {what} {error}.", doc, el,
                        line=bx.file_line(source_el, None), field=field)

    # -- extension properties -----------------------------------------------------------------------
    def _properties(self, el, doc) -> dict:
        props = {}
        for prop in bx.properties(el):
            name, value = prop.get("name"), prop.get("value")
            if not name or value is None:
                self.report("bad_property", f"{label(el)} has a property without a "
                            f"{'name' if not name else 'value'}.", doc, el, line=prop.sourceline)
                continue
            props[name] = (value, prop)
        return props

    def _check_properties(self, el, doc, form_keys: set) -> dict:
        props = self._properties(el, doc)
        if "completionGuard" in props:
            name, prop = props["completionGuard"]
            if name.strip() not in self.guards:
                self.report("unknown_guard", f'{label(el)}: completion guard "{name}" is not one the engine '
                            f'provides (known: {", ".join(sorted(self.guards)) or "none"}).', doc, el,
                            line=prop.sourceline, field="completionGuard")
        if "document" in props and self.documents is not None:
            value, prop = props["document"]
            for name in declared_documents(value):
                if name not in self.documents:
                    self.report("unknown_document", f'{label(el)}: document "{name}" is not one the engine '
                                f'provides (known: {"、".join(sorted(self.documents)) or "none"}).', doc, el,
                                line=prop.sourceline, field="document")
        if "formKey" in props:
            form_key, prop = props["formKey"]
            form_keys.add(form_key)
            if not self.form_exists(form_key):
                self.report("unknown_form", f'{label(el)} uses form "{form_key}", which does not exist.',
                            doc, el, line=prop.sourceline, field="formKey")
            else:
                for problem in self.form_problems(form_key):
                    self.report("bad_form", f'{label(el)} uses form "{form_key}", which is broken: {problem}',
                                doc, el, line=prop.sourceline, field="formKey")
        if "priority" in props:
            value, prop = props["priority"]
            if not re.fullmatch(r"\s*[1-5]\s*", value):
                self.report("bad_property", f'{label(el)}: priority "{value}" must be a whole number from 1 '
                            "to 5.", doc, el, line=prop.sourceline, field="priority")
        if "dueIn" in props:
            value, prop = props["dueIn"]
            self.check_timing(el, prop, value, "dueIn", doc, "bad_property", "dueIn")
        if "subject" in props:
            value, prop = props["subject"]
            self.check_source(doc, el, prop, value, "eval", "expression_error", "subject expression", "subject")
        return props

    def _check_process_properties(self, el, doc, props: dict, form_keys: set) -> dict:
        """startableBy / confidential name roles; startForm names a form (checked like formKey)."""
        found = {}
        for name in ("startableBy", "confidential"):
            if name in props:
                value, prop = props[name]
                roles = [r.strip() for r in value.split(",") if r.strip()]
                unknown = [r for r in roles if self.role_for_lane(r) != r]
                if unknown or not roles:
                    self.report("bad_property", f'{label(el)}: {name} must list role codes separated by commas; '
                                f'{"、".join(unknown) if unknown else "it is empty"} is not a role code.', doc, el,
                                line=prop.sourceline, field=name)
                found[name] = roles
        if "receipt" in props:
            found["receipt"] = props["receipt"][0].strip()
        if "nameEn" in props:                                        # the process's name for English readers
            value, prop = props["nameEn"]
            if not value.strip() or len(value.strip()) > 255:
                self.report("bad_property", f'{label(el)}: nameEn must be 1 to 255 characters.', doc, el,
                            line=prop.sourceline, field="nameEn")
            else:
                found["nameEn"] = value.strip()
        for name in ("personsConcerned", "withheldFromRoles"):      # data names (engine/runtime/recusal.py)
            if name in props:
                value, prop = props[name]
                names = [n.strip() for n in value.split(",") if n.strip()]
                bad = [n for n in names if not n.isidentifier()]
                if bad or not names or (name == "withheldFromRoles" and len(names) != 1):
                    self.report("bad_property", f'{label(el)}: {name} must name '
                                f'{"one data field" if name == "withheldFromRoles" else "data fields separated by commas"}'
                                f'; "{value}" does not.', doc, el, line=prop.sourceline, field=name)
                found[name] = ",".join(names)
        if "quorum" in props:                                        # a collective decision's minimum
            value, prop = props["quorum"]
            if not re.fullmatch(r"\s*[1-9][0-9]?\s*", value):
                self.report("bad_property", f'{label(el)}: quorum "{value}" must be a whole number from 1 to 99.',
                            doc, el, line=prop.sourceline, field="quorum")
            else:
                found["quorum"] = int(value)
        if "startForm" in props:
            value, prop = props["startForm"]
            found["startForm"] = value.strip()
            form_keys.add(found["startForm"])
            if not self.form_exists(found["startForm"]):
                self.report("unknown_form", f'{label(el)}: start form "{value}" does not exist.', doc, el,
                            line=prop.sourceline, field="startForm")
        return found

    def _check_service_task(self, el, doc) -> None:
        operator = el.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=bx.NSMAP)
        name = operator[0].get("id") if operator else None
        if not name:
            return      # SpiffWorkflow's parser reports a service task without an operator
        if name not in self.services:
            self.report("unknown_service", f'{label(el)}: operator "{name}" is not one the engine provides '
                        f'(known: {", ".join(sorted(self.services)) or "none"}).', doc, el,
                        line=operator[0].sourceline, field="serviceTaskOperator")
            return
        for param in el.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator/spiffworkflow:parameters/"
                              "spiffworkflow:parameter", namespaces=bx.NSMAP):
            value = param.get("value")
            if value is not None and value.strip():
                self.check_source(doc, el, param, value, "eval", "expression_error",
                                  f'parameter "{param.get("id")}"', "serviceTaskOperator")

    def _check_lanes(self, proc, doc) -> dict[str, LaneRule]:
        """Lane name -> rule. A lane names its role by a `role` property, else by its own name."""
        effective = {}   # flow node id -> lane, last one wins as in SpiffWorkflow
        for ref in doc.root.iter(q("flowNodeRef")):
            effective[ref.text] = ref.getparent()
        used = set(effective.values())
        rules: dict[str, LaneRule] = {}
        for lane in proc.iter(q("lane")):
            if lane.find(f"{q('childLaneSet')}/{q('lane')}") is not None and lane not in used:
                continue  # a lane that only groups other lanes assigns no task
            props = self._properties(lane, doc)
            name = lane.get("name")
            if not (name or "").strip():
                self.report("unknown_lane_role", f"{label(lane)} has no name, so its tasks cannot be assigned; "
                            "name it after a role, or give it a name and a role property.", doc, lane)
                continue
            role_value, role_el = props.get("role", (None, None))
            role = self.role_for_lane(role_value if role_value else name)
            if role is None:
                if role_value:
                    self.report("unknown_lane_role", f'{label(lane)} names role "{role_value}", which is not a '
                                "known role.", doc, lane, line=role_el.sourceline, field="role")
                else:
                    self.report("unknown_lane_role", f"{label(lane)} does not match any role; name the lane "
                                'after a role, or add a "role" property with the role code.', doc, lane,
                                field="role")
                continue
            department, dept_el = props.get("department", ("", None))
            department = department.strip() or None   # stored, and later evaluated, stripped
            if department:
                self.check_source(doc, lane, dept_el, department, "eval", "expression_error",
                                  "department expression", "department")
            rule = LaneRule(role, department)
            if rules.setdefault(name, rule) != rule:
                self.report("unknown_lane_role", f'{label(lane)}: another lane is also named "{name}" but has '
                            "a different role or department; lane names must be unique.", doc, lane)
        return rules
