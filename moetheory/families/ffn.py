"""Feed-forward experts σ(aᵀx + b) (inner bias) and c·σ(aᵀx) (output scale).

σ(aᵀx + b) satisfies ∂h/∂a = x ∂h/∂b for every σ (P3, [math]); c·σ(aᵀx) is the papers'
strongly identifiable example for GELU, sigmoid, tanh, while ReLU is positively homogeneous.
Reference: identifiability.md §2, §3 [R 2505.10860].
"""

from moetheory.families.base import Built, ExpertFamily, dot, inputs, vector
from moetheory.symbolic.functions import ACTIVATIONS
from moetheory.symbolic.parser import make_symbol

NAMES = ("relu", "gelu", "sigmoid", "tanh")


def _bias_builder(activation: str):
    sigma = ACTIVATIONS[activation]

    def build(d: int) -> Built:
        x, a, b = inputs(d), vector("a", d), make_symbol("b")
        return Built(sigma(dot(a, x) + b), x, (*a, b))

    return build


def _scale_builder(activation: str):
    sigma = ACTIVATIONS[activation]

    def build(d: int) -> Built:
        x, a, c = inputs(d), vector("a", d), make_symbol("c")
        return Built(c * sigma(dot(a, x)), x, (c, *a), scales=(c,))

    return build


BIAS = tuple(
    ExpertFamily(
        name=f"ffn-{name}",
        summary=f"FFN expert with inner bias, σ = {name}",
        formula=f"{name}(aᵀx + b)",
        reference="identifiability.md §3 P3 [math]",
        builder=_bias_builder(name),
    )
    for name in NAMES
)

SCALED = tuple(
    ExpertFamily(
        name=f"scaled-{name}",
        summary=f"FFN expert with output scale, σ = {name}",
        formula=f"c·{name}(aᵀx)",
        reference="2505.10860 Def. 1 examples, identifiability.md §2",
        builder=_scale_builder(name),
    )
    for name in NAMES
)
