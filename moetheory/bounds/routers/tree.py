"""Router kind ``tree``: a 2^d-ary δ-net tree of depth s over E = 2^{ds} leaves.

Level l has 2^{dl} node prototypes; from node j at level l − 1 an input moves to the nearest of
the children 2j + b, b ∈ {0,1}^d, and the leaf multi-index flattened row-major is the expert
(approximation_vc.md §3, R3):

    total = d·Σ_{l=1}^{s} 2^{dl} = d·2^d(E−1)/(2^d−1),   read per input = s·2^d·d.

Every decision is the sign of one of m·C(2^d, 2)·(E−1)/(2^d−1) linear forms in
N = (d+1)·2^d(E−1)/(2^d−1) free coefficients, so (Warren, §5)
log₂ Π_route(m) ≤ min(m·log₂ E, 1 + N·log₂(e·m·(2^d−1)/(d+1))). For the K^d-cell plan of the
constructions K must be a power of 2 (K = 2^s) and level l holds the centres (j + ½)/2^l.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> a = Architecture(dim=2, experts=16, hidden=(), router="tree")
    >>> KIND.depth(a), a.counts().router, KIND.round_cells(71)
    (2, 40, 128)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from moetheory.bounds.growth import Growth, tree_router_growth
from moetheory.bounds.routers.arrays import (
    centres,
    chunked,
    flatten_index,
    multi_indices,
    nearest,
    voronoi_1d,
)
from moetheory.bounds.routers.base import RouterKind
from moetheory.bounds.sizes import EULER, E, d
from moetheory.errors import SizeError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from moetheory.bounds.architecture import Architecture


class TreeKind(RouterKind):
    name = "tree"
    summary = "2^d-ary δ-net tree: nearest of the 2^d children per level"
    total_rule = "d·Σ_{l=1}^{s} 2^{dl}, E = 2^{ds}"
    read_rule = "s·2^d·d (nearest of 2^d children per level)"
    approximates = True

    def depth(self, arch: Architecture) -> int:
        """s with E = 2^{d·s}, or a :class:`SizeError`."""
        s, rem = divmod(arch.experts.bit_length() - 1, arch.dim)
        if rem or 1 << (arch.dim * s) != arch.experts:
            raise SizeError(
                f"experts = {arch.experts} is not 2^(d·s) for d = {arch.dim}; a "
                "2^d-ary tree router needs E = 2^(d·s)"
            )
        return s

    def check(self, arch: Architecture) -> dict[str, Any]:
        self.depth(arch)
        return {}

    def parameters(self, arch: Architecture) -> tuple[int, int]:
        dim, s = arch.dim, self.depth(arch)
        return dim * sum(1 << (dim * level) for level in range(1, s + 1)), s * (1 << dim) * dim

    def growth(self, arch: Architecture) -> Growth:
        return tree_router_growth(arch.dim, self.depth(arch))

    def growth_formula(self, points: sp.Expr) -> sp.Expr:
        variables = (d + 1) * 2**d * (E - 1) / (2**d - 1)
        return 1 + variables * sp.log(EULER * points * (2**d - 1) / (d + 1), 2)

    def shapes(self, arch: Architecture) -> dict[str, tuple[int, ...]]:
        return {
            f"levels.{level - 1}": (1 << (arch.dim * level), arch.dim)
            for level in range(1, self.depth(arch) + 1)
        }

    def module(self, arch: Architecture, generator: torch.Generator | None = None) -> nn.Module:
        from moetheory.bounds.routers.modules import TreeRouter

        return TreeRouter(arch.dim, self.depth(arch))

    def round_cells(self, cells: int) -> int:
        """The next power of 2."""
        return 1 << (cells - 1).bit_length()

    def cell_fields(self, cells: int, dim: int) -> dict[str, Any]:
        if cells & (cells - 1):
            raise SizeError(f"a tree router needs a power of 2 cells per axis, got {cells}")
        return {}

    def cell_parameters(self, cells: int, dim: int) -> tuple[np.ndarray, ...]:
        """Level l (1..s, K = 2^s) holds the centres (j + ½)/2^l."""
        return tuple(centres(1 << level, dim) for level in range(1, cells.bit_length()))

    def route_array(self, params: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
        dim = x.shape[1]
        return chunked(lambda part: _descend(part, params), x, (1 << dim) * dim)

    def intervals(self, params: tuple[np.ndarray, ...]) -> list[tuple[float, float]]:
        """The children's 1-D Voronoi cells, level by level."""
        spans = [(0.0, 1.0)]
        for level in params:
            points = level[:, 0]
            spans = [
                sub
                for j, span in enumerate(spans)
                for sub in voronoi_1d(points[2 * j : 2 * j + 2], *span)
            ]
        return spans


def _descend(x: np.ndarray, levels: tuple[np.ndarray, ...]) -> np.ndarray:
    """The leaf (expert) index per row of ``x``: the nearest child at every level."""
    offsets = multi_indices(2, x.shape[1])
    node = np.zeros((len(x), x.shape[1]), dtype=np.int64)
    for level, protos in enumerate(levels, start=1):
        children = 2 * node[:, None, :] + offsets
        node = children[np.arange(len(x)), nearest(x, protos[flatten_index(children, 1 << level)])]
    return flatten_index(node, 1 << len(levels))


KIND = TreeKind()
