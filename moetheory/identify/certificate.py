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

from moetheory.symbolic.balls import BallError, BallEvaluator, certified_nonsingular

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
        return {"columns": [column_names[c] for c in self.columns], "rows": list(self.rows),
                "det": self.det, "certified": self.certified, "precision_bits": self.bits}


def pivot_rows(values: np.ndarray, count: int) -> list[int]:
    """Rows of a float matrix chosen by QR with column pivoting of its transpose."""
    if count == 0:
        return []
    scaled = values / np.maximum(np.linalg.norm(values, axis=0, keepdims=True), 1e-300)
    _, _, piv = scipy.linalg.qr(scaled.T, pivoting=True, mode="economic")
    return sorted(int(p) for p in piv[:count])


def ball_string(b: flint.arb) -> str:
    return b.str(radius=True, more=False, condense=0)


def certify(entry, rows: list[int], columns: list[int]) -> Minor:
    """Prove det[entry(row, col)] ≠ 0, raising the precision up to 512 bits."""
    det = flint.arb(0)
    bits = PRECISIONS[0]
    for bits in PRECISIONS:
        try:
            mat = [[entry(r, c, bits) for c in columns] for r in rows]
        except BallError:
            return Minor(tuple(columns), tuple(rows), "undefined", False, bits)
        ok, det = certified_nonsingular(mat)
        if ok:
            return Minor(tuple(columns), tuple(rows), ball_string(det), True, bits)
    return Minor(tuple(columns), tuple(rows), ball_string(det), False, bits)


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
