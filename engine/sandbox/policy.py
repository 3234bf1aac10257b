"""Compile time: what a script may contain (RestrictedPython plus our policy), cached."""
from __future__ import annotations


import ast
import builtins
import functools
import re
from dataclasses import dataclass
from types import CodeType

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import (IOPERATOR_TO_STR,
                                          RestrictingNodeTransformer, copy_locations)

from .errors import SCRIPT_FILENAME, ScriptForbidden
from .scope import _BUILTINS

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
    also compiles at run time. It also reports Python builtins the sandbox does not provide
    (`locals()`, `open`...), which compile but could only fail at run time.
    """
    problems = list(_compile(source, mode).problems)
    for line, name, called in _unknown_builtins(source, mode):
        if not any(at == line and name in message.lower() for at, message in problems):
            problems.append((line, f"{name}{'()' * called} is not available in scripts "
                                   "(the sandbox does not provide this Python builtin)"))
    return sorted(problems, key=lambda p: p[0] or 0)


@functools.lru_cache(maxsize=4096)
def _unknown_builtins(source: str, mode: str) -> tuple[tuple[int, str, bool], ...]:
    """(line, name, called) for each Python builtin the code reads that the sandbox does not give
    and the code does not define itself, once per name and line. A task data value of such a name
    would hide it at run time, but data should not shadow Python's builtins."""
    try:
        tree = ast.parse(source.lstrip(" \t") if mode == "eval" else source, SCRIPT_FILENAME, mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()                   # _compile reports it
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            defined.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found: dict[tuple[int, str], tuple[int, bool]] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in _PYTHON_BUILTINS
                and node.id not in _BUILTINS and node.id not in defined and not node.id.startswith("_")):
            key = (node.lineno, node.id)
            column, was_called = found.get(key, (node.col_offset, False))
            found[key] = (min(column, node.col_offset), was_called or id(node) in called)
    return tuple((line, name, was_called) for (line, name), (_, was_called)
                 in sorted(found.items(), key=lambda item: (item[0][0], item[1][0])))


_PYTHON_BUILTINS = frozenset(dir(builtins))


def _compiled_or_raise(source: str, mode: str) -> _Compiled:
    compiled = _compile(source, mode)
    if compiled.code is not None:
        return compiled
    if compiled.syntax:
        raise SyntaxError(*compiled.syntax)
    line, message = compiled.problems[0]
    more = len(compiled.problems) - 1
    raise ScriptForbidden(message + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""), line)
