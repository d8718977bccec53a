"""Two-level hierarchical routers: g¹(x; ω)·g²(x; β) with softmax (S) or Laplace (L) levels.

Softmax level: exp(ωᵀx + ω₀); Laplace level: exp(-‖ω - x‖ + ω₀). Within one atom the two
softmax levels enter only through ω + β (a gate-internal relation); Laplace levels remove it.
Reference: identifiability.md §1 [P 2410.02935].
"""

import sympy as sp

from moetheory.families.base import Built, RouterFamily, dot, inputs, norm, vector
from moetheory.symbolic.parser import make_symbol


def _level(kind: str, w: tuple, x: tuple) -> sp.Expr:
    if kind == "S":
        return dot(w, x)
    return -norm(tuple(wi - xi for wi, xi in zip(w, x, strict=True)))


def _builder(kinds: str):
    def build(d: int) -> Built:
        x, omega, beta = inputs(d), vector("omega", d), vector("beta", d)
        omega0, beta0 = make_symbol("omega0"), make_symbol("beta0")
        score = _level(kinds[0], omega, x) + omega0 + _level(kinds[1], beta, x) + beta0
        return Built(sp.exp(score), x, (*omega, *beta), masses=(omega0, beta0))

    return build


FAMILIES = tuple(
    RouterFamily(
        name=f"hierarchical-{kinds}",
        score="two-level",
        summary=f"two-level hierarchical router, levels {kinds} (S softmax, L Laplace)",
        formula="g¹(x; ω, ω₀) · g²(x; β, β₀)",
        reference="2410.02935, identifiability.md §1",
        builder=_builder(kinds),
        normalisation="two-level",
    )
    for kinds in ("SS", "SL", "LL")
)
