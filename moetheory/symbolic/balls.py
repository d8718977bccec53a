"""Rigorous ball-arithmetic evaluation of sympy expressions with python-flint's ``arb``.

Each operation returns a ball certain to contain the exact value, so a determinant ball that
excludes 0 proves the matrix nonsingular. Inputs must be exact (integers, rationals, π, e);
floats are refused. The step function of a ball that contains 0 raises ``BallError`` (the point
lies on a kink: choose another).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


_UNARY = {
    sp.exp: lambda t: t.exp(),
    sp.log: lambda t: t.log(),
    sp.tanh: lambda t: t.tanh(),
    sp.sin: lambda t: t.sin(),
    sp.cos: lambda t: t.cos(),
    sigmoid: lambda t: 1 / (1 + (-t).exp()),
    Phi: lambda t: (1 + (t / flint.arb(2).sqrt()).erf()) / 2,
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


class BallEvaluator:
    """Evaluate many expressions at one exact point, sharing subexpressions."""

    def __init__(self, values: Mapping[sp.Symbol, sp.Rational], prec: int = 200):
        self.values = {s: to_arb(v) for s, v in values.items()}
        self.prec = prec
        self._memo: dict[sp.Expr, flint.arb] = {}

    def __call__(self, expr: sp.Expr) -> flint.arb:
        old = flint.ctx.prec
        flint.ctx.prec = self.prec
        try:
            return self._ev(expr)
        finally:
            flint.ctx.prec = old

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


def certified_nonsingular(matrix: Sequence[Sequence[flint.arb]]) -> tuple[bool, flint.arb]:
    """(det excludes 0, det ball) for a square matrix of balls."""
    if not matrix:
        return True, flint.arb(1)
    det = flint.arb_mat([list(r) for r in matrix]).det()
    return (not det.contains(0)), det
