"""Router kind ``prototype``: E prototypes p_k ∈ ℝ^d, route to argmin_k ‖x − p_k‖² (flat).

    total = read per input = E·d prototype coordinates   (approximation_vc.md §3, R2).

‖x − p_j‖² − ‖x − p_l‖² = (2p_l − 2p_j)·x + ‖p_j‖² − ‖p_l‖² is affine in x, so nearest
prototypes are an argmax of E affine scores and share the linear router's growth bound (§5).
For the K^d-cell plan of the constructions the prototypes are the cell centres (k + ½)/K;
ties go to the lowest index.

Example::

    >>> import numpy as np
    >>> KIND.route_array((np.array([[0.25], [0.75]]),), np.array([[0.1], [0.6]])).tolist()
    [0, 1]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from moetheory.bounds.growth import Growth, linear_router_growth
from moetheory.bounds.routers.arrays import centres, chunked, nearest, voronoi_1d
from moetheory.bounds.routers.base import RouterKind
from moetheory.bounds.routers.linear import affine_argmax_formula

if TYPE_CHECKING:
    import torch
    from torch import nn

    from moetheory.bounds.architecture import Architecture


class PrototypeKind(RouterKind):
    name = "prototype"
    summary = "nearest of E prototypes (flat search)"
    total_rule = "E·d prototype coordinates"
    read_rule = "E·d (nearest prototype, flat search)"
    affine_scores = True
    approximates = True
    flat = True

    def parameters(self, arch: Architecture) -> tuple[int, int]:
        count = arch.experts * arch.dim
        return count, count

    def growth(self, arch: Architecture) -> Growth:
        return linear_router_growth(arch.experts, arch.dim)

    def growth_formula(self, points: sp.Expr) -> sp.Expr:
        return affine_argmax_formula(points)

    def shapes(self, arch: Architecture) -> dict[str, tuple[int, ...]]:
        return {"prototypes": (arch.experts, arch.dim)}

    def module(self, arch: Architecture, generator: torch.Generator | None = None) -> nn.Module:
        from moetheory.bounds.routers.modules import PrototypeRouter

        return PrototypeRouter(arch.experts, arch.dim, generator)

    def cell_parameters(self, cells: int, dim: int) -> tuple[np.ndarray, ...]:
        return (centres(cells, dim),)

    def route_array(self, params: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
        protos = params[0]
        return chunked(lambda part: nearest(part, protos), x, protos.size)

    def intervals(self, params: tuple[np.ndarray, ...]) -> list[tuple[float, float]]:
        """The 1-D Voronoi cells of the prototypes (midpoints of the sorted ones)."""
        return voronoi_1d(params[0][:, 0], 0.0, 1.0)


KIND = PrototypeKind()
