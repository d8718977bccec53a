"""Lift a numerically found circuit to a relation with symbolic coefficients, proved exactly.

For a circuit S of terms, each reduced derivative q_α (α ∈ S) is put over a common denominator
as a polynomial in the inputs and the input-dependent atoms (``polyform``), with coefficients
that are polynomials in the parameters. A relation Σ c_α q_α = 0 with coefficients free of the
inputs must annihilate every monomial row; c is the kernel vector of an (|S|-1)-row submatrix
(Cramer's rule, rows chosen independent at the generic point, cheapest rows first), divided by
the gcd of its entries. The relation is *proved* when every row, reduced by the atoms' rules,
is the zero polynomial; since ∂^α u = e^{Λ} q_α this proves Σ c_α ∂^α u ≡ 0. The algebra runs
in sympy's sparse polynomial rings over ℚ (``PolyRing``), not on expression trees.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import reduce

import numpy as np
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.rings import PolyElement, PolyRing

from moetheory.identify.model import Model, Term, reduced_table
from moetheory.symbolic.polyform import Atomizer


@dataclass(frozen=True)
class Lifted:
    terms: tuple[Term, ...]
    coefficients: tuple[sp.Expr, ...]  # in the original symbols (atoms substituted back)
    verified: str  # "symbolic" or "numeric"


def numeric_coefficients(vector: np.ndarray) -> tuple[sp.Rational, ...]:
    """A float null vector as exact rationals of 15 significant digits, largest entry ±1.

    These are the values c_i(θ¹) of an unproved relation Σ c_i ∂^{α_i} u = 0 at the generic
    point, in the scale of the derivatives themselves; ``verify`` re-evaluates them there.
    """
    v = vector / vector[np.argmax(np.abs(vector))]
    out = []
    for x in v:
        f = Fraction(f"{float(x):.15g}")
        out.append(sp.Rational(f.numerator, f.denominator))
    return tuple(out)


class Lifter:
    """Shared polynomial forms for one model (cached per term)."""

    def __init__(self, model: Model, order: int, point: dict[sp.Symbol, sp.Rational]):
        self.model, self.order = model, order
        self.atomizer = Atomizer()
        self.point = point
        self._fractions: dict[Term, tuple[sp.Expr, sp.Expr]] = {}
        self._parts: dict[tuple[int, Term], tuple[sp.Expr, sp.Expr]] = {}
        self._float_values: dict[sp.Symbol, float] | None = None

    def fraction(self, term: Term) -> tuple[sp.Expr, sp.Expr]:
        """(numerator, denominator) of the atomized q_α: the product of its factors' parts."""
        if term not in self._fractions:
            num, den = sp.S.One, sp.S.One
            for k, part in enumerate(self.model.split(term)):
                n, d = self._part(k, part)
                num, den = num * n, den * d
            self._fractions[term] = (num, den)
        return self._fractions[term]

    def _part(self, k: int, part: Term) -> tuple[sp.Expr, sp.Expr]:
        key = (k, part)
        if key not in self._parts:
            q = self.atomizer(reduced_table(self.model.factors[k], self.order)[part])
            self._parts[key] = sp.fraction(sp.together(q))
        return self._parts[key]

    def is_zero_combination(self, coefficients: dict[Term, sp.Expr]) -> bool:
        """Σ c_α q_α ≡ 0, proved exactly in the ring of the atoms (False: not proved)."""
        try:
            return self._is_zero_combination(coefficients)
        except (ValueError, sp.PolynomialError, ZeroDivisionError):
            return False

    def _is_zero_combination(self, coefficients: dict[Term, sp.Expr]) -> bool:
        terms = tuple(coefficients)
        fr = [self.fraction(t) for t in terms]
        extra = [(c, sp.S.One) for c in coefficients.values()]
        ring, _ = self._ring(fr + extra)
        dens = [ring.from_expr(d) for _, d in fr]
        den = reduce(lambda a, b: a.lcm(b), dens)
        total = ring.zero
        for (n, _), d, c in zip(fr, dens, coefficients.values(), strict=True):
            total += ring.from_expr(c) * ring.from_expr(n) * den.exquo(d)
        return not self._reduce(total)

    def _input_generators(self) -> list[sp.Symbol]:
        ins = set(self.model.inputs)
        gens = list(self.model.inputs)
        gens += [s for a, s in self.atomizer.atoms.items() if a.free_symbols & ins]
        return gens

    def _floats(self) -> dict[sp.Symbol, float]:
        if self._float_values is not None and len(self._float_values) == len(self.point) + sum(
            1 for a in self.atomizer.atoms if not a.free_symbols & set(self.model.inputs)
        ):
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
            # expanded, not factored: sympy may return a factored form distributed or not
            # depending on its cache, and the printed relation must not depend on history
            back = tuple(sp.expand(self.atomizer.back(c)) for c in coeffs)
            return Lifted(terms, back, "symbolic")
        return Lifted(terms, numeric_coefficients(numeric), "numeric")

    def _ring(self, fr: list[tuple[sp.Expr, sp.Expr]]) -> tuple[PolyRing, int]:
        """Ring ℚ[input generators, parameter generators] holding the circuit and its rules."""
        syms = set().union(*(n.free_symbols | d.free_symbols for n, d in fr))
        bases = {w: base for w, _, base in self.atomizer.rules}
        todo = [s for s in syms if s in bases]
        while todo:  # a rule's base may bring symbols of its own
            new = bases[todo.pop()].free_symbols - syms
            syms |= new
            todo += [s for s in new if s in bases]
        inputs = self._input_generators()
        gens_in = [s for s in inputs if s in syms]
        gens_par = sorted(syms - set(gens_in), key=sp.default_sort_key)
        return PolyRing(gens_in + gens_par, QQ), len(gens_in)

    def _solve(self, terms: tuple[Term, ...]) -> tuple[sp.Expr, ...] | None:
        fr = [self.fraction(t) for t in terms]
        ring, n_in = self._ring(fr)
        nums = [ring.from_expr(n) for n, _ in fr]
        dens = [ring.from_expr(d) for _, d in fr]
        den = reduce(lambda a, b: a.lcm(b), dens)
        nums = [self._reduce(n * den.exquo(d)) for n, d in zip(nums, dens, strict=True)]
        params = PolyRing(ring.symbols[n_in:], QQ)
        rows_of: dict[tuple[int, ...], list[dict]] = {}
        for j, p in enumerate(nums):
            for mono, c in p.iterterms():
                row = rows_of.setdefault(mono[:n_in], [{} for _ in terms])
                row[j][mono[n_in:]] = c
        mat = [[params(d) for d in row] for _, row in sorted(rows_of.items())]
        s = len(terms)
        if s == 1:
            return (sp.S.One,) if not mat else None
        chosen = self._independent_rows(mat, s - 1, params)
        if chosen is None:
            return None
        dom = params.to_domain()
        dets = []
        for j in range(s):
            minor = [[mat[i][k] for k in range(s) if k != j] for i in chosen]
            det = DomainMatrix(minor, (s - 1, s - 1), dom).det()
            dets.append(self._reduce((-1) ** j * det))
        if all(c == 0 for c in dets):
            return None
        g = reduce(lambda a, b: a.gcd(b), (c for c in dets if c != 0))
        exprs = [c.exquo(g).as_expr() for c in dets]
        content = reduce(sp.gcd, exprs)
        coeffs = [sp.cancel(c / content) for c in exprs]
        first = next(c for c in coeffs if c != 0)
        if first.could_extract_minus_sign():
            coeffs = [-c for c in coeffs]
        exact = [params.from_expr(c) for c in coeffs]
        for row in mat:
            if self._reduce(sum((c * e for c, e in zip(exact, row, strict=True)), params.zero)):
                return None
        return tuple(sp.expand(c) for c in coeffs)

    def _reduce(self, p: PolyElement) -> PolyElement:
        """``p`` reduced by the atoms' rules (w^q = base, s² = s), in p's own ring."""
        ring = p.ring
        index = {s: i for i, s in enumerate(ring.symbols)}
        rules = []
        for w, q, base in self.atomizer.rules:
            if w in index:
                try:  # a radical of a rational function has no polynomial rule: skip it
                    rules.append((index[w], q, ring.from_expr(base)))
                except (ValueError, sp.PolynomialError):
                    continue
        idem = [index[s] for s in self.atomizer.idempotent if s in index]
        for _ in range(8):
            before = p
            for i, q, b in rules:
                if any(m[i] >= q for m in p.itermonoms()):
                    groups: dict[int, dict] = {}
                    for m, c in p.iterterms():
                        k = m[i]
                        grp = groups.setdefault(k // q, {})
                        mono = m[:i] + (k % q,) + m[i + 1 :]
                        grp[mono] = grp.get(mono, 0) + c
                    p = sum((ring(g) * b**e for e, g in groups.items()), ring.zero)
            for i in idem:
                if any(m[i] > 1 for m in p.itermonoms()):
                    acc: dict = {}
                    for m, c in p.iterterms():
                        mono = m[:i] + (min(m[i], 1),) + m[i + 1 :]
                        acc[mono] = acc.get(mono, 0) + c
                    p = ring(acc)
            if p == before:
                break
        return p

    def _independent_rows(
        self, mat: list[list[PolyElement]], need: int, params: PolyRing
    ) -> list[int] | None:
        vals = self._floats()
        point = np.array([vals[s] for s in params.symbols])
        numeric = np.array([[_float_value(e, point) for e in row] for row in mat])
        scale = np.linalg.norm(numeric, axis=1, keepdims=True)
        scale[scale == 0] = 1
        numeric = numeric / scale
        chosen: list[int] = []
        for i in sorted(range(len(mat)), key=lambda i: (_size(mat[i]), i)):
            trial = numeric[chosen + [i]]
            if np.linalg.matrix_rank(trial, tol=1e-10) == len(chosen) + 1:
                chosen.append(i)
                if len(chosen) == need:
                    return chosen
        return None


def _size(row: list[PolyElement]) -> tuple[int, int]:
    """Cost of a row in Cramer's rule: number of terms, then largest total degree."""
    return sum(len(e) for e in row), max((sum(m) for e in row for m in e.itermonoms()), default=0)


def _float_value(p: PolyElement, point: np.ndarray) -> float:
    if not p:
        return 0.0
    monos = np.array(list(p.itermonoms()), dtype=float)
    coeffs = np.array([float(c) for c in p.itercoeffs()])
    return float(coeffs @ np.prod(point**monos, axis=1))
