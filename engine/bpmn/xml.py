"""Reading untrusted BPMN XML safely, naming its elements for people, and judging timer values.

Used by `validation`: every file goes through `load_document` before SpiffWorkflow sees it, so the
parser that reads uploads is ours (no DTD, no entities, no network) and each element keeps its
`sourceline` for error messages.
"""
from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from RestrictedPython.Guards import safe_builtins
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.errors import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
MAX_FILE_BYTES = 5 * 1024 * 1024

# Prefixes used to shorten Clark names ({namespace}local) in schema messages.
_SHORT_PREFIXES = {
    BPMN_NS: "bpmn",
    SPIFF_NS: "spiffworkflow",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
}
# Schema findings are reported only for the standard OMG vocabulary. Vendor extensions are not ours to
# judge, and the spiffworkflow.xsd bundled with SpiffWorkflow 3.2 is older than the modelers that write
# it (an extra attribute on spiffworkflow:properties is refused). The MIWG reference files, written by
# other tools, produce no schema finding at all, so the BPMN part of the schema is safe to enforce.
_CHECKED_NAMESPACE_PREFIX = "{http://www.omg.org/spec/"
_BAD_ID = re.compile(r"attribute 'id': '([^']*)' is not a valid value of the atomic type 'xs:ID'")
_XSD_LOCK = threading.Lock()  # the shared XMLSchema object keeps its error log on itself


def q(local: str, ns: str = BPMN_NS) -> str:
    """Clark name of a BPMN (or other namespace) tag."""
    return f"{{{ns}}}{local}"


def bpmn_local(el) -> str | None:
    """Local name of a BPMN-namespace element, None for anything else."""
    qn = etree.QName(el)
    return qn.localname if qn.namespace == BPMN_NS else None


@dataclass
class Document:
    name: str
    root: etree._Element
    by_id: dict = field(default_factory=dict)

    def __post_init__(self):
        for el in self.root.iter(etree.Element):
            self.by_id.setdefault(el.get("id"), el)
        self.by_id.pop(None, None)


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False)


def _declaration_in(content: bytes) -> str | None:
    """'DOCTYPE' or 'ENTITY' if the raw bytes declare one, in any encoding an XML parser would accept."""
    for marker in ("<!DOCTYPE", "<!ENTITY"):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            if marker.encode(encoding) in content:
                return marker[2:]
    return None


def load_document(name: str, content: bytes) -> tuple[Document | None, list[Problem]]:
    """Parse one uploaded file; refuse it (Document None) when it is too big, unsafe or not BPMN."""
    if len(content) > MAX_FILE_BYTES:
        return None, [Problem(
            f"The file is {len(content) / 1024 / 1024:.1f} MB; BPMN files may not be larger than "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB.", file=name, code="too_large")]
    declaration = _declaration_in(content)
    if declaration:
        return None, [_entities_problem(name, declaration)]
    try:
        root = etree.fromstring(content, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        return None, [Problem(f"The file is not well-formed XML: {exc.msg}.", file=name,
                              line=exc.lineno or None, code="malformed_xml")]
    if root.getroottree().docinfo.doctype:  # belt and braces: an encoding the byte scan did not know
        return None, [_entities_problem(name, "DOCTYPE")]
    if root.tag != q("definitions"):
        qn = etree.QName(root)
        return None, [Problem(
            f"This is not a BPMN 2.0 file: its root element is <{qn.localname}>"
            f"{f' in namespace {qn.namespace}' if qn.namespace else ' without a namespace'}, "
            f"not <definitions> in namespace {BPMN_NS}.", file=name, line=root.sourceline, code="not_bpmn")]
    problems = []
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(
            f"The file is not UTF-8 encoded (byte 0x{content[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8.", file=name, code="encoding"))
    return Document(name, root), problems


def _entities_problem(name: str, declaration: str) -> Problem:
    return Problem(
        f"The file contains a {declaration} declaration. BPMN files may not declare a DOCTYPE or XML "
        "entities, because these can read files on the server or exhaust its memory; export the diagram "
        "again from the modeler without them.", file=name, code="xml_entities")


def schema_problems(doc: Document) -> list[Problem]:
    """XSD findings on the standard BPMN vocabulary, each with its line."""
    with _XSD_LOCK:
        VALIDATOR.preprocess(doc.root)  # the same bpmn-js workaround SpiffWorkflow applies
        VALIDATOR.validator.validate(doc.root)
        entries = list(VALIDATOR.validator.error_log)
    problems = []
    for entry in entries:
        if not entry.message.startswith(f"Element '{_CHECKED_NAMESPACE_PREFIX}"):
            continue
        el = _element_at(doc, entry.path)
        what = label(el) if el is not None else "The file"
        reused = _BAD_ID.search(entry.message)
        if reused:
            detail = (f'its id "{reused.group(1)}" is used by another element too, or is not a valid XML id; '
                      'every element needs its own id, starting with a letter or "_".')
        else:
            detail = f"it does not follow the BPMN 2.0 schema: {shorten_names(entry.message)}"
        problems.append(Problem(
            f"{what}: {detail}",
            file=doc.name, element_id=el.get("id") if el is not None else None,
            line=entry.line or None, code="parse_error"))
    return problems


def _element_at(doc: Document, path: str | None):
    """The element (or its nearest ancestor) with an id, from a libxml2 error path."""
    if not path:
        return None
    try:
        found = doc.root.getroottree().xpath(path, namespaces={k: v for k, v in doc.root.nsmap.items() if k})
    except etree.XPathError:
        return None
    return owner(found[0]) if len(found) == 1 and isinstance(found[0], etree._Element) else None


def shorten_names(text: str) -> str:
    """Schema messages, readable: prefixed names, and at most five of the expected elements."""
    def short(match):
        prefix = _SHORT_PREFIXES.get(match.group(1))
        return f"{prefix}:{match.group(2)}" if prefix else match.group(0)

    def first_five(match):
        names = [n.strip() for n in match.group(1).split(",")]
        return f"( {', '.join(names[:5])}{', ...' if len(names) > 5 else ''} )"
    text = re.sub(r"\{([^}]+)\}(\w+)", short, text)
    return re.sub(r"\(([^()]*)\)", first_five, text)


def label(el) -> str:
    """How a process owner recognises an element: 'User task "Review" (review)'."""
    local = etree.QName(el).localname
    kind = {"subProcess": "Subprocess", "adHocSubProcess": "Ad hoc subprocess"}.get(
        local, re.sub(r"(?<!^)(?=[A-Z])", " ", local).lower().capitalize())
    name = " ".join((el.get("name") or "").split())
    element_id = el.get("id")
    if name and element_id:
        return f'{kind} "{name}" ({element_id})'
    return f"{kind} {element_id or name}".rstrip()


def owner(el):
    """The nearest ancestor-or-self that has an id: the element a finding belongs to."""
    while el is not None and el.get("id") is None:
        el = el.getparent()
    return el


def properties(el) -> list:
    """The element's own `spiffworkflow:property` children, read the way SpiffWorkflow reads them."""
    return el.xpath("./bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property", namespaces=NSMAP)


def extension(el, local: str):
    """A direct `spiffworkflow:<local>` extension element (preScript, postScript...), or None."""
    found = el.xpath(f"./bpmn:extensionElements/spiffworkflow:{local}", namespaces=NSMAP)
    return found[0] if found else None


def file_line(el, line_in_text: int | None) -> int | None:
    """File line of a line inside an element's text (the text starts on the element's own line)."""
    if el is None or el.sourceline is None:
        return None
    return el.sourceline + (line_in_text - 1 if line_in_text else 0)


# -- timer values: ISO 8601 text inside Python expressions ---------------------------------------
TIMING_WHAT = {"timeDate": "timer date", "timeDuration": "timer duration", "timeCycle": "timer cycle",
               "dueIn": "due time (dueIn)"}
_EXAMPLE = {"timeDate": '"2026-10-01T09:00:00+08:00"', "timeDuration": '"PT1H"',
            "timeCycle": '"R3/PT10M"', "dueIn": '"P2D" or working_days(15)'}
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = rf"P(?=\d|T\d)(?:{_NUM}[YMWD])*(?:T(?:{_NUM}[HMS])+)?"
_DATE = r"\d{4}-?\d{2}-?\d{2}(?:T[\d:.,]+(?:Z|[+-]\d{2}(?::?\d{2})?)?)?|\d{4}-?W\d{2}-?\d(?:T[\d:.,]+)?"
_UNQUOTED_ISO = re.compile(rf"(?:R\d*/)?(?:{_DURATION}|{_DATE})(?:/(?:{_DURATION}|{_DATE}))?", re.I)
_CALLABLE_BUILTINS = frozenset(safe_builtins) | {"min", "max", "sum", "len"}


def timing_text_problem(source: str | None, kind: str) -> str | None:
    """Problems visible before compiling (empty, unquoted ISO 8601), as the end of a sentence."""
    text = (source or "").strip()
    if not text:
        return f"is empty; write e.g. {_EXAMPLE[kind]}"
    if _UNQUOTED_ISO.fullmatch(text):
        return (f'{text} must be quoted, as "{text}": it is read as a Python expression, in which an '
                "unquoted ISO 8601 value fails at run time")
    return None


def timing_value_problem(source: str, kind: str, helpers: frozenset[str]) -> str | None:
    """Problems of a compiled timer expression: a bad ISO 8601 literal, or a call to an unknown function.

    Other free names are process variables and cannot be judged before run time.
    """
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None   # the sandbox accepted what plain Python refuses: it is the judge
    if isinstance(tree.body, ast.Constant):
        value = tree.body.value
        if not isinstance(value, str):
            return f"must give an ISO 8601 text such as {_EXAMPLE[kind]}, not {value!r}"
        reason = _iso_value_problem(kind, value.strip())
        return f'"{value}" {reason}' if reason else None
    unknown = sorted({node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                      and isinstance(node.func, ast.Name) and node.func.id not in helpers | _CALLABLE_BUILTINS})
    if unknown:
        return (f"calls {', '.join(n + '()' for n in unknown)}, which is not a known helper "
                f"(known: {', '.join(n + '()' for n in sorted(helpers))})")
    return None


def _iso_value_problem(kind: str, text: str) -> str | None:
    """Checked with SpiffWorkflow's own timer parsing, so what passes here parses at run time."""
    expected = {"timeCycle": "cycle", "timeDate": "date and time"}.get(kind, "duration")
    try:
        if kind == "timeDuration" or (kind == "dueIn" and text.upper().startswith("P")):
            if not text.upper().startswith("P"):
                return 'is not a duration; durations start with P, as in "PT1H" or "P2D"'
            Timer.parse_iso_duration(text)
        elif kind == "timeCycle":
            if not text.upper().startswith("R"):
                return 'is not a cycle; cycles start with R, as in "R3/PT10M"'
            Timer.parse_iso_recurring_interval(text)
        elif not isinstance(Timer.parse_time_or_duration(text), datetime):
            return 'is not a date and time such as "2026-10-01T09:00:00+08:00"'
    except Exception:  # noqa: BLE001 - the helpers raise bare Exception, ValueError, IndexError...
        return f"is not a valid ISO 8601 {expected}"
    return None
