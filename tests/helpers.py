"""Test helpers: build expected relations and look them up in a verdict."""

from __future__ import annotations

import sympy as sp

U = sp.Symbol("u")


def D(*names: str) -> sp.Expr:
    """∂^α u as the verdict writes it (unevaluated Derivative of the symbol u)."""
    if not names:
        return U
    return sp.Derivative(U, *(sp.Symbol(n, real=True) for n in names), evaluate=False)


def S(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def find(verdict, expected: sp.Expr):
    """The relation of ``verdict`` equal to ``expected`` up to a constant factor, or None."""
    for rel in verdict.relations:
        ratio = sp.simplify(rel.expression / expected)
        if ratio.is_number and ratio != 0:
            return rel
    return None
