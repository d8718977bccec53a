"""Numpy helpers of the router kinds: cell indices and centres of the K^d grid, nearest-point
search, row chunks, and 1-D Voronoi cells.

The routing rules in numpy are the package's independent evaluation of a mixture's data
(:class:`~moetheory.construct.mixture.ExpertMixture`), compared with the torch modules of
:mod:`moetheory.bounds.routers.modules`; the grid of reference approximation_vc.md §3 has cells
∏_i [k_i/K, (k_i+1)/K) with centres (k + ½)/K, flattened row-major.

Example::

    >>> multi_indices(2, 2).tolist(), centres(2, 1).tolist()
    ([[0, 0], [0, 1], [1, 0], [1, 1]], [[0.25], [0.75]])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CHUNK_ELEMENTS = 1 << 22
"""Work on many inputs runs in chunks of rows whose intermediate arrays hold at most this many
entries (numpy here, torch in the modules and the stacked experts)."""


def multi_indices(cells: int, dim: int) -> np.ndarray:
    """All multi-indices j ∈ {0..cells−1}^dim as a (cells^dim, dim) int64 array, row-major
    (the last axis varies fastest)."""
    axes = np.meshgrid(*[np.arange(cells, dtype=np.int64)] * dim, indexing="ij")
    return np.stack(axes, axis=-1).reshape(-1, dim)


def centres(cells: int, dim: int) -> np.ndarray:
    """Cell centres (j + ½)/K in float64, row-major (k = Σ_i j_i·K^{d−1−i})."""
    return (multi_indices(cells, dim) + 0.5) / cells


def flatten_index(multi: np.ndarray, cells: int) -> np.ndarray:
    """Row-major flat index Σ_i j_i·K^{d−1−i} of multi-indices ``multi`` (…, d).

    Example::

        >>> flatten_index(np.array([[1, 0], [1, 1]]), 2).tolist()
        [2, 3]
    """
    dim = multi.shape[-1]
    return (multi * cells ** np.arange(dim - 1, -1, -1)).sum(-1)


def nearest(x: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """argmin_k ‖x − c_k‖² per row of ``x`` (n, d); ``candidates`` is (m, d) shared by all rows
    or (n, m, d) per row. Ties go to the lowest index."""
    return ((x[:, None, :] - candidates) ** 2).sum(-1).argmin(-1)


def chunked(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, row_elements: int) -> np.ndarray:
    """``fn`` applied to chunks of rows of ``x`` and concatenated, each chunk small enough that
    chunk·``row_elements`` ≤ :data:`CHUNK_ELEMENTS` (``fn(x)`` itself when x has no rows).

    Example::

        >>> chunked(lambda t: t.sum(1), np.ones((5, 3)), 1 << 21).tolist()
        [3.0, 3.0, 3.0, 3.0, 3.0]
    """
    step = max(1, CHUNK_ELEMENTS // max(1, row_elements))
    parts = [fn(x[i : i + step]) for i in range(0, len(x), step)]
    return np.concatenate(parts) if parts else fn(x)


def voronoi_1d(points: np.ndarray, lo: float, hi: float) -> list[tuple[float, float]]:
    """The 1-D nearest-point cells of ``points`` within [lo, hi], in the points' order
    (ties go to the lower index, as in argmin: a repeated point's later copies get empty
    cells).

    Example::

        >>> voronoi_1d(np.array([0.75, 0.25, 0.75]), 0.0, 1.0)
        [(0.5, 1.0), (0.0, 0.5), (0.75, 0.75)]
    """
    values, first = np.unique(points, return_index=True)  # a repeated point: lowest index
    cuts = (values[:-1] + values[1:]) / 2
    edges = np.clip(np.concatenate([[lo], cuts, [hi]]), lo, hi)
    spans: list[tuple[float, float]] = [(float(np.clip(p, lo, hi)),) * 2 for p in points]
    for rank, k in enumerate(first):
        spans[k] = (float(edges[rank]), float(edges[rank + 1]))
    return spans
