"""Sigmoid routers: σ(β₁ᵀx + β₀) per expert, no normalisation across experts, and the same
with a learned temperature, σ((β₁ᵀx + β₀)/τ).

β₀ is a real parameter here (not a mass). The temperature form is homogeneous of degree 0 in
(β₁, β₀, τ), so β₁ᵀ∇_{β₁}u + β₀ ∂u/∂β₀ + τ ∂u/∂τ = 0 (a P4-type relation, [math]).
Reference: identifiability.md §3 (mass parameter caveat), §6 [P 2405.13997, P 2602.01466].
"""

from moetheory.families.base import Built, RouterFamily, dot, inputs, vector
from moetheory.symbolic.functions import sigmoid
from moetheory.symbolic.parser import make_symbol


def _build(d: int) -> Built:
    x, beta, beta0 = inputs(d), vector("beta", d), make_symbol("beta0")
    return Built(sigmoid(dot(beta, x) + beta0), x, (*beta, beta0))


def _build_temperature(d: int) -> Built:
    x, beta, beta0, tau = inputs(d), vector("beta", d), make_symbol("beta0"), make_symbol("tau")
    return Built(sigmoid((dot(beta, x) + beta0) / tau), x, (*beta, beta0, tau), positive=(tau,))


FAMILY = RouterFamily(
    name="sigmoid",
    summary="sigmoid router (no normalisation)",
    formula="σ(β₁ᵀx + β₀)",
    reference="2405.13997, identifiability.md §3",
    builder=_build,
    normalisation="sigmoid",
)

FAMILY_TEMPERATURE = RouterFamily(
    name="temperature-sigmoid",
    summary="sigmoid router with learned temperature τ (no normalisation)",
    formula="σ((β₁ᵀx + β₀) / τ)",
    reference="2602.01466, identifiability.md §6",
    builder=_build_temperature,
    normalisation="sigmoid",
    score="temperature",
)
