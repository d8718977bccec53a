"""A hard-routed mixture of (P)ReLU experts as plain data: router parameters and the experts'
stacked weights, evaluated with numpy independently of the torch module.

An :class:`ExpertMixture` holds an :class:`~moetheory.bounds.architecture.Architecture`, the
router's parameters (grid thresholds per axis, prototypes, or tree levels) and the experts'
affine layers stacked along a leading expert axis (layer j: weights (E, out, in), biases
(E, out); PReLU slopes (E, width) per hidden layer). For input x routed to expert k,

    f(x) = A_{J+1}[k] σ(… σ(A_1[k] x + b_1[k]) …) + b_{J+1}[k].

Routing (numpy, the same rules as :mod:`moetheory.layers.routers`): grid idx_i = #{thresholds
of axis i ≤ x_i}, flattened row-major; prototype argmin_k ‖x − p_k‖² (lowest index on ties);
tree: the nearest of the 2^d children per level. :meth:`ExpertMixture.module` realises the
torch :class:`~moetheory.construct.module.PReLUMoE` with the same numbers.

Example::

    >>> from moetheory.construct.experts import constant_expert
    >>> m = ExpertMixture.of_experts("grid", (np.array([0.5]),),
    ...                              [constant_expert(1, 0.0), constant_expert(1, 1.0)])
    >>> m.evaluate(np.array([[0.2], [0.7]])).tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moetheory.bounds.architecture import Architecture
from moetheory.construct.network import Network
from moetheory.errors import SizeError
from moetheory.layers.moe import GROUP_MIN
from moetheory.layers.routers import CHUNK_ELEMENTS, router_shapes


@dataclass(frozen=True, eq=False)
class ExpertMixture:
    """Router parameters and stacked experts of a hard-routed mixture (module docstring)."""

    architecture: Architecture
    router_params: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    slopes: tuple[np.ndarray, ...] | None = None

    @classmethod
    def of_experts(cls, router: str, router_params: tuple[np.ndarray, ...],
                   experts: list[Network]) -> ExpertMixture:
        """Stack networks of one shape behind a router (``router_params`` as in the module
        docstring; ``()`` for ``none``)."""
        if not experts or not all(isinstance(e, Network) for e in experts):
            raise SizeError("a mixture needs a non-empty list of Network experts")
        first = experts[0]
        if any(e.widths != first.widths or e.activation != first.activation
               or e.input_dim != first.input_dim or e.output_dim != first.output_dim
               for e in experts):
            raise SizeError("experts of a mixture must share input, output and hidden sizes")
        arch = _architecture(first, len(experts), router, router_params)
        stack = [np.stack(arrays) for arrays in zip(*(e.weights for e in experts), strict=True)]
        bias = [np.stack(arrays) for arrays in zip(*(e.biases for e in experts), strict=True)]
        slopes = None
        if first.slopes is not None:
            slopes = tuple(np.stack(a) for a in zip(*(e.slopes for e in experts), strict=True))
        return cls(arch, tuple(router_params), tuple(stack), tuple(bias), slopes)

    def __post_init__(self) -> None:
        arch = self.architecture
        shapes = list(router_shapes(arch).values())
        if len(shapes) != len(self.router_params) or any(
                np.shape(p) != shape for p, shape in zip(self.router_params, shapes, strict=False)):
            raise SizeError(f"router {arch.router} of {arch.experts} experts needs parameters of "
                            f"shapes {shapes}, got {[np.shape(p) for p in self.router_params]}")
        if not all(np.all(np.isfinite(p)) for p in self.router_params):
            raise SizeError("router parameters must be finite")
        sizes = arch.layer_sizes()
        if [np.shape(w) for w in self.weights] != [(arch.experts, o, i) for i, o in sizes] or [
                np.shape(b) for b in self.biases] != [(arch.experts, o) for _, o in sizes]:
            raise SizeError("stacked expert arrays do not match the architecture")

    @property
    def num_experts(self) -> int:
        return self.architecture.experts

    @property
    def dim(self) -> int:
        return self.architecture.dim

    def expert(self, k: int) -> Network:
        """Expert k as a :class:`Network`."""
        if not 0 <= k < self.num_experts:
            raise SizeError(f"expert index {k} outside 0..{self.num_experts - 1}")
        slopes = None if self.slopes is None else tuple(s[k] for s in self.slopes)
        return Network(tuple(w[k] for w in self.weights), tuple(b[k] for b in self.biases),
                       slopes)

    def route(self, x: np.ndarray) -> np.ndarray:
        """Expert index per row of ``x`` (n, d)."""
        kind, params = self.architecture.router, self.router_params
        if kind == "none":
            return np.zeros(len(x), dtype=np.int64)
        if kind == "grid":
            index = np.zeros(len(x), dtype=np.int64)
            for i, thresholds in enumerate(params):
                index = index * (len(thresholds) + 1) + np.searchsorted(
                    np.sort(thresholds), x[:, i], side="right")
            return index
        if kind == "prototype":
            return _chunked(lambda part: _nearest(part, params[0]), x, params[0].size)
        if kind == "tree":
            return _chunked(lambda part: _tree_route(part, params), x, 2 ** self.dim * self.dim)
        raise SizeError(f"router {kind!r} has no data evaluation here")

    def evaluate(self, x: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        """Mixture output (n, output_dim) squeezed to (n,) for one output; ``index`` overrides
        the routing (evaluates expert index[i] at x[i])."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise SizeError(f"input must have shape (n, {self.dim}), got {x.shape}")
        idx = self.route(x) if index is None else np.asarray(index)
        out = self._apply(x, idx)
        return out[:, 0] if out.shape[1] == 1 else out

    def _apply(self, x: np.ndarray, idx: np.ndarray, layers: int | None = None) -> np.ndarray:
        """Expert idx[i] at x[i] through ``layers`` affine layers (all by default): expert by
        expert with dense products when each used expert gets ≥ :data:`GROUP_MIN` inputs on
        average, otherwise with the weights gathered per input, in chunks."""
        used, inverse = np.unique(idx, return_inverse=True)
        if not len(x):
            width = x.shape[1] if layers == 0 else self.weights[:layers][-1].shape[1]
            return np.zeros((0, width))
        if len(x) >= GROUP_MIN * len(used):
            order = np.argsort(inverse, kind="stable")
            bounds = np.cumsum(np.bincount(inverse, minlength=len(used)))[:-1]
            parts = [(k, rows) for k, rows in zip(used, np.split(order, bounds), strict=True)]
            first = self._forward(x[parts[0][1]], parts[0][0], layers)
            out = np.empty((len(x), first.shape[1]))
            out[parts[0][1]] = first
            for k, rows in parts[1:]:
                out[rows] = self._forward(x[rows], k, layers)
            return out
        row = max(w.shape[1] * w.shape[2] for w in self.weights)
        return _chunked(lambda part: self._forward(part[:, :-1], part[:, -1].astype(np.int64),
                                                   layers), np.column_stack([x, idx]), row)

    def features(self, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The last hidden layer's outputs (n, width_J) of expert index[i] at x[i] (the
        inputs themselves for affine experts): the output layer maps them to f(x)."""
        return self._apply(np.asarray(x, dtype=float), np.asarray(index),
                           len(self.weights) - 1)

    def _forward(self, x: np.ndarray, idx, layers: int | None = None) -> np.ndarray:
        """Through ``layers`` affine layers; ``idx`` an index array (one expert per row,
        weights gathered) or one expert index (shared by all rows, dense products)."""
        h = x
        last = len(self.weights) - 1
        shared = np.ndim(idx) == 0
        for j, (w, b) in enumerate(zip(self.weights[:layers], self.biases[:layers],
                                       strict=True)):
            h = h @ w[idx].T + b[idx] if shared else np.einsum("noi,ni->no", w[idx], h) + b[idx]
            if j < last:
                h = (np.maximum(h, 0.0) if self.slopes is None
                     else np.where(h >= 0, h, self.slopes[j][idx] * h))
        return h

    def counts(self) -> dict[str, int]:
        """Dense counts (``architecture.counts()``) and non-zeros: ``nonzero`` (router and
        every expert) and ``active_nonzero`` (router read per input + the largest expert)."""
        c = self.architecture.counts()
        arrays = [*self.weights, *self.biases, *(self.slopes or ())]
        per_expert = sum(np.count_nonzero(a.reshape(self.num_experts, -1), axis=1)
                         for a in arrays)
        router_nonzero = sum(int(np.count_nonzero(p)) for p in self.router_params)
        return {**c.to_json(), "nonzero": router_nonzero + int(np.sum(per_expert)),
                "active_nonzero": c.router_active + int(np.max(per_expert))}

    def intervals(self) -> list[tuple[float, float]]:
        """For d = 1: the interval of [0, 1] routed to each expert (empty ones as (a, a)).

        Grid: consecutive sorted thresholds; prototype: midpoints of the sorted prototypes
        (1-D Voronoi cells); tree: the children's midpoints level by level."""
        if self.dim != 1:
            raise SizeError("routing intervals are defined for d = 1 only")
        kind, params = self.architecture.router, self.router_params
        if kind == "none":
            return [(0.0, 1.0)]
        if kind == "grid":
            cuts = np.clip(np.sort(params[0]), 0.0, 1.0)
            edges = [0.0, *cuts.tolist(), 1.0]
            return list(zip(edges[:-1], edges[1:], strict=True))
        if kind == "prototype":
            return _voronoi_1d(params[0][:, 0], 0.0, 1.0)
        spans = [(0.0, 1.0)]
        for level in params:
            points = level[:, 0]
            spans = [sub for j, span in enumerate(spans)
                     for sub in _voronoi_1d(points[2 * j:2 * j + 2], *span)]
        return spans

    def module(self, construction: dict | None = None):
        """The torch :class:`~moetheory.construct.module.PReLUMoE` holding these numbers."""
        from moetheory.construct.module import PReLUMoE

        return PReLUMoE.from_mixture(self, construction or {})


def _architecture(expert: Network, experts: int, router: str,
                  params: tuple[np.ndarray, ...]) -> Architecture:
    grid = tuple(len(t) + 1 for t in params) if router == "grid" else None
    return Architecture(dim=expert.input_dim, experts=experts, hidden=expert.widths,
                        activation=expert.activation, router=router,
                        output_dim=expert.output_dim, grid=grid)


def _chunked(fn, x: np.ndarray, row_elements: int) -> np.ndarray:
    step = max(1, CHUNK_ELEMENTS // max(1, row_elements))
    parts = [fn(x[i:i + step]) for i in range(0, len(x), step)]
    return np.concatenate(parts) if parts else fn(x)


def _nearest(x: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """argmin_k ‖x − c_k‖² per row (candidates (m, d) shared, or (n, m, d) per row)."""
    return ((x[:, None, :] - candidates) ** 2).sum(-1).argmin(-1)


def _tree_route(x: np.ndarray, levels: tuple[np.ndarray, ...]) -> np.ndarray:
    d = x.shape[1]
    offsets = np.stack(np.meshgrid(*[np.arange(2)] * d, indexing="ij"), -1).reshape(-1, d)
    node = np.zeros((len(x), d), dtype=np.int64)
    for level, protos in enumerate(levels, start=1):
        children = 2 * node[:, None, :] + offsets
        flat = _flatten(children, 1 << level)
        node = children[np.arange(len(x)), _nearest(x, protos[flat])]
    return _flatten(node, 1 << len(levels))


def _flatten(multi: np.ndarray, cells: int) -> np.ndarray:
    d = multi.shape[-1]
    return (multi * cells ** np.arange(d - 1, -1, -1)).sum(-1)


def _voronoi_1d(points: np.ndarray, lo: float, hi: float) -> list[tuple[float, float]]:
    """The 1-D nearest-point cells of ``points`` within [lo, hi], in the points' order
    (ties go to the lower index, as in argmin: a repeated point's later copies get empty
    cells)."""
    values, first = np.unique(points, return_index=True)  # a repeated point: lowest index
    cuts = (values[:-1] + values[1:]) / 2
    edges = np.clip(np.concatenate([[lo], cuts, [hi]]), lo, hi)
    spans: list[tuple[float, float]] = [(float(np.clip(p, lo, hi)),) * 2 for p in points]
    for rank, k in enumerate(first):
        spans[k] = (float(edges[rank]), float(edges[rank + 1]))
    return spans
