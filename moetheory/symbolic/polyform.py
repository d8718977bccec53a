"""Rational-polynomial normal form over transcendental and algebraic *atoms*.

Every member of a Taylor family, with its exponential factor removed, is a rational function of
the inputs, the parameters and a few atoms: applications of tanh, sigmoid, Φ, φ, erf, step, exp
and radicals such as ‖x‖ = (x₁² + x₂²)^{1/2}. ``Atomizer`` replaces each atom by a fresh symbol
and records its algebraic rule (w^q = base for radicals, s² = s for the step function,
A² = t² for |t|). ``is_zero`` then decides a candidate identity exactly: the numerator, reduced
by the rules, expands to 0. A reduced numerator that is non-zero is *not* taken as proof of a
non-identity (atoms may satisfy relations the rules do not know); callers fall back to other
evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from moetheory.symbolic.functions import step


@dataclass
class Atomizer:
    """Shared atom table for a set of expressions (one per analysed pair)."""

    atoms: dict[sp.Expr, sp.Symbol] = field(default_factory=dict)
    rules: list[tuple[sp.Symbol, int, sp.Expr]] = field(default_factory=list)  # w**q -> base
    idempotent: list[sp.Symbol] = field(default_factory=list)  # s**2 -> s
    _cache: dict[sp.Expr, sp.Expr] = field(default_factory=dict)

    def _new(self, key: sp.Expr) -> sp.Symbol:
        sym = self.atoms.get(key)
        if sym is None:
            sym = sp.Dummy(f"A{len(self.atoms)}")
            self.atoms[key] = sym
        return sym

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every atom replaced by its symbol (memoised per subexpression)."""
        hit = self._cache.get(expr)
        if hit is not None:
            return hit
        out = self._convert(expr)
        self._cache[expr] = out
        return out

    def _convert(self, e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            if e is sp.pi:
                return self._new(sp.pi)
            if e is sp.E:
                return self._new(sp.E)
            return e
        if e.is_Add or e.is_Mul:
            return e.func(*(self(a) for a in e.args))
        if e.is_Pow:
            base, ex = e.args
            b = self(base)
            if ex.is_Integer:
                return b**ex
            if ex.is_Rational:
                q = int(ex.q)
                key = sp.Pow(base, sp.Rational(1, q), evaluate=False)
                known = key in self.atoms
                w = self._new(key)
                if not known:
                    self.rules.append((w, q, b))
                return w ** int(ex.p)
            return self._new(e)
        if isinstance(e, sp.Abs):
            known = e in self.atoms
            w = self._new(e)
            if not known:
                self.rules.append((w, 2, self(e.args[0]) ** 2))
            return w
        if isinstance(e, step):
            known = e in self.atoms
            w = self._new(e)
            if not known:
                self.idempotent.append(w)
            return w
        if isinstance(e, sp.Function):
            return self._new(e)
        raise TypeError(f"cannot put {type(e).__name__} into polynomial form")

    def back(self, expr: sp.Expr) -> sp.Expr:
        """Replace atom symbols by the atoms they stand for."""
        return expr.xreplace({s: a for a, s in self.atoms.items()})

    def reduce(self, expr: sp.Expr) -> sp.Expr:
        """Expand a polynomial in the atom symbols and reduce it by the atoms' rules."""
        e = sp.expand(expr)
        for _ in range(8):
            before = e
            for w, q, base in self.rules:
                if e.has(w):
                    p = sp.Poly(e, w)
                    e = sp.expand(sum(c * base ** (k // q) * w ** (k % q) for (k,), c in p.terms()))
            for s in self.idempotent:
                if e.has(s):
                    p = sp.Poly(e, s)
                    e = sp.expand(sum(c * (s if k else 1) for (k,), c in p.terms()))
            if e == before:
                break
        return e

    def numerator(self, expr: sp.Expr) -> sp.Expr:
        """Reduced numerator of the atomized expression over a common denominator."""
        num, _ = sp.fraction(sp.together(self(expr)))
        return self.reduce(num)

    def is_zero(self, expr: sp.Expr) -> bool:
        """True when ``expr`` is proved identically zero (False means: not proved)."""
        return self.numerator(expr) == 0
