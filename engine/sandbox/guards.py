"""Run time: size guards — operators, text and formatting that could build something huge in one C step."""
from __future__ import annotations


import math
import operator
import re
from decimal import Decimal


from .errors import ScriptTooLarge
from .tracer import _state

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
