"""SpiffWorkflow integration: the sandboxed environment and script engine."""
from __future__ import annotations


import reprlib
from types import GeneratorType
from typing import Callable

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .errors import ScriptError, ScriptForbidden, ScriptLimits, ScriptTooLarge
from .guards import _text_size
from .policy import _compiled_or_raise
from .pool import ScriptPool, needs_worker
from .scope import _GUARDS, _MAX_DATA_DEPTH, _RESERVED_NAMES, _roll_back_oversized
from .tracer import _run, _script_line

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

    def __init__(self, helpers: dict[str, Callable] | None = None, limits: ScriptLimits = ScriptLimits(),
                 pool: ScriptPool | None = None):
        super().__init__({name: _as_helper(name, fn) for name, fn in (helpers or {}).items()})
        self.limits = limits
        self.pool = pool          # None: everything in-process, under the trace function only

    def evaluate(self, expression, context, external_context=None):
        if self.pool is not None and needs_worker(expression):
            return self.pool.run("eval", expression, context, external_context, self.globals, self.limits)
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
        if self.pool is not None:
            self.check_for_overwrite(context, external_context or {})
            self.pool.run("exec", script, context, external_context, self.globals, self.limits)
            return True
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

    def __init__(self, helpers: dict[str, Callable] | None = None, limits: ScriptLimits = ScriptLimits(),
                 pool: ScriptPool | None = None):
        super().__init__(environment=SandboxedEnvironment(helpers, limits, pool))
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
            line = getattr(err, "script_line", None) or _script_line(err.__traceback__) or 0
        lines = script.splitlines()
        return line, lines[line - 1] if 0 < line <= len(lines) else ""
