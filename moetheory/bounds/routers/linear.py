"""Router kind ``linear``: scores s = Wx + b (``nn.Linear(d, E)``), the top-k experts.

    total = read per input = E·(d + 1),   and k experts are evaluated (top-k).

With k ≥ 2 the k highest-scoring experts are mixed with weights softmax(their scores), which
gradients reach. Routing by argmax_k s_k(x) is fixed by the signs of the m·E(E−1)/2 linear
forms s_j − s_l in N = E(d+1) free coefficients, so by Warren's lemma (approximation_vc.md §5)

    log₂ Π_route(m) ≤ min(m·log₂ E, 1 + E(d+1)·log₂(e·m·(E−1)/(d+1))),

the bound of every router by the argmax of E affine scores (nearest prototypes included).

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> Architecture(dim=2, experts=5, hidden=(3,), router="linear", top_k=2).counts().active
    41
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from moetheory.bounds.growth import Growth, linear_router_growth
from moetheory.bounds.routers.base import RouterKind
from moetheory.bounds.sizes import EULER, E, d

if TYPE_CHECKING:
    import torch
    from torch import nn

    from moetheory.bounds.architecture import Architecture


def affine_argmax_formula(points: sp.Expr) -> sp.Expr:
    """1 + E(d+1)·log₂(e·m·(E−1)/(d+1)): Warren's bound for the argmax of E affine scores."""
    return 1 + E * (d + 1) * sp.log(EULER * points * (E - 1) / (d + 1), 2)


class LinearKind(RouterKind):
    name = "linear"
    summary = "scores Wx + b, the top-k experts (softmax-mixed when k ≥ 2)"
    total_rule = "E·(d + 1) (scores Wx + b, top-k)"
    read_rule = "E·(d + 1), and k experts are evaluated"
    mixes = True
    affine_scores = True

    def parameters(self, arch: Architecture) -> tuple[int, int]:
        count = arch.experts * (arch.dim + 1)
        return count, count

    def growth(self, arch: Architecture) -> Growth:
        return linear_router_growth(arch.experts, arch.dim)

    def growth_formula(self, points: sp.Expr) -> sp.Expr:
        return affine_argmax_formula(points)

    def shapes(self, arch: Architecture) -> dict[str, tuple[int, ...]]:
        return {"linear.weight": (arch.experts, arch.dim), "linear.bias": (arch.experts,)}

    def module(self, arch: Architecture, generator: torch.Generator | None = None) -> nn.Module:
        from moetheory.bounds.routers.modules import LinearRouter

        return LinearRouter(arch.dim, arch.experts, arch.top_k, generator)


KIND = LinearKind()
