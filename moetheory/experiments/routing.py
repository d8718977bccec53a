"""Hard-routed mixtures of (P)ReLU MLP experts trained in batches.

Two ways to route, each said in every result (reference experiments.md §3):

* **a partition fixed before training** — :func:`grid_cells` (K cells per axis of [0,1]^d,
  the grid router's thresholds k/K) or :func:`kmeans_cells` (Lloyd's algorithm from a k-means++
  start on the training inputs: nearest-prototype cells). Expert k is fitted on the points of
  cell k only — all experts of all models are members of one
  :class:`~moetheory.experiments.batched.StackedMLP`, each member's points gathered and padded
  with a mask — so the mixture's training loss is separable,

      L = Σ_k (n_k / n)·L_k,   L_k = mean over cell k of (f_k(x) − y)²;

  an expert whose cell holds no training point keeps no fit and predicts 0 (reported).
* **a learned linear top-1 router** — :class:`LearnedTop1MoE`: scores s(x) = Wx + b ∈ ℝ^E,
  trained through the soft gate f(x) = Σ_e softmax(s(x))_e f_e(x) (the standard approach) and
  evaluated hard, f(x) = f_{argmax_e s_e(x)}(x).

:func:`fit_mixtures` trains a list of (experts, width, depth) configurations and returns each
as a real :class:`~moetheory.layers.moe.MoEMLP` (float64) whose routing on the training points is
exactly the partition it was trained on, and whose parameter counts are the bounds calculator's
(:meth:`~moetheory.bounds.architecture.Architecture.counts`).

Example::

    >>> grid_cells(torch.tensor([[0.1, 0.7], [0.9, 0.2]]), 2).tolist()
    [1, 2]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from moetheory.bounds.architecture import Architecture
from moetheory.bounds.monotone import integer_root
from moetheory.bounds.routers.modules import nearest
from moetheory.bounds.sizes import check_count
from moetheory.errors import SizeError
from moetheory.experiments.batched import (
    MLPShape,
    StackedMLP,
    TrainResult,
    _seeds,
    train_stacked,
)
from moetheory.layers.moe import MoEMLP, count_parameters, realise


@dataclass(frozen=True)
class Partition(ABC):
    """A partition of the inputs fixed before training: ``kind`` is the architecture router kind
    (:mod:`moetheory.bounds.routers`) that realises it, ``label`` the name every result carries.
    """

    kind: str
    label: str

    @abstractmethod
    def cells(self, x: Tensor, experts: int, seed: int) -> tuple[Tensor, Tensor]:
        """(cell of each training point, the router's tensor for the realised module)."""

    @abstractmethod
    def load(self, module: MoEMLP, routing: Tensor) -> None:
        """Copy the partition into the realised module's router."""

    def min_points(self, experts: int) -> int:
        """The fewest training points the partition can be computed from."""
        return 0


class GridPartition(Partition):
    """K^d equal cells of [0, 1]^d (``experts`` must be a d-th power)."""

    def cells(self, x: Tensor, experts: int, seed: int) -> tuple[Tensor, Tensor]:
        k = integer_root(experts, x.shape[1])
        if k is None:
            raise SizeError(
                f"experts = {experts} is not a {x.shape[1]}-th power; the grid router needs "
                "K cells per axis with K^d = E"
            )
        return grid_cells(x, k), grid_thresholds(k)

    def load(self, module: MoEMLP, routing: Tensor) -> None:
        with torch.no_grad():
            for thresholds in module.router.thresholds:
                thresholds.copy_(routing)


class KMeansPartition(Partition):
    """The Voronoi cells of k-means prototypes of the training inputs."""

    def cells(self, x: Tensor, experts: int, seed: int) -> tuple[Tensor, Tensor]:
        if experts > x.shape[0]:
            raise SizeError(
                f"experts = {experts} exceeds the {x.shape[0]} training points of k-means"
            )
        centres, labels = kmeans_cells(x, experts, seed=seed)
        return labels, centres

    def load(self, module: MoEMLP, routing: Tensor) -> None:
        with torch.no_grad():
            module.router.prototypes.copy_(routing)

    def min_points(self, experts: int) -> int:
        return experts  # one training point per prototype at least


PARTITIONS: dict[str, Partition] = {
    "grid": GridPartition("grid", "grid"),
    "prototype": KMeansPartition("prototype", "kmeans-prototype"),
}
"""The fixed partitions of :func:`fit_mixtures`, by its ``router`` argument."""
LEARNED = "learned"
LEARNED_LABEL = "learned-top1 (trained soft, evaluated hard)"
ROUTERS = {**{name: p.label for name, p in PARTITIONS.items()}, LEARNED: LEARNED_LABEL}
"""``router`` argument of :func:`fit_mixtures` → the name every result carries."""
KMEANS_ITERATIONS = 100
MEMBER_SEED_STRIDE = 1 << 20
"""Expert k of a configuration with seed s is initialised from seed s·2^20 + k."""


def grid_thresholds(cells: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """The K − 1 thresholds k/K of one axis (computed in ``dtype``).

    Example::

        >>> grid_thresholds(4).tolist()
        [0.25, 0.5, 0.75]
    """
    return torch.arange(1, cells, dtype=dtype) / cells


def grid_cells(x: Tensor, cells_per_axis: int | Sequence[int]) -> Tensor:
    """Cell index of each point of x [n, d] in the grid of K_i cells on axis i of [0,1]^d:

        idx_i = #{k : k/K_i ≤ x_i} = min(⌊K_i x_i⌋, K_i − 1) on [0,1],
        idx = Σ_i idx_i·∏_{j>i} K_j   (row-major, the grid router's numbering).

    Points outside [0,1]^d go to the nearest boundary cell. A long tensor [n].

    Example::

        >>> grid_cells(torch.tensor([[0.0], [0.5], [1.0]]), 2).tolist()
        [0, 1, 1]
    """
    if x.ndim != 2:
        raise SizeError(f"points must be [n, d], got {list(x.shape)}")
    d = x.shape[1]
    cells = [cells_per_axis] * d if isinstance(cells_per_axis, int) else list(cells_per_axis)
    if len(cells) != d:
        raise SizeError(f"grid has {len(cells)} axes, points have d = {d}")
    cells = [check_count("grid cells per axis", k) for k in cells]
    index = torch.zeros(len(x), dtype=torch.long, device=x.device)
    for i, k in enumerate(cells):
        thresholds = grid_thresholds(k, x.dtype).to(x.device)
        index = index * k + torch.searchsorted(thresholds, x[:, i].contiguous(), right=True)
    return index


def kmeans_cells(
    x: Tensor, k: int, seed: int = 0, iterations: int = KMEANS_ITERATIONS
) -> tuple[Tensor, Tensor]:
    """k-means of the points x [n, d]: (centres [k, d], labels [n]), deterministic given the
    seed. k-means++ start (first centre uniform, each next one drawn with probability ∝ squared
    distance to the nearest chosen centre, from ``torch.Generator().manual_seed(seed)``), then
    Lloyd's iterations c_j ← mean{x_i : label_i = j} until the labels stop changing (at most
    ``iterations``); a centre that loses every point stays where it is. Computed in float64 on
    x's device; the labels are finally recomputed as the nearest centre (lowest index on ties)
    exactly as the prototype router routes, so routing the training points with the returned
    centres reproduces the labels.

    Example::

        >>> pts = torch.tensor([[0.0], [0.1], [0.9], [1.0]], dtype=torch.float64)
        >>> c, lab = kmeans_cells(pts, 2, seed=0)
        >>> sorted(c.flatten().tolist()), lab[0] == lab[1], lab[1] != lab[2]
        ([0.05, 0.95], tensor(True), tensor(True))
    """
    if x.ndim != 2:
        raise SizeError(f"points must be [n, d], got {list(x.shape)}")
    k = check_count("k-means clusters", k)
    n = len(x)
    if k > n:
        raise SizeError(f"k-means needs at least k = {k} points, got {n}")
    pts = x.detach().to(torch.float64)
    gen = torch.Generator().manual_seed(seed)
    chosen = [int(torch.randint(n, (1,), generator=gen))]
    closest = ((pts - pts[chosen[0]]) ** 2).sum(1)
    for _ in range(1, k):
        weights = closest.cpu()
        if float(weights.sum()) <= 0:  # fewer distinct points than k: any unused point
            unused = torch.ones(n, dtype=torch.bool)
            unused[chosen] = False
            weights = unused.to(torch.float64)
        pick = int(torch.multinomial(weights, 1, generator=gen))
        chosen.append(pick)
        closest = torch.minimum(closest, ((pts - pts[pick]) ** 2).sum(1))
    centres = pts[chosen].clone()
    labels = _nearest(pts, centres)
    for _ in range(iterations):
        sums = torch.zeros_like(centres).index_add_(0, labels, pts)
        counts = torch.bincount(labels, minlength=k).to(torch.float64)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled].unsqueeze(1)
        new = _nearest(pts, centres)
        if torch.equal(new, labels):
            break
        labels = new
    return centres, _nearest(pts, centres)


def _nearest(x: Tensor, centres: Tensor) -> Tensor:
    """Nearest centre per row, as :class:`~moetheory.bounds.routers.modules.PrototypeRouter`
    computes it (chunked)."""
    step = max(1, (1 << 22) // max(1, centres.numel()))
    return torch.cat([nearest(part, centres) for part in x.split(step)])


class LearnedTop1MoE(nn.Module):
    """B mixtures, each a linear router (E scores Wx + b) and E (P)ReLU MLP experts.

    The B·E experts are one :class:`~moetheory.experiments.batched.StackedMLP` (member
    b·E + e is expert e of model b; the models' widths may differ, padded as there). Model b is
    initialised from ``torch.Generator().manual_seed(seed_b)``: the router weight (E, d) and
    bias (E) uniform on ±1/√d (``nn.Linear``'s default), then experts 0..E−1 as
    :func:`~moetheory.experiments.batched.init_member`. Trained through the softmax gate
    (:meth:`forward_soft`, also ``forward``), evaluated hard (:meth:`forward_hard`).

    Counts per model (router "linear", top-1; equal to ``Architecture.counts()``)::

        total = E(d + 1) + E·P_expert,   active = E(d + 1) + P_expert.

    Example::

        >>> m = LearnedTop1MoE([MLPShape(2, (4,), 1)], experts=3, seed=0)
        >>> m.counts_per_model()[0]["total"], m.forward_hard(torch.rand(5, 2)).shape
        (60, torch.Size([1, 5, 1]))
    """

    def __init__(
        self,
        shapes: Sequence[MLPShape],
        experts: int,
        *,
        seed: int | Sequence[int] = 0,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        shapes = list(shapes)
        if not shapes:
            raise SizeError("a stack needs at least one model")
        self.shapes = shapes
        self.batch = len(shapes)
        self.experts = check_count("experts", experts)
        d = shapes[0].d_in
        self.dim = d
        gens = [torch.Generator().manual_seed(s) for s in _seeds(seed, self.batch)]
        bound = 1.0 / math.sqrt(d)
        weight = torch.empty(self.batch, self.experts, d, dtype=dtype)
        bias = torch.empty(self.batch, self.experts, dtype=dtype)
        for b, gen in enumerate(gens):
            weight[b].uniform_(-bound, bound, generator=gen)
            bias[b].uniform_(-bound, bound, generator=gen)
        self.router_weight = nn.Parameter(weight.to(device))
        self.router_bias = nn.Parameter(bias.to(device))
        member_gens = [gen for gen in gens for _ in range(self.experts)]
        self.experts_stack = StackedMLP(
            [s for s in shapes for _ in range(self.experts)],
            dtype=dtype,
            device=device,
            generators=member_gens,
        )

    def scores(self, x: Tensor) -> Tensor:
        """Router scores [B, n, E] for x [n, d] (shared) or [B, n, d]."""
        if x.ndim == 2:
            return torch.matmul(x, self.router_weight.transpose(1, 2)) + self.router_bias.unsqueeze(
                1
            )
        return torch.baddbmm(self.router_bias.unsqueeze(1), x, self.router_weight.transpose(1, 2))

    def _expert_outputs(self, x: Tensor) -> Tensor:
        """Every expert on every point: [B, E, n, o]."""
        if x.ndim == 3:
            b, n, d = x.shape
            x = x.unsqueeze(1).expand(b, self.experts, n, d).reshape(b * self.experts, n, d)
        out = self.experts_stack(x)
        return out.reshape(self.batch, self.experts, *out.shape[1:])

    def forward_soft(self, x: Tensor) -> Tensor:
        """Σ_e softmax(s(x))_e f_e(x): [B, n, o] (the training objective's mixture)."""
        gate = torch.softmax(self.scores(x), dim=-1)
        return torch.einsum("bne,beno->bno", gate, self._expert_outputs(x))

    def forward_hard(self, x: Tensor) -> Tensor:
        """f_{argmax_e s_e(x)}(x): [B, n, o] (every expert computed; for evaluation)."""
        idx = self.route(x)
        out = self._expert_outputs(x)
        gather = idx.unsqueeze(1).unsqueeze(3).expand(-1, 1, -1, out.shape[3])
        return out.gather(1, gather).squeeze(1)

    def route(self, x: Tensor) -> Tensor:
        """The top-1 expert of each point of each model: [B, n]."""
        return self.scores(x).argmax(-1)

    forward = forward_soft

    def counts_per_model(self) -> list[dict[str, int]]:
        """Exact counts per model: ``total``, ``active``, ``router``, ``per_expert``."""
        router = self.experts * (self.dim + 1)
        return [
            {
                "total": router + self.experts * s.parameters(),
                "active": router + s.parameters(),
                "router": router,
                "per_expert": s.parameters(),
            }
            for s in self.shapes
        ]

    def parameters_per_model(self) -> list[int]:
        """Total parameters of each model."""
        return [c["total"] for c in self.counts_per_model()]

    def select(self, b: int) -> LearnedTop1MoE:
        """Model b alone as a stack of one (unpadded copy)."""
        if not 0 <= b < self.batch:
            raise SizeError(f"model index {b} outside 0..{self.batch - 1}")
        single = LearnedTop1MoE(
            [self.shapes[b]],
            self.experts,
            dtype=self.router_weight.dtype,
            device=self.router_weight.device,
        )
        single.assign(0, self, source=b)
        return single

    def assign(self, b: int, other: LearnedTop1MoE, source: int = 0) -> None:
        """Overwrite model b with model ``source`` of ``other`` (same shape and E)."""
        if other.shapes[source] != self.shapes[b] or other.experts != self.experts:
            raise SizeError("assign needs the same expert shape and number of experts")
        with torch.no_grad():
            self.router_weight[b] = other.router_weight[source]
            self.router_bias[b] = other.router_bias[source]
            for e in range(self.experts):
                self.experts_stack.assign(
                    b * self.experts + e, other.experts_stack, source=source * self.experts + e
                )

    def architecture(self, b: int) -> Architecture:
        """Model b's :class:`Architecture` (router ``linear``, top-1)."""
        s = self.shapes[b]
        return Architecture(
            dim=self.dim,
            experts=self.experts,
            hidden=s.widths,
            activation=s.activation,
            router="linear",
            top_k=1,
            output_dim=s.d_out,
        )

    def to_moe(self, b: int) -> MoEMLP:
        """Model b as a float64 :class:`MoEMLP` (linear router, top-1: the hard predictor)."""
        module = realise(self.architecture(b)).double()
        with torch.no_grad():
            module.router.linear.weight.copy_(self.router_weight[b])
            module.router.linear.bias.copy_(self.router_bias[b])
        members = [
            self.experts_stack.member_tensors(b * self.experts + e) for e in range(self.experts)
        ]
        _load_experts(module, members, [True] * self.experts)
        return module.eval()


def _load_experts(
    module: MoEMLP, members: Sequence[Sequence[Tensor]], fitted: Sequence[bool]
) -> None:
    """Copy each expert's tensors (init_member order) into ``module``; an expert that was not
    fitted gets all-zero weights (it predicts 0)."""
    layers = len(module.weights)
    slopes = module.slopes()
    with torch.no_grad():
        for k, (tensors, ok) in enumerate(zip(members, fitted, strict=True)):
            for j in range(layers):
                module.weights[j][k] = tensors[2 * j].cpu() if ok else 0
                module.biases[j][k] = tensors[2 * j + 1].cpu() if ok else 0
            for j, s in enumerate(slopes):
                s[k] = tensors[2 * layers + j].cpu()


def _config(raw: Mapping[str, Any], index: int, seed: int) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        raise SizeError(f"configuration {index} must be a mapping, got {type(raw).__name__}")
    for key in ("experts", "width", "depth"):
        if key not in raw:
            raise SizeError(f"configuration {index} has no {key!r}")
    return {
        "experts": check_count("experts", raw["experts"]),
        "width": check_count("width", raw["width"]),
        "depth": check_count("depth", raw["depth"], minimum=0),
        "seed": int(raw.get("seed", seed)),
    }


def fit_mixtures(
    configs: Sequence[Mapping[str, Any]],
    x_train: Tensor,
    y_train: Tensor,
    *,
    router: str,
    steps: int = 2000,
    lr: float = 1e-2,
    seed: int = 0,
    device: torch.device | str | None = None,
    activation: str = "relu",
    dtype: torch.dtype = torch.float32,
    schedule: str = "cosine",
    lbfgs_polish: int = 0,
) -> list[dict[str, Any]]:
    """Train hard-routed mixtures, one per configuration {"experts", "width", "depth"[, "seed"]}
    (seed defaults to ``seed``), on x_train [n, d] ⊂ [0,1]^d, y_train [n] or [n, 1], by MSE.

    ``router``: ``grid`` (E = K^d, :func:`grid_cells`), ``prototype`` (:func:`kmeans_cells`
    with the configuration's seed) — partitions fixed before training, each expert fitted on its
    cell — or ``learned`` (:class:`LearnedTop1MoE`). Configurations are batched: fixed-partition
    experts by depth and cell-size class, learned mixtures by (E, depth); each group is one
    :func:`~moetheory.experiments.batched.train_stacked` call. Expert k of a configuration with
    seed s starts from seed s·2^20 + k (fixed partitions) or is drawn after the router from seed s
    (learned).

    Returns per configuration a dict: ``experts``, ``width``, ``depth``, ``seed``, ``router``
    (``grid`` / ``kmeans-prototype`` / ``learned-top1 (trained soft, evaluated hard)``),
    ``predictor`` (a float64 :class:`MoEMLP`: [n, d] → [n, 1], hard routing), ``parameters``
    {``total``, ``active``} counted on it, ``loss`` (final training objective: the mixture's MSE
    for fixed partitions, the soft mixture's MSE for ``learned``), ``loss_hard`` (MSE of the
    predictor on the training points), ``converged`` (every fitted expert, or the model),
    ``empty_experts`` (experts with no training point: they predict 0 for fixed partitions and
    never win for ``learned``), ``architecture`` and ``train_seconds`` (its group's).

    Example::

        >>> x = torch.rand(64, 1, generator=torch.Generator().manual_seed(0))
        >>> r = fit_mixtures([{"experts": 2, "width": 4, "depth": 1}], x, x[:, 0].abs(),
        ...                  router="grid", steps=50)
        >>> r[0]["router"], r[0]["parameters"]
        ('grid', {'total': 27, 'active': 14})
    """
    if router not in ROUTERS:
        raise SizeError(f"router must be one of {', '.join(ROUTERS)}, got {router!r}")
    if x_train.ndim != 2:
        raise SizeError(f"x_train must be [n, d], got {list(x_train.shape)}")
    n, d = x_train.shape
    y = y_train.reshape(n, -1) if y_train.numel() == n else None
    if y is None:
        raise SizeError(f"y_train must be [{n}] or [{n}, 1], got {list(y_train.shape)}")
    cfgs = [_config(c, i, seed) for i, c in enumerate(configs)]
    if router == LEARNED:
        return _fit_learned(
            cfgs,
            x_train,
            y,
            steps=steps,
            lr=lr,
            device=device,
            activation=activation,
            dtype=dtype,
            schedule=schedule,
            lbfgs_polish=lbfgs_polish,
        )
    return _fit_fixed(
        cfgs,
        x_train,
        y,
        router=router,
        steps=steps,
        lr=lr,
        device=device,
        activation=activation,
        dtype=dtype,
        schedule=schedule,
        lbfgs_polish=lbfgs_polish,
    )


def _architecture(cfg: Mapping[str, int], d: int, activation: str, router: str) -> Architecture:
    return Architecture(
        dim=d,
        experts=cfg["experts"],
        hidden=(cfg["width"],) * cfg["depth"],
        activation=activation,
        router=router,
    )


def _hard_mse(module: MoEMLP, x: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return float((module(x.double().cpu()) - y.double().cpu()).square().mean())


def _fit_fixed(
    cfgs: list[dict[str, int]],
    x: Tensor,
    y: Tensor,
    *,
    router: str,
    steps: int,
    lr: float,
    device: torch.device | str | None,
    activation: str,
    dtype: torch.dtype,
    schedule: str,
    lbfgs_polish: int,
) -> list[dict[str, Any]]:
    n, d = x.shape
    x64 = x.detach().to(torch.float64).cpu()
    partition = PARTITIONS[router]
    # per config: (labels, routing tensor for the module)
    partitions = [partition.cells(x64, cfg["experts"], cfg["seed"]) for cfg in cfgs]
    # group the configurations: same depth, max cell size within a factor 2
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for c, (labels, _) in enumerate(partitions):
        largest = int(torch.bincount(labels, minlength=cfgs[c]["experts"]).max())
        groups[(cfgs[c]["depth"], max(1, largest).bit_length())].append(c)
    results: list[dict[str, Any] | None] = [None] * len(cfgs)
    for members in groups.values():
        shapes, seeds, cells = [], [], []
        for c in members:
            cfg = cfgs[c]
            shape = MLPShape(d, (cfg["width"],) * cfg["depth"], 1, activation)
            for k in range(cfg["experts"]):
                shapes.append(shape)
                seeds.append(cfg["seed"] * MEMBER_SEED_STRIDE + k)
            cells.append(torch.bincount(partitions[c][0], minlength=cfg["experts"]))
        counts = torch.cat(cells)
        width = max(1, int(counts.max()))
        xs = torch.zeros(len(shapes), width, d, dtype=torch.float64)
        ys = torch.zeros(len(shapes), width, 1, dtype=torch.float64)
        mask = torch.zeros(len(shapes), width, dtype=torch.bool)
        offset = 0
        for c in members:
            labels = partitions[c][0]
            order = torch.argsort(labels, stable=True)
            sorted_labels = labels[order]
            starts = torch.cumsum(torch.bincount(labels, minlength=cfgs[c]["experts"]), 0)
            starts = starts - torch.bincount(labels, minlength=cfgs[c]["experts"])
            rank = torch.arange(n) - starts[sorted_labels]
            rows = offset + sorted_labels
            xs[rows, rank] = x64[order]
            ys[rows, rank] = y.detach().to(torch.float64).cpu()[order]
            mask[rows, rank] = True
            offset += cfgs[c]["experts"]
        net = StackedMLP(shapes, seed=seeds, dtype=dtype, device=device)
        result = train_stacked(
            net, xs, ys, mask=mask, steps=steps, lr=lr, schedule=schedule, lbfgs_polish=lbfgs_polish
        )
        offset = 0
        for c in members:
            cfg = cfgs[c]
            e = cfg["experts"]
            part = slice(offset, offset + e)
            n_k, loss_k, conv_k = counts[part], result.loss[part], result.converged[part]
            fitted = n_k > 0
            arch = _architecture(cfg, d, activation, partition.kind)
            module = realise(arch, seed=cfg["seed"]).double()
            partition.load(module, partitions[c][1])
            _load_experts(
                module, [net.member_tensors(offset + k) for k in range(e)], fitted.tolist()
            )
            module.eval().requires_grad_(False)
            counted = count_parameters(module)
            results[c] = {
                **cfg,
                "router": partition.label,
                "predictor": module,
                "parameters": {"total": counted["total"], "active": counted["active"]},
                "loss": float((n_k.double() * loss_k).sum() / n),
                "loss_hard": _hard_mse(module, x64, y),
                "converged": bool(conv_k[fitted].all()),
                "empty_experts": int((~fitted).sum()),
                "architecture": arch.to_json(),
                "train_seconds": result.seconds,
            }
            offset += e
    return [r for r in results if r is not None]


def _fit_learned(
    cfgs: list[dict[str, int]],
    x: Tensor,
    y: Tensor,
    *,
    steps: int,
    lr: float,
    device: torch.device | str | None,
    activation: str,
    dtype: torch.dtype,
    schedule: str,
    lbfgs_polish: int,
) -> list[dict[str, Any]]:
    n, d = x.shape
    x64 = x.detach().to(torch.float64).cpu()
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for c, cfg in enumerate(cfgs):
        groups[(cfg["experts"], cfg["depth"])].append(c)
    results: list[dict[str, Any] | None] = [None] * len(cfgs)
    for (experts, depth), members in groups.items():
        shapes = [MLPShape(d, (cfgs[c]["width"],) * depth, 1, activation) for c in members]
        model = LearnedTop1MoE(
            shapes, experts, seed=[cfgs[c]["seed"] for c in members], dtype=dtype, device=device
        )
        result: TrainResult = train_stacked(
            model, x, y, steps=steps, lr=lr, schedule=schedule, lbfgs_polish=lbfgs_polish
        )
        for i, c in enumerate(members):
            module = model.to_moe(i).requires_grad_(False)
            counted = count_parameters(module)
            used = torch.bincount(module.route(x64), minlength=experts)
            results[c] = {
                **cfgs[c],
                "router": LEARNED_LABEL,
                "predictor": module,
                "parameters": {"total": counted["total"], "active": counted["active"]},
                "loss": float(result.loss[i]),
                "loss_hard": _hard_mse(module, x64, y),
                "converged": bool(result.converged[i]),
                "empty_experts": int((used == 0).sum()),
                "architecture": model.architecture(i).to_json(),
                "train_seconds": result.seconds,
            }
    return [r for r in results if r is not None]


__all__ = ["LearnedTop1MoE", "fit_mixtures", "grid_cells", "grid_thresholds", "kmeans_cells"]
