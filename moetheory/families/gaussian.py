"""Gaussian density experts N(y | mean(x; η), ν): linear mean, FFN mean σ(aᵀx + b) and
scaled mean c·σ(aᵀx).

Every Gaussian expert with a free mean intercept b satisfies the heat equation
∂²u/∂b² = 2 ∂u/∂ν (P2). The scaled experts N(y | c·σ(aᵀx), ν) — the setting of 2505.10860
Thm 1 — have no intercept, so P2 does not apply in that form, and c enters the mean: u is not
linear in c, so c is not declared an output scale. Reference: identifiability.md §1, §3, §6
[P 2305.03288, R 2505.10860].
"""

from moetheory.families.base import Built, ExpertFamily, dot, gaussian_density, inputs, vector
from moetheory.symbolic.functions import ACTIVATIONS
from moetheory.symbolic.parser import make_symbol


def _builder(activation: str | None, scaled: bool = False):
    """Mean aᵀx + b (no activation), σ(aᵀx + b), or with ``scaled`` c·σ(aᵀx) (no intercept)."""

    def build(d: int) -> Built:
        x, a, nu, y = inputs(d), vector("a", d), make_symbol("nu"), make_symbol("y")
        other = make_symbol("c" if scaled else "b")
        t = dot(a, x) if scaled else dot(a, x) + other
        mean = t if activation is None else ACTIVATIONS[activation](t)
        if scaled:
            mean = other * mean
        return Built(
            gaussian_density(y, mean, nu),
            x,
            (*a, other, nu),
            positive=(nu,),
            variance=nu,
            output=y,
            mean=mean,
        )

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

SCALED = tuple(
    ExpertFamily(
        name=f"gaussian-scaled-{name}",
        summary=f"Gaussian expert with scaled FFN mean, σ = {name} (no inner bias)",
        formula=f"N(y | c·{name}(aᵀx), ν)",
        reference="2505.10860 Thm 1, identifiability.md §1, §6",
        builder=_builder(name, scaled=True),
        kind="gaussian",
    )
    for name in ("gelu", "sigmoid", "tanh")
)
