"""The sizes of an architecture: as checked integers, and as the sympy symbols its formulas use.

:func:`check_count` turns a user-given size into an int (or a :class:`SizeError` naming it).
The symbols are shared by the VC formulas (:mod:`moetheory.bounds.vc`) and the router kinds'
growth formulas (:mod:`moetheory.bounds.routers`): m points, input dimension d, E experts,
depth J, width W, K cells per axis of a grid router, the layer index i, and Euler's number
(kept symbolic so that it never reads as E). Reference: approximation_vc.md §1, §5.

Example::

    >>> check_count("experts", 4.0), str(sp.log(EULER * m * (E - 1) / (d + 1), 2))
    (4, 'log(e*m*(E - 1)/(d + 1))/log(2)')
"""

from __future__ import annotations

import sympy as sp

from moetheory.errors import SizeError

m, d, E, J, W, K, i = sp.symbols("m d E J W K i", positive=True, integer=True)
EULER = sp.Symbol("e", positive=True)


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int ≥ ``minimum``, or a :class:`SizeError` naming it.

    Example::

        >>> check_count("dim", 0)
        Traceback (most recent call last):
        ...
        moetheory.errors.SizeError: dim must be an integer ≥ 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise SizeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise SizeError(f"{name} must be an integer ≥ {minimum}, got {value}")
    return value
