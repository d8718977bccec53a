"""Sigmoid router: σ(β₁ᵀx + β₀) per expert, no normalisation across experts.

β₀ is a real parameter here (not a mass). Reference: identifiability.md §3 (mass parameter
caveat) [P 2405.13997].
"""

from moetheory.families.base import Built, RouterFamily, dot, inputs, vector
from moetheory.symbolic.functions import sigmoid
from moetheory.symbolic.parser import make_symbol


def _build(d: int) -> Built:
    x, beta, beta0 = inputs(d), vector("beta", d), make_symbol("beta0")
    return Built(sigmoid(dot(beta, x) + beta0), x, (*beta, beta0))


FAMILY = RouterFamily(
    name="sigmoid",
    summary="sigmoid router (no normalisation)",
    formula="σ(β₁ᵀx + β₀)",
    reference="2405.13997, identifiability.md §3",
    builder=_build,
    normalisation="sigmoid",
)
