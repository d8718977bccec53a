"""Rigorous ball-arithmetic evaluation of sympy expressions with python-flint's ``arb``.

Each operation returns a ball certain to contain the exact value, so a determinant ball that
excludes 0 proves the matrix nonsingular. Inputs must be exact (integers, rationals, π, e);
floats are refused. The step function of a ball that contains 0 raises ``BallError`` (the point
lies on a kink: choose another).

The custom functions are enclosed with forms that keep their relative accuracy on the whole line:
σ(t) = 1/(1 + e^{-t}) for t ≥ 0 but e^{t}/(1 + e^{t}) for t < 0 (e^{-t} of a large negative t
overflows to an infinite ball, and σ would come out as NaN), and Φ(t) = erfc(-t/√2)/2 with
erfc taken at the ends of the ball (the form (1 + erf(t/√2))/2 cancels in the lower tail, leaving
a ball around 0 with no correct digit).

Example::

    >>> import sympy as sp
    >>> t = sp.Symbol("t", real=True)
    >>> BallEvaluator({t: -1000}, prec=128)(sigmoid(t)).str(5, radius=False)
    '5.0760e-435'
    >>> BallEvaluator({t: -10**300}, prec=128)(sigmoid(t)).is_finite()
    True
    >>> BallEvaluator({t: -40}, prec=128)(Phi(t)).str(5, radius=False)
    '3.6559e-350'

Reference: F. Johansson, "Arb: efficient arbitrary-precision midpoint-radius interval
arithmetic", IEEE Trans. Computers 66 (2017).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import flint
import sympy as sp

from moetheory.symbolic.functions import Phi, erf, erfd, phi, sigmoid, step


class BallError(ArithmeticError):
    """The expression could not be enclosed at this point (kink, pole or unsupported node)."""


def to_arb(q: sp.Rational | int) -> flint.arb:
    """Exact rational → ball."""
    q = sp.Rational(q)
    return flint.arb(flint.fmpq(int(q.p), int(q.q)))


def _sqrt2pi() -> flint.arb:
    return (2 * flint.arb.pi()).sqrt()


def _erfc(x: flint.arb) -> flint.arb:
    """erfc over a ball as the union of its values at the two (exact) endpoints.

    erfc is decreasing, so this encloses every value in between; arb's own error propagation for
    erfc of an inexact ball loses about 5·10⁻⁹·x² bits (all of them from x ≈ 10⁵ on).
    """
    if x.is_exact():
        return x.erfc()
    return x.lower().erfc().union(x.upper().erfc())


def _sigmoid(t: flint.arb) -> flint.arb:
    """σ(t) with only exponentials of non-positive numbers where the sign of t is known."""
    if t < 0:
        e = t.exp()
        return e / (1 + e)
    return 1 / (1 + (-t).exp())


_UNARY = {
    sp.exp: lambda t: t.exp(),
    sp.log: lambda t: t.log(),
    sp.tanh: lambda t: t.tanh(),
    sp.sin: lambda t: t.sin(),
    sp.cos: lambda t: t.cos(),
    sigmoid: lambda t: _sigmoid(t),
    Phi: lambda t: _erfc(-t / flint.arb(2).sqrt()) / 2,
    phi: lambda t: (-(t * t) / 2).exp() / _sqrt2pi(),
    erf: lambda t: t.erf(),
    erfd: lambda t: 2 * (-(t * t)).exp() / flint.arb.pi().sqrt(),
    sp.Abs: lambda t: abs(t),
}


def _step(t: flint.arb) -> flint.arb:
    if t > 0:
        return flint.arb(1)
    if t < 0:
        return flint.arb(0)
    raise BallError("step function evaluated on its kink")


@contextmanager
def working_precision(prec: int) -> Iterator[None]:
    """Run the body with python-flint's precision set to ``prec`` bits, then restore it."""
    old = flint.ctx.prec
    flint.ctx.prec = prec
    try:
        yield
    finally:
        flint.ctx.prec = old


class BallEvaluator:
    """Evaluate many expressions at one exact point, sharing subexpressions.

    The point's coordinates are rounded to balls at ``prec`` bits too (not at python-flint's
    default 53), so every result carries close to ``prec`` correct bits where the function is
    well conditioned.
    """

    def __init__(self, values: Mapping[sp.Symbol, sp.Rational], prec: int = 200):
        with working_precision(prec):
            self.values = {s: to_arb(v) for s, v in values.items()}
        self.prec = prec
        self._memo: dict[sp.Expr, flint.arb] = {}

    def __call__(self, expr: sp.Expr) -> flint.arb:
        hit = self._memo.get(expr)
        if hit is not None:
            return hit
        if flint.ctx.prec == self.prec:
            return self._ev(expr)
        with working_precision(self.prec):
            return self._ev(expr)

    def _ev(self, e: sp.Expr) -> flint.arb:
        hit = self._memo.get(e)
        if hit is not None:
            return hit
        out = self._node(e)
        self._memo[e] = out
        return out

    def _node(self, e: sp.Expr) -> flint.arb:
        if e.is_Symbol:
            try:
                return self.values[e]
            except KeyError:
                raise BallError(f"no value for symbol {e}") from None
        if e.is_Rational:
            return to_arb(e)
        if e is sp.pi:
            return flint.arb.pi()
        if e is sp.E:
            return flint.arb(1).exp()
        if e.is_Add:
            acc = flint.arb(0)
            for a in e.args:
                acc += self._ev(a)
            return acc
        if e.is_Mul:
            acc = flint.arb(1)
            for a in e.args:
                acc *= self._ev(a)
            return acc
        if e.is_Pow:
            base, ex = e.args
            b = self._ev(base)
            if ex.is_Integer:
                n = int(ex)
                if n < 0:
                    if b.contains(0):
                        raise BallError("division by a ball containing 0")
                    return 1 / b ** (-n)
                return b**n
            if ex.is_Rational:
                if not b > 0:
                    raise BallError("fractional power of a ball not certainly positive")
                if ex.q == 2:
                    r = b.sqrt()
                    return r ** int(ex.p) if ex.p > 0 else 1 / r ** int(-ex.p)
                return (b.log() * self._ev(ex)).exp()
            return (b.log() * self._ev(ex)).exp()
        if isinstance(e, step):
            return _step(self._ev(e.args[0]))
        fn = _UNARY.get(e.func)
        if fn is not None:
            return fn(self._ev(e.args[0]))
        raise BallError(f"unsupported node {e.func.__name__} in ball evaluation")


def certified_nonsingular(
    matrix: Sequence[Sequence[flint.arb]], prec: int
) -> tuple[bool, flint.arb]:
    """(det excludes 0, det ball) for a square matrix of balls, the determinant taken at ``prec``
    bits (python-flint's arithmetic runs at its context precision, 53 bits unless set)."""
    if not matrix:
        return True, flint.arb(1)
    with working_precision(prec):
        det = flint.arb_mat([list(r) for r in matrix]).det()
    return (not det.contains(0)), det
