"""The sandbox for the Python that process owners write in the browser: script tasks, pre/post
scripts, gateway conditions, timer and multi-instance expressions. All of it is untrusted.

Three layers, each covering what the one before cannot:

1. Compile time: RestrictedPython's policy (no names or attributes starting with "_", no exec or
   eval...) plus ours, `_Policy`: no imports, classes or print; at most one `*` per literal or
   call; every operator that can build something huge in one C step (`*`, `**`, `<<`, `+`, `%`,
   `//`) and every f-string field goes through a guard function.
2. Run time guards: attributes are looked up through `_getattr_` (no str.format, frames, mro...;
   size checks on methods such as str.ljust or list.extend), and the builtins are a small list,
   some wrapped (range, str, repr, map, zip, sum, pow...) so that C code never starts building a
   value larger than `ScriptLimits.max_items`.
3. A trace function on the evaluating thread, only while the code runs: it stops the script
   when its CPU time is up, or when the process grew by more than `max_memory_mb` (a backstop
   for many small allocations). Python switches off a trace function that raises, or that it
   cannot call (at the recursion limit), so `_check_()` (see there) keeps it on: the policy
   puts it at the top of every except/finally block, loop body and function.

Task data is checked after each run as well: shared references make `[s] * 1000` cheap to build
and enormous to store, and the engine serializes task data after every step.

Compiled code is cached by (source, mode): the same condition runs thousands of times.
"""
from __future__ import annotations

import ast
import builtins
import functools
import inspect
import itertools
import math
import operator
import os
import re
import reprlib
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, time as day_time, timedelta, timezone
from decimal import Decimal
from types import CodeType, GeneratorType
from typing import Any, Callable

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import (INSPECT_ATTRIBUTES, IOPERATOR_TO_STR,
                                          RestrictingNodeTransformer, copy_locations)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .clock import current_clock

SCRIPT_FILENAME = "<string>"   # SpiffWorkflow finds the failing line of a script by this name


@dataclass(frozen=True)
class ScriptLimits:
    """What one evaluation of a script or expression may use."""

    timeout_seconds: float = 2.0        # CPU time of the evaluating thread
    max_items: int = 5_000_000          # largest str/bytes/list/tuple/int(bits) one operation may create
    max_memory_mb: int | None = 256     # backstop: how much the process may grow during one run


class ScriptError(Exception):
    """A script broke a sandbox rule; `line` is the script line when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"{self.message} (line {self.line})" if self.line else self.message


class ScriptTimeout(ScriptError):
    """The script ran past its time limit."""


class ScriptTooLarge(ScriptError):
    """The script would build a value, or use memory, beyond its limits."""


class ScriptForbidden(ScriptError):
    """The script uses something the sandbox does not offer."""


# -- compile time -----------------------------------------------------------------------------

_BINARY_GUARDS = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_",
                  ast.Mod: "_mod_", ast.FloorDiv: "_floordiv_"}


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _needs_guard(node: ast.BinOp) -> bool:
    """Skip the guard where the operands make a large result impossible (`n + 1`, `n // 2`)."""
    op = type(node.op)
    if op is ast.Add:    # a constant operand grows the result by its own size only
        return not (isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant))
    if op is ast.FloorDiv:
        return not (_is_number(node.right) and abs(node.right.value) < 2**64)
    if op is ast.Mod:    # a number on the left is arithmetic, never %-formatting
        return not _is_number(node.left)
    return True


def _names_only(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _names_only(node.value)
    if isinstance(node, ast.Tuple):
        return all(_names_only(e) for e in node.elts)
    return False


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules, plus: no import, class or print; one `*` per literal or call;
    except clauses name classes only; `+ * ** << % //` and f-string fields call guards;
    `d[k] += v` is allowed (through a guard); every loop body, function and except/finally
    block starts with a check that the limits are still on (see `_check_`)."""

    def _guard_call(self, name: str, args: list, node: ast.AST) -> ast.Call:
        call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
        copy_locations(call, node)
        return call

    def _statement(self, value: ast.expr, node: ast.AST) -> ast.Expr:
        stmt = ast.Expr(value=value)
        copy_locations(stmt, node)
        return stmt

    def _check(self) -> ast.Call:
        return ast.Call(func=ast.Name("_check_", ast.Load()), args=[], keywords=[])

    def _alive(self, node: ast.AST, true: bool = False) -> ast.BoolOp:
        """`_gettrace_() or _check_()` (`... or True` when `true`): one C call while the trace
        function is on; see _check_."""
        gettrace = ast.Call(func=ast.Name("_gettrace_", ast.Load()), args=[], keywords=[])
        alive = ast.BoolOp(op=ast.Or(), values=[gettrace, self._check()] + [ast.Constant(True)] * true)
        copy_locations(alive, node)
        return alive

    def _one_star(self, node: ast.AST, elements: list, what: str) -> None:
        # `[*a, *a, ...]` would build a huge list in one step; one star is bounded by its operand.
        if sum(isinstance(e, ast.Starred) for e in elements) > 1:
            self.error(node, f"only one * unpacking is allowed in a {what}")

    def visit_Import(self, node):
        self.error(node, "import statements are not allowed")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.error(node, "class definitions are not allowed")
        return node

    def visit_Name(self, node):
        if node.id in ("print", "printed"):
            self.error(node, "print() is not available in scripts")
            return node
        return super().visit_Name(node)

    def visit_Call(self, node):
        self._one_star(node, node.args, "call")
        return super().visit_Call(node)

    def visit_List(self, node):
        self._one_star(node, node.elts, "list")
        return super().visit_List(node)

    def visit_Tuple(self, node):
        self._one_star(node, node.elts, "tuple")
        return super().visit_Tuple(node)

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        name = _BINARY_GUARDS.get(type(node.op))
        if name is None or not _needs_guard(node):
            return node
        return self._guard_call(name, [node.left, node.right], node)

    def visit_AugAssign(self, node):
        # RestrictedPython refuses `d[k] += 1`; scripts need it, so it becomes `_augitem_(d, k, "+=", 1)`.
        if isinstance(node.target, ast.Subscript):
            op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
            args = [self.visit(node.target.value), self.visit(node.target.slice), op, self.visit(node.value)]
            stmt = ast.Expr(value=self._guard_call("_augitem_", args, node))
            copy_locations(stmt, node)
            return stmt
        return super().visit_AugAssign(node)

    def visit_FormattedValue(self, node):
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant(None)
        call = self._guard_call("_format_", [node.value, ast.Constant(node.conversion), spec], node)
        new = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        copy_locations(new, node)
        return new

    def visit_ExceptHandler(self, node):
        # The exception types are evaluated while the time-out propagates, untraced: names only.
        if node.type is not None and not _names_only(node.type):
            self.error(node, "an except clause may only name exception classes")
        node = super().visit_ExceptHandler(node)
        node.body.insert(0, self._statement(self._check(), node))
        return node

    def visit_Try(self, node):
        node = super().visit_Try(node)
        if node.finalbody:
            node.finalbody.insert(0, self._statement(self._check(), node.finalbody[0]))
        return node

    # Every loop pass and function call makes sure the trace function is still on. (This also
    # gives `while True: pass` a second instruction: alone, it jumps onto itself, no trace event.)

    def visit_While(self, node):
        node = super().visit_While(node)
        node.body.insert(0, self._statement(self._alive(node), node))
        return node

    def visit_For(self, node):
        node = super().visit_For(node)
        node.body.insert(0, self._statement(self._alive(node), node))
        return node

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        node.body.insert(0, self._statement(self._alive(node), node))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        body = ast.BoolOp(op=ast.And(), values=[self._alive(node.body, true=True), node.body])
        copy_locations(body, node.body)
        node.body = body   # (alive or True) and body
        return node

    def visit_comprehension(self, node):
        node = super().visit_comprehension(node)
        node.ifs.append(self._alive(node.iter, true=True))
        return node


@dataclass(frozen=True)
class _Compiled:
    code: CodeType | None
    problems: tuple[tuple[int | None, str], ...]
    syntax: tuple | None = None      # SyntaxError arguments, to raise it again at run time
    calls: bool = True               # whether the code calls anything (and so may change data)


def _syntax_problem(err: SyntaxError) -> str:
    where = f" at statement: {err.text.strip()!r}" if err.text and err.text.strip() else ""
    return f"{type(err).__name__}: {err.msg}{where}"


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> _Compiled:
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    text = source.lstrip(" \t") if mode == "eval" else source   # as eval() does
    try:
        tree = ast.parse(text, SCRIPT_FILENAME, mode)
        calls = any(isinstance(n, ast.Call) for n in ast.walk(tree))
        compile_fn = compile_restricted_eval if mode == "eval" else compile_restricted_exec
        result = compile_fn(tree, SCRIPT_FILENAME, policy=_Policy)
    except SyntaxError as err:   # from ast.parse, or compile() ('return' outside function...)
        return _Compiled(None, ((err.lineno, _syntax_problem(err)),),
                         (err.msg, (SCRIPT_FILENAME, err.lineno, err.offset, err.text)))
    except (ValueError, RecursionError, MemoryError) as err:   # NUL bytes, absurd nesting
        return _Compiled(None, ((None, f"it cannot be compiled ({type(err).__name__}: {err})"),))
    problems = []
    for error in result.errors:
        match = re.match(r"Line (\d+|None): (.*)", error, re.S)
        if match:
            problems.append((int(match[1]) if match[1].isdigit() else None, match[2]))
        else:
            problems.append((None, error))
    return _Compiled(None if problems else result.code, tuple(problems), None, calls)


def check_source(source: str, mode: str) -> list[tuple[int | None, str]]:
    """Compile-time check used at deploy: mode 'exec' (scripts) or 'eval' (conditions, timer
    expressions). Returns [(line, message)] for syntax errors and policy violations; empty = OK.

    It is exactly the compilation the engine runs later (and shares its cache), so what deploys
    also compiles at run time.
    """
    return list(_compile(source, mode).problems)


def _compiled_or_raise(source: str, mode: str) -> _Compiled:
    compiled = _compile(source, mode)
    if compiled.code is not None:
        return compiled
    if compiled.syntax:
        raise SyntaxError(*compiled.syntax)
    line, message = compiled.problems[0]
    more = len(compiled.problems) - 1
    raise ScriptForbidden(message + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""), line)


# -- run time: the trace function ------------------------------------------------------------

_CHECK_EVERY = 64                 # trace events between two looks at the clock
_MEMORY_CHECK_INTERVAL = 0.005    # CPU seconds between two looks at the process size
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int | None:
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None   # not Linux: no memory backstop, the other limits still hold
    try:
        return int(os.read(fd, 128).split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(fd)


class _Run:
    """One evaluation in progress on this thread."""

    __slots__ = ("limits", "max_items", "deadline", "fatal", "memory_cap", "next_memory_check", "tracer")

    def __init__(self, limits: ScriptLimits):
        self.limits = limits
        self.max_items = limits.max_items
        self.deadline = time.thread_time() + limits.timeout_seconds
        self.fatal: ScriptError | None = None
        self.memory_cap: int | None = None
        self.next_memory_check = 0.0
        self.tracer = _tracer(self)

    def check(self) -> None:
        now = time.thread_time()
        if now > self.deadline:
            self.stop(ScriptTimeout(f"the script exceeded its time limit of {self.limits.timeout_seconds:g} s"))
        megabytes = self.limits.max_memory_mb
        if megabytes is not None and now >= self.next_memory_check:
            self.next_memory_check = now + _MEMORY_CHECK_INTERVAL
            resident = _resident_bytes()
            if resident is None:
                return
            if self.memory_cap is None:   # first look (after _CHECK_EVERY events): the baseline
                self.memory_cap = resident + megabytes * 2**20
            elif resident > self.memory_cap:
                self.stop(ScriptTooLarge(f"the script used more than {megabytes} MB of memory"))

    def stop(self, error: ScriptError) -> None:
        self.fatal = error
        raise error


class _State(threading.local):
    run: _Run | None = None
    max_items: int = ScriptLimits.max_items   # the guards' hot path reads it directly


_state = _State()
_THIS_FILE = _Run.check.__code__.co_filename


_GENERATOR = inspect.CO_GENERATOR


def _tracer(run: _Run) -> Callable:
    countdown = _CHECK_EVERY

    def trace(frame, event, arg):
        nonlocal countdown
        countdown -= 1
        if countdown <= 0:
            # Never raise on a generator's call/exception/return events: those also happen when
            # a generator is closed on garbage collection, where Python swallows the error
            # (after switching tracing off). Its lines, and every other call, are safe places.
            if event == "line" or not frame.f_code.co_flags & _GENERATOR:
                countdown = _CHECK_EVERY
                run.check()
        if event == "call" and frame.f_code.co_filename == _THIS_FILE:
            return None   # our guards: their calls count, their lines need no tracing
        return trace
    return trace


def _script_line(tb) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _run(code: CodeType, scope: dict, limits: ScriptLimits) -> Any:
    """Run compiled code under the limits, tracing this thread only while it runs."""
    run = _Run(limits)
    outer, outer_max = _state.run, _state.max_items
    previous = sys.gettrace()   # a debugger's or coverage's tracer, put back afterwards
    _state.run, _state.max_items = run, limits.max_items
    sys.settrace(run.tracer)
    try:
        result = eval(code, scope)
        _check_()   # a time-out raised in a generator's clean-up is swallowed by Python: not final
        return result
    except ScriptError as err:
        if err.line is None:
            err.line = _script_line(err.__traceback__)
        raise
    finally:
        sys.settrace(previous)
        _state.run, _state.max_items = outer, outer_max


def _check_() -> None:
    """Keep the limits on. Python switches a trace function off when it raises (our time-out)
    or cannot be called (a RecursionError at the stack's limit). So: at the top of every except
    and finally block, a time-out is raised again (the script cannot catch it and carry on);
    and each loop pass and function call that finds tracing off (see `_Policy._alive`) puts
    the trace function back, on the running frames too."""
    run = _state.run
    if run is None:
        return
    if run.fatal is not None:
        raise type(run.fatal)(run.fatal.message)
    if sys.gettrace() is None:
        sys.settrace(run.tracer)
        frame = sys._getframe(1)
        while frame is not None and frame.f_code is not _run.__code__:
            if frame.f_trace is None and frame.f_code.co_filename != _THIS_FILE:
                frame.f_trace = run.tracer
            frame = frame.f_back


# -- run time: size guards -------------------------------------------------------------------

_SEQUENCES = (str, bytes, bytearray, list, tuple)
_WORK_PER_ITEM = 10   # big-int digit operations allowed per max_items (about 80 ms at 5M items)


_UNITS = {"str": "characters", "bytes": "bytes", "bytearray": "bytes", "int": "bits"}


def _ensure(size: int, kind: str) -> None:
    limit = _state.max_items
    if size > limit:
        article = "an" if kind[0] in "aeiou" else "a"
        raise ScriptTooLarge(f"the result would be too large: {article} {kind} of {size:,} "
                             f"{_UNITS.get(kind, 'items')} (the limit is {limit:,})")


def _ensure_work(work: int, what: str) -> None:
    if work > _state.max_items * _WORK_PER_ITEM:
        raise ScriptTooLarge(f"{what} on such large numbers would take too long")


def _bits(value: float) -> int:
    return int(value) + 1 if value < 2**62 else 2**62


def _check_add(a, b) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _ensure(len(a) + len(b), type(a).__name__)


def _check_mul(a, b) -> None:
    if isinstance(a, int):
        if isinstance(b, int):
            _ensure(a.bit_length() + b.bit_length(), "int")
        elif isinstance(b, _SEQUENCES):
            _ensure(len(b) * a, type(b).__name__)
    elif isinstance(b, int) and isinstance(a, _SEQUENCES):
        _ensure(len(a) * b, type(a).__name__)


def _check_div(a, b) -> None:
    # CPython 3.11 divides big ints in quadratic time: 5M bits by 2.5M bits takes ~10 s in C.
    if isinstance(a, int) and isinstance(b, int):
        _check_division_bits(a.bit_length(), b.bit_length())


def _check_division_bits(dividend: int, divisor: int) -> None:
    if dividend > divisor:
        _ensure_work(((dividend - divisor) // 30 + 1) * (divisor // 30 + 1), "integer division")


def _check_pow(a, b, modulus=None) -> None:
    if not (isinstance(a, int) and isinstance(b, int)):
        return
    if modulus is None:
        if b > 1 and not -1 <= a <= 1:
            _ensure(_bits(b * math.log2(abs(a)) if b.bit_length() <= 64 else math.inf), "int")
    elif isinstance(modulus, int) and modulus:
        _ensure_work(max(b.bit_length(), 1) * (modulus.bit_length() // 30 + 1) ** 2, "pow() with a modulus")
        _check_div(a, modulus)


def _check_lshift(a, n) -> None:
    if isinstance(a, int) and isinstance(n, int) and a and n > 0:
        _ensure(a.bit_length() + n, "int")


_PERCENT_FIELD = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBER = re.compile(r"\d+")


def _field_number(digits: str, limit: int) -> int:
    return int(digits) if len(digits) <= 12 else limit + 1


def _check_percent(template, args) -> None:
    """`'%999999999d' % 1`, `'%s' % (shared_list,)` and `'%(a)s%(a)s...' % {'a': s}` build huge
    strings in one C call."""
    text = template if isinstance(template, str) else bytes(template).decode("latin-1")
    limit = _state.max_items
    values = args if isinstance(args, tuple) else (args,)
    size = len(text) + _text_size(args, limit) + sum(map(_decimal_digits, values))
    for match in _PERCENT_FIELD.finditer(text):
        name, width, precision = match.groups()
        if name is not None and isinstance(args, dict):   # each %(name)s repeats its value
            value = args.get(name if isinstance(template, str) else name.encode("latin-1"))
            size += _text_size(value, limit) + _decimal_digits(value)
        for part in (width, precision):
            if part == "*":   # the width comes from the arguments
                size += sum(abs(v) for v in values if isinstance(v, int))
            elif part:
                size += _field_number(part, limit)
        if size > limit:
            break
    _ensure(size, type(template).__name__)


def _check_mod(a, b) -> None:
    if isinstance(a, (str, bytes, bytearray)):
        _check_percent(a, b)
    else:
        _check_div(a, b)


# The operators' guards. They run in loops, so the common small-number cases skip the checks.

def _add_(a, b):
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_add(a, b)
    return a + b


def _mul_(a, b):
    if not (type(a) is int and type(b) is int and a.bit_length() + b.bit_length() <= 128):
        _check_mul(a, b)
    return a * b


def _mod_(a, b):
    if not (type(a) is int and a.bit_length() <= 2048):
        _check_mod(a, b)
    return a % b


def _floordiv_(a, b):
    if not (type(a) is int and a.bit_length() <= 2048):
        _check_div(a, b)
    return a // b


def _pow_(a, b):
    _check_pow(a, b)
    return a ** b


def _lshift_(a, n):
    _check_lshift(a, n)
    return a << n


_INPLACE = {
    "+=": (operator.iadd, _check_add), "*=": (operator.imul, _check_mul), "%=": (operator.imod, _check_mod),
    "//=": (operator.ifloordiv, _check_div), "**=": (operator.ipow, _check_pow),
    "<<=": (operator.ilshift, _check_lshift), "-=": (operator.isub, None), "/=": (operator.itruediv, None),
    ">>=": (operator.irshift, None), "&=": (operator.iand, None), "|=": (operator.ior, None),
    "^=": (operator.ixor, None), "@=": (operator.imatmul, None),
}


def _inplacevar_(op: str, x, y):
    """`x op= y`, in place where the type works in place (a list or set may be shared)."""
    operation, check = _INPLACE[op]
    if op == "+=":
        if type(x) in (int, float):
            return x + y   # the loop counter: nothing to check
        if isinstance(x, list) and not isinstance(y, (list, tuple)):
            y = list(y)   # read it all before x grows: `l += zip(l)` never ends otherwise
    if check is not None:
        check(x, y)
    return operation(x, y)


# -- run time: text size ---------------------------------------------------------------------

_CONTAINERS = (list, tuple, set, frozenset, type({}.keys()), type({}.values()), type({}.items()))


def _text_size(value, limit: int, max_depth: int = 1000) -> int:
    """About how many characters str(), repr() or JSON of `value` take. Like them, it counts a
    shared object once per reference; it stops counting past `limit`, and gives `limit + 1`
    for data nested deeper than `max_depth` (which also ends cycles)."""
    total, level, depth = 0, [value], 0
    while level:
        if depth > max_depth:
            return limit + 1
        below = []
        for item in level:
            kind = type(item)
            if kind is str:
                total += len(item) + 2
            elif kind is int or kind is bool:
                total += (item.bit_length() * 77 >> 8) + 2
            elif kind is float:
                total += len(repr(item))
            elif kind is list or kind is tuple or isinstance(item, _CONTAINERS):
                total += 2 + 2 * len(item)
                if total <= limit:
                    below.extend(item)
            elif isinstance(item, dict):
                total += 2 + 4 * len(item)
                if total <= limit:
                    below.extend(item.keys())
                    below.extend(item.values())
            elif isinstance(item, (str, int)):
                total += len(item) + 2 if isinstance(item, str) else (item.bit_length() * 77 >> 8) + 2
            elif isinstance(item, (bytes, bytearray)):
                total += 4 * len(item) + 3
            elif isinstance(item, BaseException):
                total += 40
                below.extend(item.args)
            elif isinstance(item, Decimal):
                total += len(item.as_tuple().digits) + 8
            else:
                total += 64   # None, dates, functions, ranges...: short texts
            if total > limit:
                return total
        level, depth = below, depth + 1
    return total


def _ensure_text(value, factor: int = 1) -> None:
    if type(value) in (str, int, float, bool) or value is None:
        return   # its text is no larger than itself (int to str is capped by Python at 4300 digits)
    limit = _state.max_items
    _ensure(_text_size(value, limit) * factor, "str")


def _to_str(value) -> str:
    if type(value) is str:
        return value
    _ensure_text(value)
    return str(value)


def _repr(value) -> str:
    _ensure_text(value)
    return repr(value)


def _decimal_digits(value) -> int:
    """Digits a Decimal spells out as an int or in 'f' format: task data may hold a Decimal
    (the engine stores them), and Decimal('1E+999999999') is short, its int is not."""
    if isinstance(value, Decimal) and value.is_finite():
        return abs(value.adjusted()) + len(value.as_tuple().digits)
    return 0


def _check_integral(value) -> None:
    if isinstance(value, Decimal):
        _ensure(_bits(_decimal_digits(value) * 3.33), "int")


def _make_str(object="", encoding=None, errors=None) -> str:
    if encoding is None and errors is None:
        return _to_str(object)
    return str(object, encoding or "utf-8", errors or "strict")   # decoding: no larger than its input


def _make_int(*args, **kwargs) -> int:
    if args:
        _check_integral(args[0])
    return int(*args, **kwargs)


class _Proxy(type):
    """Scripts see `str` and `int` as proxies: isinstance() works with them, and calling them
    checks the size first (`str(shared_list)`, `int(Decimal('1E+999999999'))`)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.real)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls.real)

    def __call__(cls, *args, **kwargs):
        return cls.make(*args, **kwargs)

    def __repr__(cls):
        return repr(cls.real)


class _ScriptStr(metaclass=_Proxy):
    real, make = str, staticmethod(_make_str)


class _ScriptInt(metaclass=_Proxy):
    real, make = int, staticmethod(_make_int)


_STR, _REPR, _ASCII = ord("s"), ord("r"), ord("a")   # ast.FormattedValue.conversion


def _format_(value, conversion: int, spec: str | None) -> str:
    """One f-string field. `f"{x:>999999999}"` or `f"{shared_list}"` would build a huge string in C."""
    if conversion == _REPR:
        value = _repr(value)
    elif conversion == _STR:
        value = _to_str(value)
    elif conversion == _ASCII:
        _ensure_text(value, factor=10)   # ascii() escapes a character into up to 10
        value = ascii(value)
    if not spec:
        if type(value) is str:
            return value
        _ensure_text(value)
        return format(value)
    limit = _state.max_items
    numbers = sum(_field_number(n, limit) for n in _NUMBER.findall(spec))
    size = _text_size(value, limit) + _decimal_digits(value) + 16 * len(spec) + numbers   # %c in a date spec: ~12x
    _ensure(size, "str")
    return format(value, spec)


# -- run time: attributes --------------------------------------------------------------------

_NOT_ALLOWED = {name: f"access to '{name}' is not allowed in scripts" for name in INSPECT_ATTRIBUTES | {"mro"}}
_NOT_ALLOWED.update({name: f"'{name}' is not allowed in scripts (it can reach private attributes); "
                           "use an f-string instead" for name in ("format", "format_map")})


def _forbidden(obj, name):
    raise ScriptForbidden(_NOT_ALLOWED[name])


def _checked_method(types: tuple, check: Callable) -> Callable:
    """An attribute rule for a method of `types` that can build a huge value: `check(self, args,
    kwargs)` runs first and returns the positional arguments to call it with."""
    def rule(obj, name):
        method = getattr(obj, name)
        if isinstance(obj, types):
            def bound(*args, **kwargs):
                return method(*check(obj, args, kwargs), **kwargs)
            return bound
        if isinstance(obj, type) and issubclass(obj, types):
            def unbound(self, *args, **kwargs):
                if isinstance(self, types):
                    args = check(self, args, kwargs)
                return method(self, *args, **kwargs)
            return unbound
        return method
    return rule


def _check_width(s, args, kwargs):
    if args and isinstance(args[0], int):
        _ensure(args[0], type(s).__name__)
    return args


def _check_expandtabs(s, args, kwargs):
    tabsize = args[0] if args else kwargs.get("tabsize", 8)
    if isinstance(tabsize, int) and tabsize > 1:
        _ensure(len(s) + s.count("\t" if isinstance(s, str) else b"\t") * (tabsize - 1), type(s).__name__)
    return args


def _check_replace(s, args, kwargs):
    if len(args) >= 2 and all(isinstance(a, (str, bytes, bytearray)) for a in args[:2]):
        old, new = args[:2]
        if len(new) > len(old):
            try:
                count = s.count(old)
            except TypeError:
                return args   # replace() itself reports the mixed types
            limit = args[2] if len(args) > 2 else kwargs.get("count", -1)
            if isinstance(limit, int) and limit >= 0:
                count = min(count, limit)
            _ensure(len(s) + count * (len(new) - len(old)), type(s).__name__)
    return args


def _check_translate(s, args, kwargs):
    table = args[0] if args else None
    values = table.values() if isinstance(table, dict) else table if isinstance(table, (list, tuple)) else ()
    longest = max((len(v) for v in values if isinstance(v, str)), default=1)
    if longest > 1:
        _ensure(len(s) * longest, "str")
    return args


def _check_join(sep, args, kwargs):
    if len(args) != 1:
        return args
    items = args[0] if isinstance(args[0], (list, tuple)) else list(args[0])
    try:
        size = sum(map(len, items)) + len(sep) * max(len(items) - 1, 0)
    except TypeError:
        return (items,)   # join() itself reports the item that is not a string
    _ensure(size, type(sep).__name__)
    return (items,)


def _check_extend(lst, args, kwargs):
    if len(args) != 1:
        return args
    items = args[0] if isinstance(args[0], (list, tuple)) else list(args[0])   # see _inplacevar_
    _ensure(len(lst) + len(items), "list")
    return (items,)


def _check_ratio(d, args, kwargs):
    _check_integral(d)
    return args


def _check_to_bytes(n, args, kwargs):
    length = args[0] if args else kwargs.get("length", 1)
    if isinstance(length, int):
        _ensure(length, "bytes")
    return args


def _check_strftime(d, args, kwargs):
    fmt = args[0] if args else kwargs.get("format")
    if isinstance(fmt, str):
        _ensure(16 * len(fmt), "str")   # a directive such as %c grows ~12x
    return args


def _clock_rule(obj, name):
    """`datetime.now()`, `date.today()`... read the engine clock, so runs replay the same."""
    method = getattr(obj, name)   # AttributeError for date.now, as in Python
    cls = obj if isinstance(obj, type) else type(obj)
    if not issubclass(cls, date):
        return method
    if not issubclass(cls, datetime):
        return lambda: current_clock().now().date()

    def now(tz=None):
        value = current_clock().now()
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)   # naive = UTC
    return now if name == "now" else lambda: now()   # today(), utcnow()


_ATTRIBUTE_RULES: dict[str, Callable] = {name: _forbidden for name in _NOT_ALLOWED}
_ATTRIBUTE_RULES.update({name: _checked_method((str, bytes), _check_width)
                         for name in ("ljust", "rjust", "center", "zfill")})
_ATTRIBUTE_RULES.update({
    "expandtabs": _checked_method((str, bytes), _check_expandtabs),
    "replace": _checked_method((str, bytes), _check_replace),
    "translate": _checked_method((str,), _check_translate),
    "join": _checked_method((str, bytes), _check_join),
    "extend": _checked_method((list,), _check_extend),
    "to_bytes": _checked_method((int,), _check_to_bytes),
    "as_integer_ratio": _checked_method((Decimal,), _check_ratio),
    "strftime": _checked_method((date, day_time), _check_strftime),
    "now": _clock_rule, "today": _clock_rule, "utcnow": _clock_rule,
})


def _getattr_(obj, name: str):
    if type(obj) is _Proxy:
        obj = obj.real
    rule = _ATTRIBUTE_RULES.get(name)
    if rule is not None:
        return rule(obj, name)
    if name.startswith("_"):
        raise ScriptForbidden(f"access to '{name}' is not allowed in scripts: names starting with '_' are private")
    return getattr(obj, name)


def _write_(obj):
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptForbidden(f"a script may change items of dicts and lists only, not of a {type(obj).__name__}")


def _augitem_(obj, key, op: str, value) -> None:
    target = _write_(obj)
    target[key] = _inplacevar_(op, target[key], value)


def _apply_(function, *args, **kwargs):
    return function(*args, **kwargs)


# -- run time: builtins ----------------------------------------------------------------------

def _range(*args) -> range:
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:
        n = sys.maxsize
    _ensure(n, "range")
    return r


def _map(function, *iterables):
    if not iterables:
        raise TypeError("map() must have at least two arguments.")
    for args in zip(*iterables):
        _check_()
        yield function(*args)


def _filter(function, iterable):
    for item in iterable:
        _check_()
        if (item if function is None else function(item)):
            yield item


def _zip(*iterables, strict=False):
    for item in zip(*iterables, strict=strict):   # zip(*[l] * 1000) builds k-tuples: traced
        _check_()
        yield item


def _sum(iterable, /, start=0):
    if not isinstance(start, (list, tuple)):
        return sum(iterable, start)   # numbers; sum() refuses str and bytes itself
    # sum() of lists copies the growing result at each step: quadratic time in C. Concatenate once.
    kind = type(start)
    items = list(iterable)
    for item in items:
        if type(item) is not kind:
            raise TypeError(f'can only concatenate {kind.__name__} (not "{type(item).__name__}") to {kind.__name__}')
    _ensure(len(start) + sum(map(len, items)), kind.__name__)
    return kind(itertools.chain(start, *items))


def _pow(base, exp, mod=None):
    _check_pow(base, exp, mod)
    return pow(base, exp, mod)


def _divmod(a, b):
    _check_div(a, b)
    return divmod(a, b)


def _round(number, ndigits=None):
    if ndigits is None:
        _check_integral(number)
        return round(number)
    if isinstance(number, int) and isinstance(ndigits, int) and ndigits < 0:
        bits = -ndigits * 10 // 3 + 1   # round() divides by 10 ** -ndigits
        _ensure(bits, "int")
        _check_division_bits(number.bit_length(), bits)
    return round(number, ndigits)


def _script_getattr(obj, name, *default):
    if len(default) > 1:
        raise TypeError(f"getattr expected at most 3 arguments, got {2 + len(default)}")
    if not isinstance(name, str):
        raise TypeError("attribute name must be string")
    try:
        return _getattr_(obj, name)
    except AttributeError:
        if default:
            return default[0]
        raise


def _script_hasattr(obj, name) -> bool:
    try:
        _script_getattr(obj, name)
    except AttributeError:
        return False
    return True


_PLAIN_BUILTINS = (
    "abs", "all", "any", "bin", "bool", "callable", "chr", "dict", "enumerate", "float", "frozenset",
    "hex", "isinstance", "len", "list", "max", "min", "next", "oct", "ord", "reversed", "set", "sorted", "tuple",
    "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NameError", "NotImplementedError", "OverflowError", "RecursionError", "RuntimeError",
    "StopIteration", "TypeError", "UnicodeError", "ValueError", "ZeroDivisionError",
)
_BUILTINS = {name: getattr(builtins, name) for name in _PLAIN_BUILTINS}
_BUILTINS.update({
    "divmod": _divmod, "filter": _filter, "getattr": _script_getattr, "hasattr": _script_hasattr,
    "map": _map, "pow": _pow, "range": _range, "repr": _repr,
    "round": _round, "str": _ScriptStr, "int": _ScriptInt, "sum": _sum, "zip": _zip,
    "date": date, "datetime": datetime, "timedelta": timedelta, "timezone": timezone,
})

# What the compiled code refers to; set last in every scope so that task data cannot shadow it.
_GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": _getattr_, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": _write_,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar_, "_augitem_": _augitem_, "_apply_": _apply_, "_format_": _format_,
    "_check_": _check_, "_gettrace_": sys.gettrace,
    "_add_": _add_, "_mul_": _mul_, "_mod_": _mod_, "_floordiv_": _floordiv_, "_pow_": _pow_,
    "_lshift_": _lshift_,
}
_RESERVED_NAMES = frozenset(_GUARDS) - {"__builtins__"}


# -- task data --------------------------------------------------------------------------------

_MAX_DATA_DEPTH = 100   # SpiffWorkflow deep-copies and the engine serializes task data recursively


def _roll_back_oversized(data: dict, limit: int, before: dict | None = None) -> str | None:
    """Roll back data that could not be stored, and say so: undo the run's new and rebound
    variables (back to `before`) and, if that is not enough (a list grown in place), drop the
    largest ones."""
    if _text_size(data, limit, _MAX_DATA_DEPTH) <= limit:
        return None
    if before is not None:
        data.clear()
        data.update(before)
    removed = []
    sizes = sorted(((_text_size(v, limit, _MAX_DATA_DEPTH), k) for k, v in data.items()), reverse=True)
    total = sum(size for size, _ in sizes)
    for size, key in sizes:
        if total <= limit:
            break
        del data[key]
        removed.append(key)
        total -= size
    message = (f"the task data would be too large or too deeply nested to store (the limit is {limit:,} "
               "characters); the script's changes were undone")
    return message + (f" and {', '.join(map(repr, removed))} removed" if removed else "")


# -- SpiffWorkflow integration ---------------------------------------------------------------

def _as_helper(name: str, function: Callable) -> Callable:
    """Scripts get a plain function: the helper's own attributes (a bound method's object, a
    partial's arguments...) stay out of reach."""
    if not callable(function):
        raise TypeError(f"helper {name!r} is not callable")

    def helper(*args, **kwargs):
        return function(*args, **kwargs)
    helper.__name__ = helper.__qualname__ = name
    helper.__doc__ = getattr(function, "__doc__", None)
    return helper


class SandboxedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment's semantics (variables land in task data; helpers and callables do
    not; data shadowing a helper is a ValueError), with the code run by the sandbox."""

    def __init__(self, helpers: dict[str, Callable] | None = None, limits: ScriptLimits = ScriptLimits()):
        super().__init__({name: _as_helper(name, fn) for name, fn in (helpers or {}).items()})
        self.limits = limits

    def evaluate(self, expression, context, external_context=None):
        compiled = _compiled_or_raise(expression, "eval")
        scope = dict(self.globals)
        self._prepare_context(context)
        scope.update(external_context or {})
        scope.update(context)
        scope.update(_GUARDS)
        result = _run(compiled.code, scope, self.limits)
        limit = self.limits.max_items
        if isinstance(result, GeneratorType):   # it would be iterated later, outside the sandbox
            raise ScriptForbidden("an expression may not give a generator; use a list")
        if _text_size(result, limit, _MAX_DATA_DEPTH) > limit:
            raise ScriptTooLarge(f"the expression's value is too large (the limit is {limit:,} characters)")
        if compiled.calls:   # only a call can change data in place
            problem = _roll_back_oversized(context, limit) or _roll_back_oversized(external_context or {}, limit)
            if problem:
                raise ScriptTooLarge(problem)
        return result

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        compiled = _compiled_or_raise(script, "exec")
        extras = dict(self.globals)
        self._prepare_context(context)
        before = dict(context)
        extras.update(external_context or {})
        context.update(extras)
        context.update(_GUARDS)
        limit = self.limits.max_items
        try:
            _run(compiled.code, context, self.limits)
        finally:   # after a failure too: the engine stores the data of a task in ERROR
            self._remove_globals_and_functions_from_context(context, external_context)
            problem = _roll_back_oversized(context, limit, before) or _roll_back_oversized(external_context or {}, limit)
        if problem:
            raise ScriptTooLarge(problem)
        return True

    def check_for_overwrite(self, context, external_context):
        super().check_for_overwrite(context, external_context)
        clash = _RESERVED_NAMES.intersection(context)
        if clash:
            raise ValueError(f"You have task data that overwrites a predefined function(s). Please change "
                             f"the following variable or field name(s) to something else: {clash}")


_short = reprlib.Repr()
_short.maxstring = _short.maxother = 200
_MAX_MESSAGE = 1000


def _small(value) -> bool:
    if isinstance(value, str):
        return len(value) <= _MAX_MESSAGE
    if isinstance(value, int):
        return value.bit_length() <= 3000
    return value is None or isinstance(value, float)


def _describe(err: BaseException) -> str:
    """`Type: message`, bounded. A script may raise an exception carrying a huge value, and the
    engine stores and logs this text: the args and notes along the exception's chain are cut too."""
    for e in _chain(err):
        if not all(_small(a) for a in e.args):
            text = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else _short.repr(e.args)
            e.args = (text[:_MAX_MESSAGE] + "..." if len(text) > _MAX_MESSAGE else text,)
        notes = getattr(e, "__notes__", None)
        if isinstance(notes, list) and not all(isinstance(n, str) and _small(n) for n in notes[:10]):
            e.__notes__ = [n[:_MAX_MESSAGE] if isinstance(n, str) else _short.repr(n) for n in notes[:10]]
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _chain(err: BaseException | None, limit: int = 10):
    while err is not None and limit:
        yield err
        err = err.__cause__ or err.__context__
        limit -= 1


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's Python script engine, with every script and expression run by the sandbox.

    Failures still become WorkflowTaskException with the script's line, so the task goes to
    ERROR and the incident names the line; their messages say which limit or rule was hit.
    """

    def __init__(self, helpers: dict[str, Callable] | None = None, limits: ScriptLimits = ScriptLimits()):
        super().__init__(environment=SandboxedEnvironment(helpers, limits))
        self.limits = limits

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression '{expression}': {_describe(err)}",
                                        task=task, exception=err) from err

    def create_task_exec_exception(self, task, script, err):
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        return WorkflowTaskException(_describe(err), task=task, exception=err,
                                     line_number=line_number, error_line=error_line)

    def get_error_line_number_and_content(self, script, err):
        if isinstance(err, SyntaxError):
            line = err.lineno or 0
        elif isinstance(err, ScriptError) and err.line:
            line = err.line
        else:
            line = _script_line(err.__traceback__) or 0
        lines = script.splitlines()
        return line, lines[line - 1] if 0 < line <= len(lines) else ""
