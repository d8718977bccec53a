"""Searches over monotone integer predicates: the one doubling-then-bisection loop the bounds
use (least sufficient resolution, first growth-bound crossing, largest size within a budget,
integer roots).

Example::

    >>> least(lambda n: n * n >= 50)
    8
    >>> floor_root(10**30, 3), integer_root(64, 3), integer_root(5, 10**12)
    (10000000000, 4, None)
"""

from __future__ import annotations

from collections.abc import Callable

from moetheory.errors import SizeError


def least(holds: Callable[[int], bool], limit: int | None = None) -> int:
    """The least n ≥ 1 with ``holds(n)``, for ``holds`` false then true (monotone): doubling,
    then bisection; O(log n) calls. Past ``limit`` a ValueError."""
    if holds(1):
        return 1
    lo, hi = 1, 2
    while not holds(hi):
        if limit is not None and hi > limit:
            raise SizeError(
                f"no size up to {limit} satisfies the bound: the sizes given are too large for it"
            )
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if holds(mid) else (mid, hi)
    return hi


def floor_root(n: int, d: int) -> int:
    """⌊n^{1/d}⌋ exactly, for integers n ≥ 0 and d ≥ 1."""
    return least(lambda r: r**d > n) - 1


def integer_root(n: int, d: int) -> int | None:
    """The integer K with K**d == n, or None (n ≥ 1; d may be too large for 2^d to be built)."""
    if n.bit_length() <= d:  # n < 2^d: K ≤ 1
        return n if n <= 1 else None
    k = floor_root(n, d)
    return k if k**d == n else None
