"""Polynomial (ridge) expert (aᵀx + b)^p, one family per degree p ∈ {2, 3}.

∂h/∂a = x ∂h/∂b (P3) and Euler's identity of degree p. Reference: identifiability.md §3 P3
[P 2402.02952, 2503.03213].
"""

from moetheory.families.base import Built, ExpertFamily, dot, inputs, vector
from moetheory.symbolic.parser import make_symbol


def _builder(p: int):
    def build(d: int) -> Built:
        x, a, b = inputs(d), vector("a", d), make_symbol("b")
        return Built((dot(a, x) + b) ** p, x, (*a, b))

    return build


FAMILIES = tuple(
    ExpertFamily(
        name=f"polynomial-{p}",
        summary=f"ridge polynomial expert of degree {p}",
        formula=f"(aᵀx + b)^{p}",
        reference="2402.02952, 2503.03213, identifiability.md §3 P3",
        builder=_builder(p),
    )
    for p in (2, 3)
)
