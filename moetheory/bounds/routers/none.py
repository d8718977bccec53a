"""Router kind ``none``: a single network (E = 1), no router.

Counts 0 total, 0 read per input; it splits m points one way only (log₂ Π_route = 0), so the
mixture's VC bounds reduce exactly to the single network's (approximation_vc.md §5). One cell
of the grid: the single-network baseline of the constructions (approximation_vc.md §3).

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> Architecture(dim=3, experts=1, hidden=(4,), router="none").counts().router
    0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from moetheory.bounds.growth import Growth
from moetheory.bounds.routers.base import RouterKind
from moetheory.errors import SizeError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from moetheory.bounds.architecture import Architecture


class NoneKind(RouterKind):
    name = "none"
    summary = "no router: a single network (E = 1)"
    total_rule = "0 (E = 1: a single network)"
    read_rule = "0"

    def check(self, arch: Architecture) -> dict[str, Any]:
        if arch.experts != 1:
            raise SizeError(f"router none means a single network; experts = {arch.experts}")
        return {}

    def parameters(self, arch: Architecture) -> tuple[int, int]:
        return 0, 0

    def growth(self, arch: Architecture) -> Growth:
        return Growth(_one_cell, "no router: one cell")

    def growth_formula(self, points: sp.Expr) -> sp.Expr:
        return sp.Integer(0)

    def shapes(self, arch: Architecture) -> dict[str, tuple[int, ...]]:
        return {}

    def module(self, arch: Architecture, generator: torch.Generator | None = None) -> nn.Module:
        from moetheory.bounds.routers.modules import NoRouter

        return NoRouter()

    def cell_parameters(self, cells: int, dim: int) -> tuple[np.ndarray, ...]:
        return ()

    def route_array(self, params: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=np.int64)

    def intervals(self, params: tuple[np.ndarray, ...]) -> list[tuple[float, float]]:
        return [(0.0, 1.0)]


def _one_cell(m: int, den: int, ctx) -> object:
    """log₂ Π_route = 0: every split of the points is the same (one cell)."""
    return ctx.num(0)


KIND = NoneKind()
