"""A router–expert pair as the function u(x; θ) = gate numerator × expert, and its Taylor family.

u is a product of *factors* (the gate numerator, the expert) with disjoint parameters. Each
factor is split as exp(Λ)·P (exponential part and remainder); the engine works with the reduced
derivatives q_α = e^{-Λ} ∂^α(e^{Λ}P), computed by the operator D_k F = ∂_k F + F ∂_kΛ, so no
exponential is ever differentiated or evaluated twice. For a product of factors the reduced
derivative of the product is the product of the factors' reduced derivatives, so each factor's
table is computed once and cached across every pair it appears in.

Terms are ordered canonically: by order, then lexicographically by parameter position, with the
gate's parameters before the expert's (``Term`` docs).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from moetheory.errors import FormulaError, NotDifferentiableError
from moetheory.symbolic.functions import numpy_modules, step

Term = tuple[int, ...]
"""A derivative multi-index: sorted parameter positions, () for u itself, (i,) for ∂u/∂θᵢ."""


def open_pieces(expr: sp.Expr, params: tuple[sp.Symbol, ...]) -> sp.Expr:
    """``expr`` with |z| written z·(2H(z) − 1) wherever z depends on a parameter (H the step
    function, whose derivative is 0 off the kink; the parser already writes sign, max and min
    with it).

    On each open region where no such z vanishes the two forms agree, and derivatives in the
    parameters are taken region by region, as for ReLU (t·H(t)); sympy's own derivatives of
    |z| bring in sign and DiracDelta, which has no value to evaluate.

    >>> b, x = sp.symbols("b x", real=True)
    >>> open_pieces(sp.Abs(x - b), (b,))
    (b - x)*(2*step(b - x) - 1)

    Reference: identifiability.md §1 (Laplace gates exp(−‖β − x‖)); issue 14 (non-smooth
    formulas).
    """
    moving = set(params)
    if not expr.has(sp.Abs):
        return expr
    return expr.replace(
        lambda e: isinstance(e, sp.Abs) and bool(e.args[0].free_symbols & moving),
        lambda e: e.args[0] * (2 * step(e.args[0]) - 1),
    )


@dataclass(frozen=True)
class Factor:
    """One factor of u: an expression, its inputs and the parameters it depends on.

    |z| of a parameter-dependent z is rewritten with the step function
    (:func:`open_pieces`), so every derivative is the derivative on an open region.
    """

    expr: sp.Expr
    inputs: tuple[sp.Symbol, ...]
    params: tuple[sp.Symbol, ...]
    role: str  # "gate" or "expert"

    def __post_init__(self) -> None:
        object.__setattr__(self, "expr", open_pieces(self.expr, self.params))


def split_exponential(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """expr = exp(Z) · P, collecting every exponential factor into Z; returns (Z, P)."""
    z, rest = sp.S.Zero, []
    for f in sp.Mul.make_args(expr):
        if isinstance(f, sp.exp):
            z += f.args[0]
        elif f.is_Pow and isinstance(f.base, sp.exp):
            z += f.base.args[0] * f.exp
        else:
            rest.append(f)
    return z, sp.Mul(*rest)


@cache
def reduced_table(factor: Factor, order: int) -> dict[Term, sp.Expr]:
    """q_α for every multi-index α over ``factor.params`` with |α| ≤ order (positions local)."""
    z, p = split_exponential(factor.expr)
    n = len(factor.params)
    dlam = [sp.diff(z, t) for t in factor.params]
    table: dict[Term, sp.Expr] = {(): p}
    for k in range(1, order + 1):
        for alpha in itertools.combinations_with_replacement(range(n), k):
            parent, last = table[alpha[:-1]], alpha[-1]
            table[alpha] = sp.diff(parent, factor.params[last]) + parent * dlam[last]
    for alpha, e in table.items():
        if e.has(sp.Derivative, sp.Subs, sp.DiracDelta):
            raise NotDifferentiableError(
                f"derivative {alpha} of {factor.role} factor is not expressible in closed form"
            )
        table[alpha] = e
    return table


@cache
def exponent(factor: Factor) -> sp.Expr:
    """The exponential part Λ of the factor: the sum of its exponential factors' arguments."""
    return split_exponential(factor.expr)[0]


@cache
def _lambdified(expr: sp.Expr, symbols: tuple[sp.Symbol, ...]):
    return sp.lambdify(symbols, expr, modules=numpy_modules(), cse=True)


def evaluate(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], values: np.ndarray) -> np.ndarray:
    """Vectorised float evaluation of ``expr``; ``values`` has one column per symbol.

    Compiled once per expression and the symbols it uses, so a factor shared by many pairs is
    compiled once."""
    free = expr.free_symbols
    used = [i for i, s in enumerate(symbols) if s in free]
    fn = _lambdified(expr, tuple(symbols[i] for i in used))
    with np.errstate(all="ignore"):
        try:
            out = fn(*values[:, used].T)
            out = np.asarray(out, dtype=float)
        except (OverflowError, ZeroDivisionError):  # an exact constant beyond float range
            out = np.nan
    return np.broadcast_to(out, (values.shape[0],)).copy()


@dataclass(frozen=True)
class Model:
    """u(x; θ) as a product of factors, with its parameters in canonical order."""

    factors: tuple[Factor, ...]
    inputs: tuple[sp.Symbol, ...]
    masses: tuple[sp.Symbol, ...] = ()
    positive: tuple[sp.Symbol, ...] = ()
    variance: tuple[sp.Symbol, ...] = ()
    output: sp.Symbol | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: set[sp.Symbol] = set()
        for f in self.factors:
            clash = seen & set(f.params)
            if clash:
                raise FormulaError(
                    f"parameter {sorted(map(str, clash))[0]!r} appears in two "
                    "factors; gate and expert parameters must differ",
                    token=str(sorted(map(str, clash))[0]),
                )
            seen |= set(f.params)

    @property
    def params(self) -> tuple[sp.Symbol, ...]:
        return tuple(p for f in self.factors for p in f.params)

    @property
    def u(self) -> sp.Expr:
        return sp.Mul(*(f.expr for f in self.factors))

    def role(self, i: int) -> str:
        """'gate' or 'expert' for parameter position i."""
        for f in self.factors:
            if i < len(f.params):
                return f.role
            i -= len(f.params)
        raise IndexError(i)

    def terms(self, order: int) -> list[Term]:
        """All multi-indices of order ≤ ``order``, in canonical order."""
        n = len(self.params)
        return [
            a
            for k in range(order + 1)
            for a in itertools.combinations_with_replacement(range(n), k)
        ]

    def split(self, term: Term) -> list[Term]:
        """The parts of a multi-index that fall in each factor, in factor-local positions."""
        parts, offset = [], 0
        for f in self.factors:
            m = len(f.params)
            parts.append(tuple(i - offset for i in term if offset <= i < offset + m))
            offset += m
        return parts

    def exponent(self) -> sp.Expr:
        return sp.Add(*(exponent(f) for f in self.factors))

    def derivative(self, term: Term) -> sp.Expr:
        """∂^α u itself (for presentation and independent verification)."""
        return sp.diff(self.u, *(self.params[i] for i in term)) if term else self.u

    def term_name(self, term: Term) -> str:
        """sympy syntax of ∂^α u: ``u`` or ``Derivative(u, a, b)``."""
        if not term:
            return "u"
        return "Derivative(u, " + ", ".join(str(self.params[i]) for i in term) + ")"

    def term_kind(self, term: Term) -> str:
        """'u', 'g', 'e', 'gg', 'ge', 'ee' by the roles of the differentiated parameters."""
        if not term:
            return "u"
        return "".join(sorted((self.role(i)[0] for i in term), reverse=True))

    def reduced_values(
        self, terms: list[Term], order: int, symbols: tuple[sp.Symbol, ...], values: np.ndarray
    ) -> np.ndarray:
        """Float matrix q_α(point_j) with one row per point, one column per term."""
        cols = []
        tables = [reduced_table(f, order) for f in self.factors]
        cache: dict[tuple[int, Term], np.ndarray] = {}
        for term in terms:
            col = np.ones(values.shape[0])
            for k, (tab, part) in enumerate(zip(tables, self.split(term), strict=True)):
                key = (k, part)
                if key not in cache:
                    cache[key] = evaluate(tab[part], symbols, values)
                col = col * cache[key]
            cols.append(col)
        return np.column_stack(cols) if cols else np.zeros((values.shape[0], 0))
