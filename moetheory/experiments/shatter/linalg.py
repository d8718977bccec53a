"""Exact rational linear algebra and float → rational rounding for shattering certificates.

Two helpers every certificate relies on:

- :func:`solve_exact` solves A·z = r over the rationals by Gaussian elimination (columns
  pivoted left to right, free variables set to 0) or reports that the system is inconsistent.
  A Farkas vector found by a floating-point LP is made exact by solving its equality system on
  the LP's support: at a basic (vertex) solution the support columns are independent, so the
  rational solution is the vertex itself.
- :func:`rationalise` turns a float vector into rationals (``Fraction.limit_denominator`` at
  10³, 10⁶, 10⁹, then the floats' exact binary values) and returns the first candidate that
  passes an exact check supplied by the caller, so the rounding can never make a false claim:
  only what the exact check accepts is kept.

Example::

    >>> F = Fraction
    >>> solve_exact([[F(1), F(1)], [F(1), F(-1)]], [F(2), F(0)])
    [Fraction(1, 1), Fraction(1, 1)]
    >>> solve_exact([[F(1), F(1)], [F(2), F(2)]], [F(1), F(3)]) is None   # inconsistent
    True
    >>> rationalise([0.3333333333, 0.5], lambda z: z[0] > 0)
    [Fraction(1, 3), Fraction(1, 2)]

Reference: experiments.md §1 (certificates re-checkable exactly after rounding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

DENOMINATORS = (10**3, 10**6, 10**9)
"""Denominator limits tried by :func:`rationalise` before the floats' exact values."""


def solve_exact(a: Sequence[Sequence[Fraction]], r: Sequence[Fraction]) -> list[Fraction] | None:
    """A rational solution of a·z = r (free variables 0), or None when inconsistent."""
    rows = [list(row) + [rhs] for row, rhs in zip(a, r, strict=True)]
    n = len(a[0]) if a else 0
    pivots: list[int] = []
    top = 0
    for c in range(n):
        p = next((i for i in range(top, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[top], rows[p] = rows[p], rows[top]
        inv = 1 / rows[top][c]
        rows[top] = [v * inv for v in rows[top]]
        for i in range(len(rows)):
            if i != top and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [v - f * w for v, w in zip(rows[i], rows[top], strict=True)]
        pivots.append(c)
        top += 1
        if top == len(rows):
            break
    if any(row[-1] != 0 for row in rows[top:]):
        return None
    z = [Fraction(0)] * n
    for i, c in enumerate(pivots):
        z[c] = rows[i][-1]
    return z


def rationalise(
    values: Sequence[float] | np.ndarray, check: Callable[[list[Fraction]], bool]
) -> list[Fraction] | None:
    """The first rational rounding of ``values`` that ``check`` accepts (module docstring)."""
    for den in (*DENOMINATORS, None):
        cand = [
            Fraction(float(v)) if den is None else Fraction(float(v)).limit_denominator(den)
            for v in values
        ]
        if check(cand):
            return cand
    return None


def fmt(q: Fraction) -> str:
    """'p' or 'p/q'.

    >>> fmt(Fraction(-3, 4)), fmt(Fraction(2))
    ('-3/4', '2')
    """
    return str(q)
