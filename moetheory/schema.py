"""Typed reading of untrusted JSON: size limits first, then checked conversion by our own parsers.

Every file moetheory reads from disk (saved verdicts, r̄ certificates, future configurations)
comes through here. The contract:

1. :func:`read_json` refuses files over :data:`~moetheory.limits.MAX_FILE_BYTES`, bytes that are
   not UTF-8, ``NaN``/``Infinity``, integers of more than :data:`MAX_INT_DIGITS` digits and
   non-finite floats, and :func:`check_tree` refuses nesting deeper than :data:`MAX_DEPTH`, more
   than :data:`MAX_NODES` values, and strings longer than :data:`MAX_STRING`;
2. each value is then taken by a typed accessor (:class:`Node`) that names the path of a bad
   value in its one-line error (``certificate.points[3].x1: expected …``);
3. exact numbers are converted by :func:`rational`, which accepts only JSON integers and strings
   ``p`` or ``p/q`` of bounded length — never a sympy constructor, never ``eval``.

Example::

    >>> node = Node({"point": {"a": "3/4"}, "rank": 2}, "verdict")
    >>> node["rank"].integer(0, 10), rational(node["point"]["a"].value, "a")
    (2, Fraction(3, 4))
    >>> node["rank"].string()
    Traceback (most recent call last):
    ...
    moetheory.errors.CertificateError: verdict.rank: expected a string, got int
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from moetheory.errors import CertificateError
from moetheory.limits import MAX_FILE_BYTES

MAX_DEPTH = 32
"""Deepest nesting of lists and objects accepted in a file."""
MAX_NODES = 2_000_000
"""Most values (objects, lists, strings, numbers) in one file."""
MAX_STRING = 200_000
"""Longest string value or key."""
MAX_INT_DIGITS = 100
"""Longest JSON integer literal (exact numbers larger than that travel as 'p/q' strings)."""
MAX_RATIONAL_DIGITS = 4000
"""Most digits of the numerator or denominator of an exact rational string."""

_RATIONAL = re.compile(r"-?[0-9]+(/[0-9]+)?")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise CertificateError(f"integer literal of {len(text)} digits (limit {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise CertificateError(f"number {text[:40]!r} overflows a float")
    return value


def _refuse_constant(text: str) -> None:
    raise CertificateError(f"{text} is not a JSON number")


def loads(text: str, what: str = "JSON") -> Any:
    """Parse JSON text under the limits of this module (see the module docstring)."""
    try:
        data = json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
        )
    except CertificateError as exc:
        raise CertificateError(f"{what}: {exc}") from None
    except RecursionError:
        raise CertificateError(f"{what} is nested too deeply (limit {MAX_DEPTH})") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise CertificateError(f"{what} is not valid JSON: {str(exc)[:200]}") from None
    check_tree(data, what)
    return data


def read_json(path: str | Path) -> Any:
    """The JSON value stored in ``path``, read under every limit of this module."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CertificateError(f"{path} is {size} bytes, more than the limit {MAX_FILE_BYTES}")
        raw = p.read_bytes()
    except OSError as exc:
        raise CertificateError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CertificateError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    return loads(text, str(path))


def check_tree(data: Any, what: str = "JSON") -> None:
    """Refuse deep nesting, too many values and long strings (iteratively: no recursion)."""
    count = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise CertificateError(f"{what} holds more than {MAX_NODES} values")
        if depth > MAX_DEPTH:
            raise CertificateError(f"{what} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise CertificateError(
                    f"{what} holds a string of {len(value)} characters (limit {MAX_STRING})"
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                if len(key) > MAX_STRING:
                    raise CertificateError(f"{what} holds a key of {len(key)} characters")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def rational(value: Any, where: str) -> Fraction:
    """An exact rational from a JSON integer or a string 'p' / 'p/q' (bounded digits).

    >>> rational("-7/12", "x"), rational(3, "x")
    (Fraction(-7, 12), Fraction(3, 1))
    >>> rational("1e100000000", "x")
    Traceback (most recent call last):
    ...
    moetheory.errors.CertificateError: x: expected an exact rational 'p' or 'p/q', got '1e100000000'
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    if not isinstance(value, str) or not _RATIONAL.fullmatch(value):
        raise CertificateError(
            f"{where}: expected an exact rational 'p' or 'p/q', got {_show(value)}"
        )
    num, _, den = value.lstrip("-").partition("/")
    if max(len(num), len(den)) > MAX_RATIONAL_DIGITS:
        raise CertificateError(f"{where}: rational with more than {MAX_RATIONAL_DIGITS} digits")
    if den and int(den) == 0:
        raise CertificateError(f"{where}: zero denominator in {value!r}")
    return Fraction(value)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:40] + ("…" if len(value) > 40 else ""))
    return type(value).__name__


class Node:
    """A JSON value with its path, read through typed accessors that fail with one line."""

    def __init__(self, value: Any, path: str):
        self.value, self.path = value, path

    def _fail(self, expected: str) -> CertificateError:
        return CertificateError(f"{self.path}: expected {expected}, got {_show(self.value)}")

    def __getitem__(self, key: str | int) -> Node:
        if isinstance(key, int):
            items = self.list()
            if not 0 <= key < len(items):
                raise CertificateError(f"{self.path}: no item {key}")
            return Node(items[key], f"{self.path}[{key}]")
        if not isinstance(self.value, dict):
            raise self._fail("an object")
        if key not in self.value:
            raise CertificateError(f"{self.path}: missing field {key!r}")
        return Node(self.value[key], f"{self.path}.{key}")

    def get(self, key: str) -> Node | None:
        """The field ``key`` or None when absent (the value must be an object)."""
        if not isinstance(self.value, dict):
            raise self._fail("an object")
        return self[key] if key in self.value else None

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def items(self) -> Iterator[tuple[str, Node]]:
        if not isinstance(self.value, dict):
            raise self._fail("an object")
        for key, value in self.value.items():
            yield key, Node(value, f"{self.path}.{key}")

    # Inside this class ``list`` names the method below, so annotations spell the builtin.
    def list(self, max_len: int | None = None) -> builtins.list[Any]:
        if not isinstance(self.value, list):
            raise self._fail("a list")
        if max_len is not None and len(self.value) > max_len:
            raise CertificateError(f"{self.path}: {len(self.value)} items, more than {max_len}")
        return self.value

    def each(self, max_len: int | None = None) -> builtins.list[Node]:
        return [Node(v, f"{self.path}[{i}]") for i, v in enumerate(self.list(max_len))]

    def string(self, max_len: int = MAX_STRING) -> str:
        if not isinstance(self.value, str):
            raise self._fail("a string")
        if len(self.value) > max_len:
            raise CertificateError(
                f"{self.path}: string of {len(self.value)} characters (limit {max_len})"
            )
        return self.value

    def choice(self, options: tuple[str, ...]) -> str:
        if self.value not in options or not isinstance(self.value, str):
            raise self._fail("one of " + ", ".join(repr(o) for o in options))
        return self.value

    def integer(self, low: int, high: int) -> int:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise self._fail(f"an integer from {low} to {high}")
        return v

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self._fail("true or false")
        return self.value

    def strings(self, max_len: int | None = None) -> builtins.list[str]:
        return [n.string() for n in self.each(max_len)]
