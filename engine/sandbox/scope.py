"""Run time: the builtins a script sees, and the check of task data after a run."""
from __future__ import annotations


import builtins
import itertools
import operator
import sys
from datetime import date, datetime, timedelta, timezone

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from .attributes import _apply_, _augitem_, _getattr_, _write_
from .guards import _ScriptInt, _ScriptStr, _add_, _check_div, _check_division_bits, _check_integral, _check_pow, _ensure, _floordiv_, _format_, _inplacevar_, _lshift_, _mod_, _mul_, _pow_, _repr, _text_size
from .tracer import _check_

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
