"""Lift a numerically found circuit to a relation with symbolic coefficients, proved exactly.

For a circuit S of terms, each reduced derivative q_α (α ∈ S) is put over a common denominator
as a polynomial in the inputs and the input-dependent atoms (``polyform``), with coefficients
that are polynomials in the parameters. A relation Σ c_α q_α = 0 with coefficients free of the
inputs must annihilate every monomial row; c is the kernel vector of an (|S|-1)-row submatrix
(Cramer's rule, rows chosen independent at the generic point), divided by the gcd of its
entries. The relation is *proved* when every row, reduced by the atoms' rules, expands to 0;
since ∂^α u = e^{Λ} q_α this proves Σ c_α ∂^α u ≡ 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import numpy as np
import sympy as sp

from moetheory.identify.model import Model, Term
from moetheory.symbolic.polyform import Atomizer


@dataclass(frozen=True)
class Lifted:
    terms: tuple[Term, ...]
    coefficients: tuple[sp.Expr, ...]  # in the original symbols (atoms substituted back)
    verified: str  # "symbolic" or "numeric"


class Lifter:
    """Shared polynomial forms for one model (cached per term)."""

    def __init__(self, model: Model, order: int, point: dict[sp.Symbol, sp.Rational]):
        self.model, self.order = model, order
        self.atomizer = Atomizer()
        self.point = point
        self._fractions: dict[Term, tuple[sp.Expr, sp.Expr]] = {}
        self._float_values: dict[sp.Symbol, float] | None = None

    def fraction(self, term: Term) -> tuple[sp.Expr, sp.Expr]:
        if term not in self._fractions:
            q = self.atomizer(self.model.reduced(term, self.order))
            self._fractions[term] = sp.fraction(sp.together(q))
        return self._fractions[term]

    def _input_generators(self) -> list[sp.Symbol]:
        ins = set(self.model.inputs)
        gens = list(self.model.inputs)
        gens += [s for a, s in self.atomizer.atoms.items() if a.free_symbols & ins]
        return gens

    def _floats(self) -> dict[sp.Symbol, float]:
        if self._float_values is not None and len(self._float_values) == len(self.point) + sum(
                1 for a in self.atomizer.atoms if not a.free_symbols & set(self.model.inputs)):
            return self._float_values
        vals = {s: float(v) for s, v in self.point.items()}
        for a, s in self.atomizer.atoms.items():
            if not a.free_symbols & set(self.model.inputs):
                vals[s] = float(a.xreplace(self.point).evalf(30))
        self._float_values = vals
        return vals

    def lift(self, terms: tuple[Term, ...], numeric: np.ndarray) -> Lifted:
        """Symbolic relation on ``terms``; falls back to numeric coefficients if not proved."""
        try:
            coeffs = self._solve(terms)
        except (sp.PolynomialError, ZeroDivisionError, TypeError, ValueError):
            coeffs = None
        if coeffs is not None:
            back = tuple(sp.factor(self.atomizer.back(c)) for c in coeffs)
            return Lifted(terms, back, "symbolic")
        nums = tuple(sp.Float(v, 15) for v in numeric / numeric[np.argmax(np.abs(numeric))])
        return Lifted(terms, nums, "numeric")

    def _solve(self, terms: tuple[Term, ...]) -> tuple[sp.Expr, ...] | None:
        fr = [self.fraction(t) for t in terms]
        den = reduce(sp.lcm, (d for _, d in fr))
        nums = [self.atomizer.reduce(n * sp.cancel(den / d)) for n, d in fr]
        gens = self._input_generators()
        polys = [sp.Poly(n, *gens).as_dict() for n in nums]
        rows = sorted({mono for p in polys for mono in p}, key=str)
        mat = [[p.get(mono, sp.S.Zero) for p in polys] for mono in rows]
        s = len(terms)
        if s == 1:
            return (sp.S.One,) if all(r[0] == 0 for r in mat) else None
        chosen = self._independent_rows(mat, s - 1)
        if chosen is None:
            return None
        sub = sp.Matrix([mat[i] for i in chosen])
        coeffs = []
        for j in range(s):
            minor = sub[:, [k for k in range(s) if k != j]]
            coeffs.append(self.atomizer.reduce((-1) ** j * minor.det(method="berkowitz")))
        if all(c == 0 for c in coeffs):
            return None
        g = reduce(sp.gcd, coeffs)
        coeffs = [self.atomizer.reduce(sp.cancel(c / g)) for c in coeffs]
        first = next(c for c in coeffs if c != 0)
        if first.could_extract_minus_sign():
            coeffs = [-c for c in coeffs]
        for row in mat:
            if self.atomizer.reduce(sum(c * e for c, e in zip(coeffs, row, strict=True))) != 0:
                return None
        return tuple(coeffs)

    def _independent_rows(self, mat: list[list[sp.Expr]], need: int) -> list[int] | None:
        vals = self._floats()
        fl = {k: sp.Float(v, 30) for k, v in vals.items()}
        numeric = np.array([[float(sp.N(e.xreplace(fl))) for e in row] for row in mat])
        scale = np.linalg.norm(numeric, axis=1, keepdims=True)
        scale[scale == 0] = 1
        numeric = numeric / scale
        chosen: list[int] = []
        for i in range(len(mat)):
            trial = numeric[chosen + [i]]
            if np.linalg.matrix_rank(trial, tol=1e-10) == len(chosen) + 1:
                chosen.append(i)
                if len(chosen) == need:
                    return chosen
        return None
