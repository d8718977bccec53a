"""Router kind ``grid``: axis-aligned cells, K_i per axis, E = ∏_i K_i.

Axis i keeps K_i − 1 sorted thresholds; idx_i = #{thresholds ≤ x_i} is found by binary search
and the expert is the row-major flat index Σ_i idx_i·∏_{j>i} K_j (approximation_vc.md §3, R1):

    total = Σ_i (K_i − 1),   read per input = Σ_i ⌈log₂ K_i⌉.

The cells per axis are the architecture's ``grid`` field (default K per axis with K^d = E).
On m points axis i splits the coordinates in at most C(m + K_i − 1, K_i − 1) ways (§5), so
log₂ Π_route(m) ≤ Σ_i log₂ C(m + K_i − 1, K_i − 1). For the K^d-cell plan of the
constructions the thresholds are k/K.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> a = Architecture(dim=2, experts=6, hidden=(), router="grid", grid=(3, 2))
    >>> a.counts().router, a.counts().router_active, KIND.shapes(a)
    (3, 3, {'thresholds.0': (2,), 'thresholds.1': (1,)})
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from moetheory.bounds.growth import Growth, grid_router_growth
from moetheory.bounds.monotone import integer_root
from moetheory.bounds.routers.base import RouterKind
from moetheory.bounds.sizes import K, check_count, d
from moetheory.errors import SizeError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from moetheory.bounds.architecture import Architecture

MAX_GRID_AXES = 1000
"""Most axes of a grid router (it keeps one set of thresholds per axis)."""


class GridKind(RouterKind):
    name = "grid"
    summary = "axis-aligned cells: sorted thresholds per axis, binary search"
    total_rule = "Σ_i (K_i − 1) thresholds"
    read_rule = "Σ_i ⌈log₂ K_i⌉ (binary search per axis)"
    fields = ("grid",)
    approximates = True

    def check(self, arch: Architecture) -> dict[str, Any]:
        if arch.dim > MAX_GRID_AXES:
            raise SizeError(
                f"a grid router keeps thresholds per axis: at most {MAX_GRID_AXES} "
                f"axes, got dim = {arch.dim}"
            )
        if arch.grid is None:
            k = integer_root(arch.experts, arch.dim)
            if k is None:
                raise SizeError(
                    f"experts = {arch.experts} is not a {arch.dim}-th power; a grid "
                    "router needs K per axis with K^d = E (or give the cells per axis)"
                )
            return {"grid": (k,) * arch.dim}
        cells = tuple(check_count("grid cells per axis", k) for k in arch.grid)
        if len(cells) != arch.dim:
            raise SizeError(f"grid has {len(cells)} axes, dim is {arch.dim}")
        if math.prod(cells) != arch.experts:
            raise SizeError(
                f"grid cells {'x'.join(map(str, cells))} make {math.prod(cells)} "
                f"experts, not {arch.experts}"
            )
        return {"grid": cells}

    def parameters(self, arch: Architecture) -> tuple[int, int]:
        cells = arch.grid or ()
        return sum(k - 1 for k in cells), sum((k - 1).bit_length() for k in cells)  # ⌈log₂ K⌉

    def growth(self, arch: Architecture) -> Growth:
        return grid_router_growth(arch.grid or ())

    def growth_formula(self, points: sp.Expr) -> sp.Expr:
        """Exact with K cells on every axis: d·log₂ C(m + K − 1, K − 1)."""
        return d * sp.log(sp.binomial(points + K - 1, K - 1), 2)

    def formula_values(self, arch: Architecture) -> dict[sp.Symbol, int] | None:
        cells = set(arch.grid or ())
        return {K: cells.pop()} if len(cells) == 1 else None

    def shapes(self, arch: Architecture) -> dict[str, tuple[int, ...]]:
        return {f"thresholds.{i}": (k - 1,) for i, k in enumerate(arch.grid or ())}

    def module(self, arch: Architecture, generator: torch.Generator | None = None) -> nn.Module:
        from moetheory.bounds.routers.modules import GridRouter

        return GridRouter(arch.grid or ())

    def cell_fields(self, cells: int, dim: int) -> dict[str, Any]:
        return {"grid": (cells,) * dim}

    def cell_parameters(self, cells: int, dim: int) -> tuple[np.ndarray, ...]:
        """Thresholds k/K, k = 1..K − 1, on every axis."""
        return tuple(np.arange(1, cells) / cells for _ in range(dim))

    def route_array(self, params: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
        index = np.zeros(len(x), dtype=np.int64)
        for i, thresholds in enumerate(params):
            index = index * (len(thresholds) + 1) + np.searchsorted(
                np.sort(thresholds), x[:, i], side="right"
            )
        return index

    def intervals(self, params: tuple[np.ndarray, ...]) -> list[tuple[float, float]]:
        """Consecutive sorted thresholds, clipped to [0, 1]."""
        cuts = np.clip(np.sort(params[0]), 0.0, 1.0)
        edges = [0.0, *cuts.tolist(), 1.0]
        return list(zip(edges[:-1], edges[1:], strict=True))

    def fields_of(self, params: tuple[np.ndarray, ...]) -> dict[str, Any]:
        return {"grid": tuple(len(t) + 1 for t in params)}


KIND = GridKind()
