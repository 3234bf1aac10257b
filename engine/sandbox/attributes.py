"""Run time: which attributes and methods a script may use."""
from __future__ import annotations


from datetime import date, datetime, time as day_time
from decimal import Decimal
from typing import Callable

from RestrictedPython.transformer import (INSPECT_ATTRIBUTES)

from ..clock import current_clock
from .errors import ScriptForbidden
from .guards import _Proxy, _check_integral, _ensure, _inplacevar_

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
