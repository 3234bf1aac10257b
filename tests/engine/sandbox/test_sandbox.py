"""The script sandbox: known escapes are refused, runaway code is stopped, ordinary scripts work."""
from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import sandbox
from engine.clock import FixedClock, using
from engine.sandbox import (
    SandboxedScriptEngine,
    ScriptError,
    ScriptForbidden,
    ScriptLimits,
    ScriptTimeout,
    ScriptTooLarge,
    check_source,
)

FAST = ScriptLimits(timeout_seconds=0.2)
NOON = datetime(2026, 9, 28, 4, 0, tzinfo=timezone.utc)


def execute(script: str, data: dict | None = None, limits: ScriptLimits = FAST, helpers=None) -> dict:
    data = dict(data or {})
    SandboxedScriptEngine(helpers, limits).environment.execute(script, data)
    return data


def evaluate(expression: str, data: dict | None = None, limits: ScriptLimits = FAST, helpers=None):
    return SandboxedScriptEngine(helpers, limits).environment.evaluate(expression, dict(data or {}))


# -- refused when deployed --------------------------------------------------------------------

@pytest.mark.parametrize("source, mode, message", [
    ("import os", "exec", "import statements are not allowed"),
    ("from os import path", "exec", "import statements are not allowed"),
    ("__import__('os')", "eval", '"__import__" is an invalid variable name'),
    ("().__class__.__base__.__subclasses__()", "eval", '"__class__" is an invalid attribute name'),
    ("[c for c in ().__class__.__bases__[0].__subclasses__()]", "eval", '"__class__" is an invalid attribute name'),
    ("(x for x in ()).gi_frame.f_back", "eval", '"gi_frame" is a restricted name'),
    ("f = lambda: 0\ncode = f.__code__", "exec", '"__code__" is an invalid attribute name'),
    ("now.__globals__", "eval", '"__globals__" is an invalid attribute name'),
    ("eval('1')", "eval", "Eval calls are not allowed"),
    ("exec('x = 1')", "exec", "Exec calls are not allowed"),
    ("class A:\n    pass", "exec", "class definitions are not allowed"),
    ("print(1)", "exec", "print() is not available in scripts"),
    ("x = [*a, *a, *a]", "exec", "only one * unpacking is allowed in a list"),
    ("x = max(*a, *a)", "exec", "only one * unpacking is allowed in a call"),
    ("try:\n    x = 1\nexcept (lambda: ValueError)():\n    pass", "exec", "an except clause may only name"),
    ("_getattr_ = 1", "exec", '"_getattr_" is an invalid variable name'),
    ("breakpoint()", "eval", '"breakpoint" is a reserved name'),
])
def test_check_source_refuses_policy_violations(source, mode, message):
    problems = check_source(source, mode)
    assert problems and any(message in text for _, text in problems), problems


def test_check_source_reports_lines_and_syntax_errors():
    assert check_source("x = 1\nimport os", "exec") == [(2, "import statements are not allowed")]
    [(line, text)] = check_source("x = 1\ny = (", "exec")
    assert line == 2 and text.startswith("SyntaxError: '(' was never closed")
    assert check_source("return 1", "exec")[0][1].startswith("SyntaxError: 'return' outside function")


def test_check_source_accepts_ordinary_code():
    assert check_source("total = sum(x * 2 for x in items)\nlabel = f'{total:,}'", "exec") == []
    assert check_source("  counter < 500", "eval") == []   # leading blanks, as eval() allows
    with pytest.raises(ValueError):
        check_source("x", "single")


def test_a_refused_script_raises_at_run_time_with_its_line():
    with pytest.raises(ScriptForbidden, match="import statements are not allowed") as err:
        execute("x = 1\nimport os")
    assert err.value.line == 2 and str(err.value).endswith("(line 2)")
    with pytest.raises(SyntaxError):
        execute("x = (")


# -- refused at run time ----------------------------------------------------------------------

@pytest.mark.parametrize("script, message", [
    ("x = getattr(1, '__class__')", "access to '__class__' is not allowed"),
    ("x = getattr(now, '__globals__')", "access to '__globals__' is not allowed"),
    ("x = hasattr(1, '__class__')", "access to '__class__' is not allowed"),
    ("x = getattr(1, '__cl' + 'ass__')", "access to '__class__' is not allowed"),
    ("x = '{0.__class__}'.format(1)", "'format' is not allowed"),
    ("def f(): pass\nx = '{.__globals__}'.format(f)", "'format' is not allowed"),
    ("x = str.format('{0.__class__}', 1)", "'format' is not allowed"),
    ("x = str.format_map('{a.__class__}', {'a': 1})", "'format_map' is not allowed"),
    ("x = '{a.__class__}'.format_map({'a': 1})", "'format_map' is not allowed"),
    ("x = getattr('{0.__class__}', 'format')(1)", "'format' is not allowed"),
    ("g = (x for x in [1])\nf = getattr(g, 'gi_frame')", "access to 'gi_frame' is not allowed"),
    ("x = int.mro()", "access to 'mro' is not allowed"),
    ("x = (1).real\nd = datetime(2026, 1, 1)\nd.year = 1", "may change items of dicts and lists only"),
])
def test_forbidden_attribute_access_is_refused(script, message):
    with pytest.raises(ScriptForbidden, match=message):
        execute(script, helpers={"now": lambda: NOON})


@pytest.mark.parametrize("name", ["open", "dir", "vars", "globals", "locals", "type", "compile", "setattr",
                                  "input", "object", "super", "memoryview", "iter"])
def test_dangerous_builtins_do_not_exist(name):
    with pytest.raises(NameError, match=f"name '{name}' is not defined"):
        execute(f"x = {name}")


def test_open_cannot_read_files():
    with pytest.raises(NameError, match="name 'open' is not defined"):
        execute("x = open('/etc/passwd').read()")


def test_helpers_are_plain_functions():
    class Clock:   # a helper that is a bound method: its object must stay out of reach
        secret = "s3cret"

        def now(self):
            return NOON
    data = execute("x = now()\ny = getattr(now, 'secret', None)", helpers={"now": Clock().now})
    assert data == {"x": NOON, "y": None}


# -- time and size limits ---------------------------------------------------------------------

@contextmanager
def stopwatch():
    watch = SimpleNamespace(elapsed=None)
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.elapsed = time.perf_counter() - start


def test_an_endless_loop_is_stopped_within_the_limit():
    with stopwatch() as watch, pytest.raises(ScriptTimeout, match=r"time limit of 0\.2 s") as err:
        execute("while True: pass")
    assert watch.elapsed < 1.0 and err.value.line == 1


def test_the_time_out_names_the_running_line():
    with pytest.raises(ScriptTimeout) as err:
        execute("n = 0\nwhile True:\n    n = n + 1")
    assert err.value.line in (2, 3)


@pytest.mark.parametrize("script", [
    "while True:\n    try:\n        while True: pass\n    except Exception:\n        pass",
    "while True:\n    try:\n        while True: pass\n    except:\n        pass",
    "try:\n    while True: pass\nfinally:\n    while True: pass",
    # Python switches the trace function off after a RecursionError in it
    "def f(): f()\ntry:\n    f()\nexcept RecursionError:\n    pass\nwhile True: pass",
    # the time-out hits a generator's clean-up, where Python swallows errors
    "def g():\n    try:\n        yield 1\n    finally:\n        while True: pass\nfor x in g():\n    break",
    # C loops over a list that grows while it is read
    "l = [1]\nx = any(map(l.append, l))",
    "l = [1]\nx = list(filter(l.append, l))",
    "l = [1]\nx = set(map(l.append, l))",
    "def h(n):\n    return n and h(n - 1) + h(n - 1)\nh(900)",
])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # the generator's clean-up
def test_the_time_out_cannot_be_caught_or_escaped(script):
    with stopwatch() as watch, pytest.raises(ScriptTimeout):
        execute(script, limits=ScriptLimits(timeout_seconds=0.3))
    assert watch.elapsed < 3


def test_the_time_limit_holds_in_any_thread():
    errors = []

    def work():
        try:
            execute("while True: pass")
        except ScriptError as err:
            errors.append(err)
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive() and isinstance(errors[0], ScriptTimeout)


def test_the_previous_trace_function_is_restored():
    calls = []

    def tracer(frame, event, arg):
        calls.append(event)
        return None
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        execute("x = 1")
        with pytest.raises(ScriptTimeout):
            execute("while True: pass")
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


@pytest.mark.parametrize("script, message", [
    ("x = 'a' * 10**9", "a str of 1,000,000,000 characters"),
    ("x = 10 ** 10 ** 8", "an int of 332,192,810 bits"),
    ("x = [0] * 10**9", "a list of 1,000,000,000 items"),
    ("x = 1 << 10**9", "an int of 1,000,000,001 bits"),
    ("x = list(range(10**10))", "a range of 10,000,000,000 items"),
    ("x = pow(10, 10**8)", "an int of"),
    ("x = 'ab'\nx *= 10**9", "a str of 2,000,000,000 characters"),
    ("x = [1]\nx += x * 6_000_000", "a list of 6,000,000 items"),
    ("x = 'x'.ljust(10**9)", "a str of 1,000,000,000 characters"),
    ("x = str.zfill('1', 10**9)", "a str of 1,000,000,000 characters"),
    ("x = '\\tx'.expandtabs(10**9)", "a str of"),
    ("x = 'ab'.replace('', 'x' * 4_000_000)", "a str of 12,000,002 characters"),
    ("x = 'a'.translate({97: 'z' * 3_000_000})\ny = ('aa' * 2).translate({97: 'z' * 3_000_000})",
     "a str of 12,000,000 characters"),
    ("x = ''.join(['a' * 4_000_000] * 2)", "a str of 8,000,000 characters"),
    ("x = f'{1:>999999999}'", "a str of"),
    ("x = '%999999999d' % 1", "a str of"),
    ("x = (1).to_bytes(10**10, 'big')", "a bytes of 10,000,000,000 bytes"),
    ("x = sum([['a'] * 3_000_000] * 2, [])", "a list of 6,000,000 items"),
    ("x = (1 << 4_999_000) // ((1 << 2_500_000) - 1)", "integer division on such large numbers would take too long"),
    ("x = divmod(1 << 4_999_000, (1 << 2_500_000) + 1)", "integer division"),
    ("x = pow(3, 10**6, (1 << 4_000_000) + 1)", "pow() with a modulus"),
    ("x = round(7, -10**8)", "an int of"),
    ("s = 'a' * 4_000_000\nx = str([s] * 1000)", "a str of"),
    ("s = 'a' * 4_000_000\nx = f'{[s] * 1000}'", "a str of"),
    ("s = 'a' * 4_000_000\nx = '%s' % ([s] * 1000,)", "a str of"),
    ("x = ('%(a)s' * 1000) % {'a': 'z' * 3_000_000}", "a str of"),
])
def test_huge_results_are_refused_before_they_are_built(script, message):
    refused = "result would be too large|would take too long"
    with stopwatch() as watch, pytest.raises(ScriptTooLarge, match=refused) as err:
        execute(script, limits=ScriptLimits(timeout_seconds=2))
    assert message in str(err.value) and watch.elapsed < 1.0


@pytest.mark.parametrize("script", ["x = int(d)", "x = round(d)", "x = f'{d:f}'", "x = '%d' % d",
                                    "x = d.as_integer_ratio()"])
def test_a_decimal_from_task_data_cannot_expand_into_a_huge_number(script):
    # '1E+999999999' is 12 characters in task data; its int has a billion digits
    with stopwatch() as watch, pytest.raises(ScriptTooLarge, match="too large"):
        execute(script, {"d": Decimal("1E+999999999")})
    assert watch.elapsed < 1.0


def test_task_data_too_large_to_store_is_rolled_back():
    environment = SandboxedScriptEngine(limits=FAST).environment
    data = {"keep": [1, 2]}
    with pytest.raises(ScriptTooLarge, match="task data would be too large"):
        environment.execute("keep.append(3)\ns = 'a' * 4_000_000\nx = [s] * 1000", data)
    assert data == {"keep": [1, 2, 3]}, "new variables are undone, the small change in place stays"
    data = {"items": []}
    with pytest.raises(ScriptTooLarge, match="'items' removed"):
        environment.execute("s = 'a' * 1_000_000\nfor i in range(10):\n    items.append(s)", data)
    assert data == {}
    with pytest.raises(ScriptTooLarge, match="too deeply nested"):
        environment.execute("x = []\nfor i in range(500):\n    x = [x]", {})


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the memory backstop reads /proc")
def test_memory_growth_is_stopped():
    limits = ScriptLimits(timeout_seconds=10, max_memory_mb=64)
    with pytest.raises(ScriptTooLarge, match="used more than 64 MB of memory"):
        execute("l = []\nwhile True:\n    l.append('x' * 1_000_000)", limits=limits)


def test_lists_read_while_they_grow_are_read_first():
    assert execute("l = [1, 2]\nl.extend(map(abs, l))\nm = [3]\nm += zip(m)") == {"l": [1, 2, 1, 2], "m": [3, (3,)]}


# -- ordinary scripts -------------------------------------------------------------------------

def test_ordinary_scripts_work():
    script = """
total = 0
for i in range(10):
    if i % 2 == 0:
        continue
    total += i
counts = {}
for word in ['a', 'b', 'a']:
    counts[word] = counts.get(word, 0) + 1
counts['a'] += 10
items = [1, 2]
items.append(3)
items += [4]
items[0] = 0
first, (second, third) = 'x', ('y', 'z')
pairs = [(k, v) for k, v in sorted(counts.items())]
squares = {n: n ** 2 for n in range(4)}
evens = list(filter(lambda n: n % 2 == 0, range(7)))
label = f"{total:>5}|{3.14159:.2f}|{'q'!r}|{total=}"
legacy = '%s-%03d' % ('id', 7)
def double(n):
    return n * 2
def countdown(n):
    while n:
        yield n
        n -= 1
doubled = list(map(double, [1, 2]))
down = list(countdown(3))
try:
    int('x')
except ValueError as err:
    problem = str(err)
stats = [len('abc'), min(3, 1), max([1, 5]), sum([1, 2]), abs(-2), round(2.567, 1), divmod(7, 2), any([0, 1]),
         all([1]), isinstance('s', str), isinstance(1, (str, int)), repr('x'), str(12), int('7'), float('1.5'),
         list(reversed([1, 2])), list(enumerate('ab')), list(zip('ab', 'cd')), bool(0), sorted({3, 1}),
         tuple([1]), str.upper('a'), ','.join(['a', 'b']), 'a-b'.split('-'), 'x'.ljust(3, '.'), chr(65),
         int.from_bytes(b'\\x01', 'big'), isinstance(True, int), str(int('12') + 1)]
"""
    data = execute(script)
    assert data["total"] == 25 and data["counts"] == {"a": 12, "b": 1}
    assert data["items"] == [0, 2, 3, 4] and (data["first"], data["second"], data["third"]) == ("x", "y", "z")
    assert data["pairs"] == [("a", 12), ("b", 1)] and data["squares"] == {0: 0, 1: 1, 2: 4, 3: 9}
    assert data["evens"] == [0, 2, 4, 6] and data["doubled"] == [2, 4] and data["down"] == [3, 2, 1]
    assert data["label"] == "   25|3.14|'q'|total=25" and data["legacy"] == "id-007"
    assert data["problem"].startswith("invalid literal for int()")
    assert data["stats"] == [3, 1, 5, 3, 2, 2.6, (3, 1), True, True, True, True, "'x'", "12", 7, 1.5, [2, 1],
                             [(0, "a"), (1, "b")], [("a", "c"), ("b", "d")], False, [1, 3], (1,), "A", "a,b",
                             ["a", "b"], "x..", "A", 1, True, "13"]
    assert "double" not in data and "countdown" not in data and "__builtins__" not in data
    assert not any(key.startswith("_") for key in data)


def test_helpers_and_dates_use_the_engine_clock():
    clock = FixedClock(NOON)
    script = ("due = now() + timedelta(days=2)\nweekday = due.strftime('%A')\nnaive = datetime.now()\n"
              "today = date.today()\nlater = datetime(2026, 10, 1, tzinfo=timezone.utc) - due")
    with using(clock):
        data = execute(script, helpers={"now": clock.now})
    assert data == {"due": NOON + timedelta(days=2), "weekday": "Wednesday", "naive": NOON.replace(tzinfo=None),
                    "today": NOON.date(), "later": timedelta(hours=20)}


def test_task_data_keeps_spiffs_rules():
    with pytest.raises(ValueError, match="overwrites a predefined function"):
        execute("x = 1", {"now": 5}, helpers={"now": lambda: NOON})
    assert execute("x = date", {"date": "2026-01-01"}) == {"date": "2026-01-01", "x": "2026-01-01"}
    data = execute("y = x + 1\nf = lambda: 1", {"x": 1}, helpers={"now": lambda: NOON})
    assert data == {"x": 1, "y": 2}


def test_expressions_read_data_without_changing_it():
    data = {"counter": 3, "items": [1, 2]}
    assert evaluate("counter < 500", data) is True
    assert evaluate("(n := len(items)) and n * 10", data) == 20
    assert data == {"counter": 3, "items": [1, 2]}
    with pytest.raises(ScriptForbidden, match="generator"):
        evaluate("(x for x in items)", data)


def test_compiled_code_is_cached():
    engine = SandboxedScriptEngine()
    engine.environment.evaluate("counter < 12345", {"counter": 1})
    hits = sandbox._compile.cache_info().hits
    for n in range(3):
        assert engine.environment.evaluate("counter < 12345", {"counter": n}) is True
    assert sandbox._compile.cache_info().hits == hits + 3


# -- with SpiffWorkflow -----------------------------------------------------------------------

def _spec(script: str, condition: str = "amount > 1000"):
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://qinglian/test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f4"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:scriptTask id="big"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>route = "big"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="small"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:script>route = "small"</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_big"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_small"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="small"/>
    <bpmn:sequenceFlow id="f5" sourceRef="big" targetRef="end_big"/>
    <bpmn:sequenceFlow id="f6" sourceRef="small" targetRef="end_small"/>
  </bpmn:process>
</bpmn:definitions>"""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    return parser.get_spec("p")


def _workflow(script, condition="amount > 1000", limits=FAST, helpers=None):
    return BpmnWorkflow(_spec(script, condition), script_engine=SandboxedScriptEngine(helpers, limits))


def _task(wf, bpmn_id):
    [task] = [t for t in wf.get_tasks() if t.task_spec.bpmn_id == bpmn_id]
    return task


@pytest.mark.parametrize("amount, route", [(5000, "big"), (10, "small")])
def test_scripts_and_gateway_conditions_run_in_the_sandbox(amount, route):
    wf = _workflow(f"amount = {amount}\nstamp = now().isoformat()", helpers={"now": lambda: NOON})
    wf.do_engine_steps()
    assert wf.is_completed()
    data = wf.last_task.data
    assert data["route"] == route and data["stamp"] == NOON.isoformat() and "now" not in data


def test_a_runaway_script_leaves_its_task_in_error_with_the_time_limit_in_the_message():
    wf = _workflow("n = 0\nwhile True:\n    n = n + 1")
    with stopwatch() as watch, pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert watch.elapsed < 2
    assert "ScriptTimeout" in str(err.value) and "time limit of 0.2 s" in str(err.value)
    assert err.value.line_number in (2, 3) and err.value.error_line
    assert _task(wf, "calc").state == TaskState.ERROR


def test_a_failing_script_reports_its_line():
    wf = _workflow("amount = 1\nshare = amount / 0")
    with pytest.raises(WorkflowTaskException, match="ZeroDivisionError: division by zero") as err:
        wf.do_engine_steps()
    assert err.value.line_number == 2 and err.value.error_line == "share = amount / 0"
    assert _task(wf, "calc").state == TaskState.ERROR


def test_an_escape_in_a_script_task_fails_the_task():
    wf = _workflow('klass = getattr((), "__cl" + "ass__")\nleak = getattr(klass, "__subcl" + "asses__")()')
    with pytest.raises(WorkflowTaskException, match="access to '__class__' is not allowed") as err:
        wf.do_engine_steps()
    assert err.value.line_number == 1
    assert _task(wf, "calc").state == TaskState.ERROR and "leak" not in _task(wf, "calc").data


def test_an_escape_in_a_gateway_condition_is_refused():
    wf = _workflow("amount = 1", condition="'{0.__class__}'.format(amount) != ''")
    with pytest.raises(WorkflowTaskException, match="'format' is not allowed"):
        wf.do_engine_steps()
    wf = _workflow("amount = 1", condition="amount.__class__ is int")
    with pytest.raises(WorkflowTaskException, match="invalid attribute name"):
        wf.do_engine_steps()


def test_a_huge_value_raised_by_a_script_gives_a_short_message():
    wf = _workflow("s = 'a' * 4_000_000\nraise ValueError([s] * 1000)")
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert len(str(err.value)) < 2000 and err.value.line_number == 2
