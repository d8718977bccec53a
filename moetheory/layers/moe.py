"""A hard-routed mixture of (P)ReLU MLP experts as a torch module, with exact parameter counts.

:func:`realise` builds an :class:`MoEMLP` from an
:class:`~moetheory.bounds.architecture.Architecture`; its parameter ``numel`` sums are exactly
``arch.counts()`` (total, router, per expert). The E experts are stored stacked — layer j has
a weight (E, fan-out, fan-in) and a bias (E, fan-out), PReLU slopes are (E, width) per hidden
layer (a parameter when trainable, a buffer of 0.25 when fixed) — and evaluated batched:
for input x routed to expert k,

    h₀ = x,   h_j = σ(W_j[k] h_{j−1} + b_j[k])  (j ≤ J),   f(x) = W_{J+1}[k] h_J + b_{J+1}[k]

with σ = ReLU or PReLU(z) = z (z ≥ 0), a·z (z < 0). The router is the torch module of the
architecture's router kind (:mod:`moetheory.bounds.routers`). A mixing router (linear) with
top-k mixes the k highest-scoring experts with weights softmax(their scores); gradients reach
its scores, while the hard routers (grid, prototype, tree) are piecewise constant and get no
gradient.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> arch = Architecture(dim=2, experts=4, hidden=(8,), router="grid")
    >>> model = realise(arch)
    >>> sum(p.numel() for p in model.parameters()) == arch.counts().total
    True
    >>> model(torch.rand(5, 2)).shape
    torch.Size([5, 1])
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from moetheory.bounds.architecture import Architecture
from moetheory.bounds.routers.arrays import CHUNK_ELEMENTS
from moetheory.errors import SizeError

DEFAULT_SLOPE = 0.25
GROUP_MIN = 64  # average inputs per used expert above which experts run one by one


class MoEMLP(nn.Module):
    """E stacked (P)ReLU MLP experts behind a router; see the module docstring.

    Attributes: ``architecture`` (the :class:`Architecture`), ``num_experts`` (E), ``router``,
    ``weights`` / ``biases`` (one stacked parameter per affine layer), ``slope{j}`` (stacked
    PReLU slopes of hidden layer j) and ``chunk_size`` (inputs evaluated per batched step,
    so that chunk·max(fan-in·fan-out) ≤ 2^22; may be lowered to save memory).
    """

    def __init__(self, architecture: Architecture, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.architecture = architecture
        self.num_experts = architecture.experts
        self.router: Any = architecture.kind.module(architecture, generator)  # route, top
        sizes = architecture.layer_sizes()
        self.weights = nn.ParameterList(
            _uniform((self.num_experts, o, i), i, generator) for i, o in sizes
        )
        self.biases = nn.ParameterList(
            _uniform((self.num_experts, o), i, generator) for i, o in sizes
        )
        if architecture.activation == "prelu":
            for j, width in enumerate(architecture.hidden):
                slope = torch.full((self.num_experts, width), DEFAULT_SLOPE)
                if architecture.trainable_slopes:
                    self.register_parameter(f"slope{j}", nn.Parameter(slope))
                else:
                    self.register_buffer(f"slope{j}", slope)
        self.chunk_size = max(1, CHUNK_ELEMENTS // max(i * o for i, o in sizes))

    def slopes(self) -> list[torch.Tensor]:
        """The stacked (E, width) PReLU slopes per hidden layer ([] for ReLU)."""
        if self.architecture.activation != "prelu":
            return []
        return [getattr(self, f"slope{j}") for j in range(self.architecture.depth)]

    def expert_parameters(self, k: int) -> list[torch.Tensor]:
        """Views of expert k's parameters: each layer's weight and bias, then trainable slopes."""
        if not 0 <= k < self.num_experts:
            raise SizeError(f"expert index {k} outside 0..{self.num_experts - 1}")
        affine = [t[k] for pair in zip(self.weights, self.biases, strict=True) for t in pair]
        slopes = [s[k] for s in self.slopes()] if self.architecture.trainable_slopes else []
        return affine + slopes

    def expert_numel(self) -> int:
        """Parameters of one expert (= ``architecture.counts().per_expert``)."""
        return sum(t.numel() for t in self.expert_parameters(0))

    def expert_nonzero(self) -> torch.Tensor:
        """Number of nonzero parameters of each expert, a long tensor (E,)."""
        stacked = [*self.weights, *self.biases]
        if self.architecture.trainable_slopes:
            stacked += self.slopes()
        return sum(t.detach().reshape(self.num_experts, -1).count_nonzero(1) for t in stacked)

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """Expert index per row of ``x`` (n, d) — the top-1 expert for a top-k router."""
        return self.router.route(self._check_input(x))

    def expert_forward(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """f_{idx_i}(x_i) per row: x (n, d), idx (n,) → (n, output_dim). When the experts
        used get at least :data:`GROUP_MIN` inputs each on average, each expert runs once on
        its inputs (dense matrix products); otherwise the experts' weights are gathered per
        input and applied in chunks of inputs (batched products)."""
        used, counts = torch.unique(idx, return_counts=True)
        if len(x) >= GROUP_MIN * len(used):
            out = x.new_empty(len(x), self.architecture.output_dim)
            rows = torch.argsort(idx).split(counts.tolist())
            for k, part in zip(used.tolist(), rows, strict=True):
                out[part] = self._one_expert(x[part], k)
            return out
        step = self.chunk_size
        return torch.cat(
            [
                self._expert_chunk(xs, ks)
                for xs, ks in zip(x.split(step), idx.split(step), strict=True)
            ]
        )

    def _one_expert(self, x: torch.Tensor, k: int) -> torch.Tensor:
        h = x
        slopes = self.slopes()
        for j, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.addmm(bias[k], h, weight[k].T)
            if j < self.architecture.depth:
                h = torch.relu(h) if not slopes else torch.where(h >= 0, h, slopes[j][k] * h)
        return h

    def _expert_chunk(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        h = x
        slopes = self.slopes()
        for j, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            # index_select, not weight[idx]: advanced indexing of a large stacked tensor can
            # take milliseconds even for a few rows
            h = torch.baddbmm(
                bias.index_select(0, idx).unsqueeze(2), weight.index_select(0, idx), h.unsqueeze(2)
            ).squeeze(2)
            if j < self.architecture.depth:
                h = (
                    torch.relu(h)
                    if not slopes
                    else torch.where(h >= 0, h, slopes[j].index_select(0, idx) * h)
                )
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mixture output (n, output_dim) for inputs x (n, d)."""
        x = self._check_input(x)
        if not self.architecture.kind.mixes:
            return self.expert_forward(x, self.router.route(x))
        indices, scores = self.router.top(x)
        (n, k), d = indices.shape, x.shape[1]
        repeated = x.unsqueeze(1).expand(n, k, d).reshape(n * k, d)
        outputs = self.expert_forward(repeated, indices.reshape(n * k))
        outputs = outputs.reshape(n, k, self.architecture.output_dim)
        return (torch.softmax(scores, dim=1).unsqueeze(2) * outputs).sum(1)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.architecture.dim:
            raise SizeError(
                f"input must have shape (n, {self.architecture.dim}), got {tuple(x.shape)}"
            )
        return x


def _uniform(shape: tuple[int, ...], fan_in: int, generator: torch.Generator) -> nn.Parameter:
    """``nn.Linear``'s default initialisation, uniform on ±1/√fan-in, from ``generator``."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=generator))


def realise(arch: Architecture, seed: int = 0) -> MoEMLP:
    """The torch module of ``arch``, initialised from ``seed``; its parameter numel sums equal
    ``arch.counts()`` exactly.

    Example::

        >>> m = realise(Architecture(dim=1, experts=2, hidden=(3,), router="prototype"))
        >>> count_parameters(m)["total"]
        22
    """
    if not isinstance(arch, Architecture):
        raise SizeError(f"realise needs an Architecture, got {type(arch).__name__}")
    return MoEMLP(arch, seed)


def parameter_shapes(arch: Architecture) -> dict[str, tuple[int, ...]]:
    """Parameter name → shape of ``realise(arch)``.

    Example::

        >>> parameter_shapes(Architecture(dim=1, experts=1, hidden=(), router="none"))
        {'weights.0': (1, 1, 1), 'biases.0': (1, 1)}
    """
    e = arch.experts
    shapes = {f"router.{name}": shape for name, shape in arch.kind.shapes(arch).items()}
    for j, (i, o) in enumerate(arch.layer_sizes()):
        shapes.update({f"weights.{j}": (e, o, i), f"biases.{j}": (e, o)})
    if arch.trainable_slopes:
        shapes.update({f"slope{j}": (e, w) for j, w in enumerate(arch.hidden)})
    return shapes


def count_parameters(module: nn.Module) -> dict[str, int]:
    """Parameter counts of a torch module: ``total`` = Σ numel, ``nonzero`` = Σ count_nonzero;
    for an :class:`MoEMLP` also ``router``, ``per_expert``, ``active`` = router read per input
    + top_k·per_expert, and ``active_nonzero`` = router read + top_k·max_k nonzero(expert k).

    Example::

        >>> m = realise(Architecture(dim=2, experts=4, hidden=(16, 16), router="prototype"))
        >>> count_parameters(m)["active"]
        345
    """
    params = list(module.parameters())
    counts = {
        "total": sum(p.numel() for p in params),
        "nonzero": sum(int(p.count_nonzero()) for p in params),
    }
    if isinstance(module, MoEMLP):
        arch = module.architecture
        router_active = arch.counts().router_active
        counts.update(
            router=sum(p.numel() for p in module.router.parameters()),
            per_expert=module.expert_numel(),
            active=router_active + arch.top_k * module.expert_numel(),
            active_nonzero=router_active + arch.top_k * int(module.expert_nonzero().max()),
        )
    return counts
