"""A hard-routed mixture of (P)ReLU experts as plain data: router parameters and the experts'
stacked weights, evaluated with numpy independently of the torch module.

An :class:`ExpertMixture` holds an :class:`~moetheory.bounds.architecture.Architecture`, the
router's parameters (grid thresholds per axis, prototypes, or tree levels) and the experts'
affine layers stacked along a leading expert axis (layer j: weights (E, out, in), biases
(E, out); PReLU slopes (E, width) per hidden layer). For input x routed to expert k,

    f(x) = A_{J+1}[k] σ(… σ(A_1[k] x + b_1[k]) …) + b_{J+1}[k].

Routing is the router kind's numpy rule (``route_array`` of :mod:`moetheory.bounds.routers`,
the same rule as its torch module but computed independently): grid idx_i = #{thresholds of
axis i ≤ x_i}, flattened row-major; prototype argmin_k ‖x − p_k‖² (lowest index on ties);
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
from moetheory.bounds.routers.arrays import chunked
from moetheory.bounds.routers.registry import router_kind
from moetheory.construct.network import Network
from moetheory.errors import SizeError
from moetheory.layers.moe import GROUP_MIN


@dataclass(frozen=True, eq=False)
class ExpertMixture:
    """Router parameters and stacked experts of a hard-routed mixture (module docstring)."""

    architecture: Architecture
    router_params: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    slopes: tuple[np.ndarray, ...] | None = None

    @classmethod
    def of_experts(
        cls, router: str, router_params: tuple[np.ndarray, ...], experts: list[Network]
    ) -> ExpertMixture:
        """Stack networks of one shape behind the router kind called ``router``
        (``router_params`` in the order of its ``shapes``; ``()`` for ``none``)."""
        if not experts or not all(isinstance(e, Network) for e in experts):
            raise SizeError("a mixture needs a non-empty list of Network experts")
        first = experts[0]
        if any(
            e.widths != first.widths
            or e.activation != first.activation
            or e.input_dim != first.input_dim
            or e.output_dim != first.output_dim
            for e in experts
        ):
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
        shapes = list(arch.kind.shapes(arch).values())
        if len(shapes) != len(self.router_params) or any(
            np.shape(p) != shape for p, shape in zip(self.router_params, shapes, strict=False)
        ):
            raise SizeError(
                f"router {arch.router} of {arch.experts} experts needs parameters of "
                f"shapes {shapes}, got {[np.shape(p) for p in self.router_params]}"
            )
        if not all(np.all(np.isfinite(p)) for p in self.router_params):
            raise SizeError("router parameters must be finite")
        sizes = arch.layer_sizes()
        if [np.shape(w) for w in self.weights] != [(arch.experts, o, i) for i, o in sizes] or [
            np.shape(b) for b in self.biases
        ] != [(arch.experts, o) for _, o in sizes]:
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
        return Network(tuple(w[k] for w in self.weights), tuple(b[k] for b in self.biases), slopes)

    def route(self, x: np.ndarray) -> np.ndarray:
        """Expert index per row of ``x`` (n, d)."""
        return self.architecture.kind.route_array(self.router_params, x)

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
        return chunked(
            lambda part: self._forward(part[:, :-1], part[:, -1].astype(np.int64), layers),
            np.column_stack([x, idx]),
            row,
        )

    def features(self, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The last hidden layer's outputs (n, width_J) of expert index[i] at x[i] (the
        inputs themselves for affine experts): the output layer maps them to f(x)."""
        return self._apply(np.asarray(x, dtype=float), np.asarray(index), len(self.weights) - 1)

    def _forward(self, x: np.ndarray, idx, layers: int | None = None) -> np.ndarray:
        """Through ``layers`` affine layers; ``idx`` an index array (one expert per row,
        weights gathered) or one expert index (shared by all rows, dense products)."""
        h = x
        last = len(self.weights) - 1
        shared = np.ndim(idx) == 0
        for j, (w, b) in enumerate(zip(self.weights[:layers], self.biases[:layers], strict=True)):
            h = h @ w[idx].T + b[idx] if shared else np.einsum("noi,ni->no", w[idx], h) + b[idx]
            if j < last:
                h = (
                    np.maximum(h, 0.0)
                    if self.slopes is None
                    else np.where(h >= 0, h, self.slopes[j][idx] * h)
                )
        return h

    def counts(self) -> dict[str, int]:
        """Dense counts (``architecture.counts()``) and non-zeros: ``nonzero`` (router and
        every expert) and ``active_nonzero`` (router read per input + the largest expert)."""
        c = self.architecture.counts()
        arrays = [*self.weights, *self.biases, *(self.slopes or ())]
        per_expert = sum(np.count_nonzero(a.reshape(self.num_experts, -1), axis=1) for a in arrays)
        router_nonzero = sum(int(np.count_nonzero(p)) for p in self.router_params)
        return {
            **c.to_json(),
            "nonzero": router_nonzero + int(np.sum(per_expert)),
            "active_nonzero": c.router_active + int(np.max(per_expert)),
        }

    def intervals(self) -> list[tuple[float, float]]:
        """For d = 1: the interval of [0, 1] routed to each expert (empty ones as (a, a)).

        Grid: consecutive sorted thresholds; prototype: midpoints of the sorted prototypes
        (1-D Voronoi cells); tree: the children's midpoints level by level (the router kind's
        ``intervals``)."""
        if self.dim != 1:
            raise SizeError("routing intervals are defined for d = 1 only")
        return self.architecture.kind.intervals(self.router_params)

    def module(self, construction: dict | None = None):
        """The torch :class:`~moetheory.construct.module.PReLUMoE` holding these numbers."""
        from moetheory.construct.module import PReLUMoE

        return PReLUMoE.from_mixture(self, construction or {})


def _architecture(
    expert: Network, experts: int, router: str, params: tuple[np.ndarray, ...]
) -> Architecture:
    return Architecture(
        dim=expert.input_dim,
        experts=experts,
        hidden=expert.widths,
        activation=expert.activation,
        router=router,
        output_dim=expert.output_dim,
        **router_kind(router).fields_of(params),
    )
