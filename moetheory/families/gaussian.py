"""Gaussian density experts N(y | mean(x; η), ν): linear mean and FFN mean.

Every Gaussian expert with a free mean intercept satisfies the heat equation
∂²u/∂b² = 2 ∂u/∂ν (P2). Reference: identifiability.md §1, §3 [P 2305.03288, R 2505.10860].
"""

from moetheory.families.base import Built, ExpertFamily, dot, gaussian_density, inputs, vector
from moetheory.symbolic.functions import ACTIVATIONS
from moetheory.symbolic.parser import make_symbol


def _builder(activation: str | None):
    def build(d: int) -> Built:
        x, a, b = inputs(d), vector("a", d), make_symbol("b")
        nu, y = make_symbol("nu"), make_symbol("y")
        t = dot(a, x) + b
        mean = t if activation is None else ACTIVATIONS[activation](t)
        return Built(gaussian_density(y, mean, nu), x, (*a, b, nu), positive=(nu,), variance=nu,
                     output=y, mean=mean)

    return build


LINEAR = ExpertFamily(
    name="gaussian-linear",
    summary="Gaussian expert with linear mean",
    formula="N(y | aᵀx + b, ν)",
    reference="2305.03288, identifiability.md §1",
    builder=_builder(None),
    kind="gaussian",
)

FFN = tuple(
    ExpertFamily(
        name=f"gaussian-ffn-{name}",
        summary=f"Gaussian expert with FFN mean, σ = {name}",
        formula=f"N(y | {name}(aᵀx + b), ν)",
        reference="2505.10860, identifiability.md §1",
        builder=_builder(name),
        kind="gaussian",
    )
    for name in ("gelu", "sigmoid", "tanh")
)
