"""Certificates: evaluation matrices whose nonsingularity is proved in ball arithmetic.

A certificate names exact points (dyadic rationals) and columns (derivative terms of u). The
matrix entries ∂^α u(x_j; θ) are enclosed in balls (python-flint ``arb``); a determinant ball
that excludes 0 proves the columns linearly independent as functions — if Σ c_α ∂^α u ≡ 0 then
the matrix annihilates c, so c = 0. No tolerance is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import flint
import numpy as np
import scipy.linalg
import sympy as sp

from moetheory.symbolic.balls import (
    BallError,
    BallEvaluator,
    certified_nonsingular,
    working_precision,
)

PRECISIONS = (128, 256, 512)


@dataclass(frozen=True)
class Minor:
    """A certified (or failed) square minor: column labels, row indices, determinant ball."""

    columns: tuple[int, ...]
    rows: tuple[int, ...]
    det: str
    certified: bool
    bits: int

    def to_json(self, column_names: list[str]) -> dict:
        return {
            "columns": [column_names[c] for c in self.columns],
            "rows": list(self.rows),
            "det": self.det,
            "certified": self.certified,
            "precision_bits": self.bits,
        }


def pivot_rows(values: np.ndarray, count: int) -> list[int]:
    """Rows of a float matrix chosen by QR with column pivoting of its transpose."""
    if count == 0:
        return []
    scaled = values / np.maximum(np.linalg.norm(values, axis=0, keepdims=True), 1e-300)
    _, _, piv = scipy.linalg.qr(scaled.T, pivoting=True, mode="economic")
    return sorted(int(p) for p in piv[:count])


def ball_string(b: flint.arb) -> str:
    return b.str(radius=True, more=False, condense=0)


def certify(
    entry, rows: list[int], columns: list[int], candidates: list[int] | None = None
) -> Minor:
    """Prove det[entry(row, col)] ≠ 0, raising the precision up to 512 bits.

    ``rows`` are a first choice (pivoted in floats). When they fail and ``candidates`` (all the
    rows that may be used) are given, the rows are chosen again by elimination with partial
    pivoting in ball arithmetic at each precision (:func:`ball_pivot_rows`): floats cannot rank
    rows of a family whose smallest singular values are below their rounding error, and a
    certificate never needs the float choice, only a nonsingular minor.
    """
    tried: set[tuple[int, ...]] = set()
    minor = _certify_rows(entry, rows, columns)
    tried.add(tuple(rows))
    if minor.certified or not candidates or minor.det == "undefined":
        return minor
    for bits in PRECISIONS:
        try:
            chosen = ball_pivot_rows(entry, candidates, columns, bits)
        except BallError:
            break
        if chosen is None or tuple(chosen) in tried:
            continue
        tried.add(tuple(chosen))
        again = _certify_rows(entry, chosen, columns, start=bits)
        if again.certified:
            return again
    return minor


def _certify_rows(entry, rows: list[int], columns: list[int], start: int = 0) -> Minor:
    det = flint.arb(0)
    bits = PRECISIONS[0]
    for bits in (b for b in PRECISIONS if b >= start):
        try:
            with working_precision(bits):  # products of entries at ``bits`` too
                mat = [[entry(r, c, bits) for c in columns] for r in rows]
        except BallError:
            return Minor(tuple(columns), tuple(rows), "undefined", False, bits)
        ok, det = certified_nonsingular(mat, bits)
        if ok:
            return Minor(tuple(columns), tuple(rows), ball_string(det), True, bits)
    return Minor(tuple(columns), tuple(rows), ball_string(det), False, bits)


def ball_pivot_rows(
    entry, candidates: list[int], columns: list[int], bits: int
) -> list[int] | None:
    """Rows for a nonsingular minor, by Gaussian elimination with partial pivoting on the
    ``candidates`` × ``columns`` matrix of balls at ``bits`` of precision (columns scaled to
    unit largest entry; the pivot is the row of largest midpoint). None when a column's pivot
    ball contains 0 (the columns look dependent at this precision). Choosing rows is a
    heuristic: the minor it names is certified separately.
    """
    if not columns:
        return []
    with working_precision(bits):
        return _pivot(entry, candidates, columns, bits)


def _pivot(entry, candidates: list[int], columns: list[int], bits: int) -> list[int] | None:
    mat = [[entry(r, c, bits) for c in columns] for r in candidates]
    for j in range(len(columns)):
        top = max((abs(row[j].mid()) for row in mat), default=flint.arb(0))
        if top == 0:
            return None
        for row in mat:
            row[j] = row[j] / top
    remaining = list(range(len(candidates)))
    chosen: list[int] = []
    for j in range(len(columns)):
        best = max(remaining, key=lambda i: abs(mat[i][j].mid()))
        pivot = mat[best][j]
        if pivot.contains(0):
            return None
        chosen.append(best)
        remaining.remove(best)
        for i in remaining:
            factor = mat[i][j] / pivot
            for k in range(j + 1, len(columns)):
                mat[i][k] -= factor * mat[best][k]
    return sorted(candidates[i] for i in chosen)


class BallTable:
    """Memoised ball values of expressions at (point, parameter) pairs."""

    def __init__(self, points: list[dict], thetas: list[dict]):
        self.points, self.thetas = points, thetas
        self._evaluators: dict[tuple[int, int, int], BallEvaluator] = {}

    def value(self, expr: sp.Expr, point: int, theta: int, bits: int) -> flint.arb:
        key = (point, theta, bits)
        ev = self._evaluators.get(key)
        if ev is None:
            ev = BallEvaluator({**self.points[point], **self.thetas[theta]}, prec=bits)
            self._evaluators[key] = ev
        return ev(expr)
