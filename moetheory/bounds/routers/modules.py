"""The torch modules of the built-in router kinds: each maps inputs x ∈ ℝ^{n×d} to expert indices.

One small ``nn.Module`` per kind of :mod:`moetheory.bounds.routers` (its parameter counts are
exactly the kind's :meth:`~moetheory.bounds.routers.base.RouterKind.parameters`; each kind's
``module`` builds it, importing this file, and so torch, only then):

* :class:`NoRouter` — E = 1, no parameters, every input goes to expert 0;
* :class:`GridRouter` — per-axis thresholds; idx_i = #{thresholds of axis i ≤ x_i}, flattened
  row-major (idx = Σ_i idx_i·∏_{j>i} K_j);
* :class:`PrototypeRouter` — E prototypes, idx = argmin_k ‖x − p_k‖² (lowest index on ties);
* :class:`TreeRouter` — a 2^d-ary tree of depth s, nearest of the 2^d children per level;
* :class:`LinearRouter` — scores Wx + b, the top-k experts.

Work on many inputs runs in chunks of rows so that intermediate tensors hold at most
:data:`~moetheory.bounds.routers.arrays.CHUNK_ELEMENTS` entries. Reference:
approximation_vc.md §3 (routers R1–R3).

Example::

    >>> GridRouter((2, 2)).route(torch.tensor([[0.1, 0.7], [0.9, 0.2]])).tolist()
    [1, 2]
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from moetheory.bounds.monotone import integer_root
from moetheory.bounds.routers.arrays import CHUNK_ELEMENTS, multi_indices


def chunked(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, row_elements: int
) -> torch.Tensor:
    """``fn`` applied to chunks of rows of ``x`` and concatenated, each chunk small enough that
    chunk·``row_elements`` ≤ :data:`CHUNK_ELEMENTS` (at least one row per chunk).

    Example::

        >>> chunked(lambda t: t.sum(1), torch.ones(5, 3), 1 << 21).tolist()
        [3.0, 3.0, 3.0, 3.0, 3.0]
    """
    step = max(1, CHUNK_ELEMENTS // max(1, row_elements))
    return torch.cat([fn(part) for part in x.split(step)])


def grid_centres(cells: int, dim: int) -> torch.Tensor:
    """Centres (j + ½)/K of the K^d cells of the uniform grid on [0,1]^d, row-major, in the
    default dtype.

    Example::

        >>> grid_centres(2, 1).tolist()
        [[0.25], [0.75]]
    """
    return (torch.from_numpy(multi_indices(cells, dim)).to(torch.get_default_dtype()) + 0.5) / cells


def flatten_index(multi: torch.Tensor, cells: int) -> torch.Tensor:
    """Row-major flat index Σ_i j_i·K^{d−1−i} of multi-indices ``multi`` (…, d), K = ``cells``.

    Example::

        >>> flatten_index(torch.tensor([[1, 0], [1, 1]]), 2).tolist()
        [2, 3]
    """
    dim = multi.shape[-1]
    strides = cells ** torch.arange(dim - 1, -1, -1, device=multi.device)
    return (multi * strides).sum(-1)


def nearest(x: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """argmin_k ‖x − c_k‖² per row of ``x`` (n, d); ``candidates`` is (m, d) shared by all rows
    or (n, m, d) per row. Ties go to the lowest index.

    Example::

        >>> nearest(torch.tensor([[0.1], [0.8]]), torch.tensor([[0.0], [1.0]])).tolist()
        [0, 1]
    """
    return ((x.unsqueeze(-2) - candidates) ** 2).sum(-1).argmin(-1)


class NoRouter(nn.Module):
    """The router of a single network (E = 1): no parameters, every input to expert 0."""

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """Zeros, one per input row."""
        return torch.zeros(len(x), dtype=torch.long, device=x.device)


class GridRouter(nn.Module):
    """Axis-aligned grid with K_i cells on axis i: Σ_i (K_i − 1) trainable thresholds.

    Axis i has thresholds t_{i,1..K_i−1} (initialised to k/K_i); idx_i = #{k : t_{i,k} ≤ x_i}
    ∈ [0, K_i − 1], and the expert is idx = Σ_i idx_i·∏_{j>i} K_j. With the default
    thresholds, idx_i = min(⌊K_i x_i⌋, K_i − 1) on [0,1].
    """

    def __init__(self, cells: tuple[int, ...]) -> None:
        super().__init__()
        self.cells = tuple(cells)
        self.thresholds = nn.ParameterList(
            nn.Parameter(torch.arange(1, k, dtype=torch.get_default_dtype()) / k)
            for k in self.cells
        )
        self.strides = [math.prod(self.cells[i + 1 :]) for i in range(len(self.cells))]

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """Expert index per row of ``x`` (n, d)."""
        index = torch.zeros(len(x), dtype=torch.long, device=x.device)
        for i, (thresholds, stride) in enumerate(zip(self.thresholds, self.strides, strict=True)):
            ordered = thresholds.detach().sort().values.to(x.dtype)
            # counts thresholds ≤ x_i: already in [0, K_i − 1], no clamp needed
            index += stride * torch.searchsorted(ordered, x[:, i].contiguous(), right=True)
        return index


class PrototypeRouter(nn.Module):
    """E prototypes p_k ∈ ℝ^d (E·d parameters); route to argmin_k ‖x − p_k‖².

    Initialised to the grid centres (j + ½)/K when E = K^d, otherwise uniform on [0,1]^d from
    ``generator``.
    """

    def __init__(self, experts: int, dim: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        cells = integer_root(experts, dim)
        if cells is not None:
            init = grid_centres(cells, dim)
        else:
            init = torch.rand(experts, dim, generator=generator)
        self.prototypes = nn.Parameter(init)

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest prototype per row of ``x`` (n, d)."""
        protos = self.prototypes.detach().to(x.dtype)
        return chunked(lambda part: nearest(part, protos), x, protos.numel())


class TreeRouter(nn.Module):
    """2^d-ary tree of depth s over E = 2^{ds} leaves; level l has 2^{dl} node prototypes.

    Parameters d·Σ_{l=1}^{s} 2^{dl}, initialised to the level-l grid centres (j + ½)/2^l.
    From node j at level l − 1 the input moves to the nearest of the children 2j + b,
    b ∈ {0,1}^d; the leaf multi-index flattened row-major is the expert. With the default
    prototypes this is the grid router with K = 2^s per axis.
    """

    def __init__(self, dim: int, depth: int) -> None:
        super().__init__()
        self.dim = dim
        self.depth = depth
        self.levels = nn.ParameterList(
            nn.Parameter(grid_centres(1 << level, dim)) for level in range(1, depth + 1)
        )

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """Leaf (expert) index per row of ``x`` (n, d)."""
        return chunked(self._route, x, (1 << self.dim) * self.dim)

    def _route(self, x: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(len(x), device=x.device)
        offsets = torch.from_numpy(multi_indices(2, self.dim)).to(x.device)
        node = torch.zeros(len(x), self.dim, dtype=torch.long, device=x.device)
        for level, protos in enumerate(self.levels, start=1):
            children = 2 * node.unsqueeze(1) + offsets
            candidates = protos.detach().to(x.dtype)[flatten_index(children, 1 << level)]
            node = children[rows, nearest(x, candidates)]
        return flatten_index(node, 1 << self.depth)


class LinearRouter(nn.Module):
    """Scores s = Wx + b (``nn.Linear(d, E)``, E·(d + 1) parameters); the top-k experts.

    Initialised like ``nn.Linear`` (uniform ±1/√d) but from ``generator``.
    """

    def __init__(
        self, dim: int, experts: int, top_k: int = 1, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.top_k = top_k
        self.linear = nn.utils.skip_init(nn.Linear, dim, experts)
        bound = 1.0 / math.sqrt(dim)
        with torch.no_grad():
            for param in self.linear.parameters():
                param.uniform_(-bound, bound, generator=generator)

    def top(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices, scores) of the top-k experts per row, both (n, k), highest score first."""
        scores, indices = self.linear(x).topk(self.top_k, dim=1)
        return indices, scores

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """The top-1 expert index per row of ``x`` (n, d)."""
        return self.top(x)[0][:, 0]
