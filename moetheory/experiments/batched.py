"""Batched training of many small (P)ReLU MLPs as one tensor program.

B independent MLPs are stored stacked along a leading axis — layer j of model b has a weight
W_j[b] (fan-out × fan-in) and a bias b_j[b] — and evaluated together with batched matrix
products (the layout of :class:`~moetheory.layers.moe.MoEMLP`'s experts):

    h₀ = x[b],   h_j = σ(h_{j−1} W_j[b]ᵀ + b_j[b])  (j ≤ J),   f_b(x) = h_J W_{J+1}[b]ᵀ + b_{J+1}[b]

with σ = ReLU or PReLU (one slope per hidden unit). Models of one depth but different widths
share a stack: every hidden layer is padded to the largest width with units whose weights are
masked to zero in the forward pass, so each model computes exactly its own function and its
gradients on the padding are zero. :func:`train_stacked` runs one Adam over the stacked
parameters on the **sum** of the per-model losses,

    L(θ) = Σ_b L_b(θ_b),   ∂L/∂θ_b = ∂L_b/∂θ_b,

which is B independent Adam runs because Adam acts coordinate by coordinate (reference
experiments.md §3). Each model's initial weights are drawn from its own ``torch.Generator``,
so a model trained in a batch equals the same model trained alone.

Speed (``benchmarks/batched_training.py``, 2 shared CPU cores, one torch thread, float32):
64 models of widths 4–16 on 256 points each train 13–15× faster than a loop of ordinary
``nn.Sequential`` + Adam runs, 256 models on 32 points 70×; a step is bound by memory traffic
over the padded activations [B, width, n], the loop by per-step overhead, so the gain grows
with the number of models and shrinks with the points and widths per model.

Example::

    >>> net = StackedMLP([MLPShape(1, (3,), 1), MLPShape(1, (5,), 1)], seed=[0, 1])
    >>> net.parameters_per_model(), net(torch.zeros(2, 4, 1)).shape
    ([10, 16], torch.Size([2, 4, 1]))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from moetheory.bounds.sizes import check_count
from moetheory.errors import SizeError

ACTIVATIONS = ("relu", "prelu")
SCHEDULES = ("cosine", "constant", "step")
LOSSES = ("mse", "hinge", "logistic")
DEFAULT_SLOPE = 0.25  # nn.PReLU's default initial slope
LOSS_FLOOR = 1e-12
"""Denominator floor of the relative loss change that decides convergence (a loss below it is
treated as this size, so a model that has driven its loss to ~0 counts as converged)."""


@dataclass(frozen=True)
class MLPShape:
    """The shape of one (P)ReLU MLP: input dimension, hidden widths (depth J = their number;
    J = 0 is affine), output dimension, activation (``relu``, or ``prelu`` with one trainable
    slope per hidden unit).

    parameters = Σ_j (fan-in_j + 1)·fan-out_j  (+ Σ widths for PReLU slopes).

    Example::

        >>> MLPShape(2, (16, 16), 1).parameters(), MLPShape(2, (16, 16), 1, "prelu").parameters()
        (337, 369)
    """

    d_in: int
    widths: tuple[int, ...]
    d_out: int
    activation: str = "relu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "d_in", check_count("input dimension", self.d_in))
        object.__setattr__(self, "d_out", check_count("output dimension", self.d_out))
        object.__setattr__(self, "widths", tuple(check_count("width", w) for w in self.widths))
        if self.activation not in ACTIVATIONS:
            raise SizeError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )

    @property
    def depth(self) -> int:
        """J, the number of hidden layers."""
        return len(self.widths)

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(fan-in, fan-out) of each affine layer."""
        sizes = [self.d_in, *self.widths, self.d_out]
        return list(zip(sizes[:-1], sizes[1:], strict=True))

    def parameters(self) -> int:
        """Exact dense parameter count: weights + biases + PReLU slopes (= torch numel)."""
        affine = sum((i + 1) * o for i, o in self.layer_sizes())
        return affine + (sum(self.widths) if self.activation == "prelu" else 0)


def _seeds(seed: int | Sequence[int], count: int) -> list[int]:
    if isinstance(seed, int):
        return [int(seed) + b for b in range(count)]
    seeds = [int(s) for s in seed]
    if len(seeds) != count:
        raise SizeError(f"got {len(seeds)} seeds for {count} models")
    return seeds


def init_member(shape: MLPShape, generator: torch.Generator, dtype: torch.dtype) -> list[Tensor]:
    """Initial parameters of one MLP drawn from ``generator`` on the CPU: per affine layer the
    weight (fan-out, fan-in) then the bias (fan-out), uniform on ±1/√fan-in (``nn.Linear``'s
    default), then the PReLU slopes (0.25, no draw). A function of the generator's state, the
    shape and the dtype only.

    Example::

        >>> gen = torch.Generator().manual_seed(0)
        >>> [tuple(t.shape) for t in init_member(MLPShape(2, (3,), 1), gen, torch.float64)]
        [(3, 2), (3,), (1, 3), (1,)]
    """
    tensors = []
    for fan_in, fan_out in shape.layer_sizes():
        bound = 1.0 / math.sqrt(fan_in)
        for size in ((fan_out, fan_in), (fan_out,)):
            tensors.append(
                torch.empty(size, dtype=dtype).uniform_(-bound, bound, generator=generator)
            )
    if shape.activation == "prelu":
        tensors += [torch.full((w,), DEFAULT_SLOPE, dtype=dtype) for w in shape.widths]
    return tensors


class StackedMLP(nn.Module):
    """B independent (P)ReLU MLPs of one depth, stacked and evaluated with batched products.

    Every hidden layer is padded to the largest width among the models; padded units have zero
    weights, are masked in the forward pass (so their gradients are zero and they stay zero),
    and so model b computes exactly the function of ``model(b)`` and has exactly
    ``shapes[b].parameters()`` parameters. ``seed`` is one seed per model (an int s means
    s, s + 1, …, s + B − 1); model b's initial weights are :func:`init_member` of
    ``torch.Generator().manual_seed(seed_b)`` — a function of its own seed, shape and dtype only,
    drawn on the CPU whatever the device. ``generators`` (one per model) replaces the seeds.

    Attributes: ``shapes``, ``batch`` (B), ``weights`` / ``biases`` (stacked (B, out, in) and
    (B, out) per affine layer), ``slopes`` (stacked (B, width) per hidden layer, PReLU only).

    Example::

        >>> net = StackedMLP([MLPShape(2, (4,), 1)] * 3, seed=7)
        >>> net(torch.rand(5, 2)).shape   # one x shared by all models
        torch.Size([3, 5, 1])
    """

    def __init__(
        self,
        shapes: Sequence[MLPShape],
        *,
        seed: int | Sequence[int] = 0,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        generators: Sequence[torch.Generator] | None = None,
    ) -> None:
        super().__init__()
        shapes = list(shapes)
        if not shapes:
            raise SizeError("a stack needs at least one model")
        first = shapes[0]
        for s in shapes:
            if not isinstance(s, MLPShape):
                raise SizeError(f"shapes must be MLPShape, got {type(s).__name__}")
            if (s.d_in, s.d_out, s.depth, s.activation) != (
                first.d_in,
                first.d_out,
                first.depth,
                first.activation,
            ):
                raise SizeError(
                    "models of one stack share input and output dimension, depth and "
                    f"activation: {s} differs from {first}"
                )
        self.shapes = shapes
        self.batch = len(shapes)
        self.activation = first.activation
        self.depth = first.depth
        if generators is None:
            generators = [torch.Generator().manual_seed(s) for s in _seeds(seed, self.batch)]
        elif len(generators) != self.batch:
            raise SizeError(f"got {len(generators)} generators for {self.batch} models")
        self.max_widths = tuple(max(s.widths[j] for s in shapes) for j in range(self.depth))
        sizes = [first.d_in, *self.max_widths, first.d_out]
        padded = list(zip(sizes[:-1], sizes[1:], strict=True))
        b_count = self.batch
        weights = [torch.zeros(b_count, o, i, dtype=dtype) for i, o in padded]
        biases = [torch.zeros(b_count, o, dtype=dtype) for i, o in padded]
        slopes = [torch.zeros(b_count, w, dtype=dtype) for w in self.max_widths]
        for b, (shape, gen) in enumerate(zip(shapes, generators, strict=True)):
            self._write(b, shape, init_member(shape, gen, dtype), weights, biases, slopes)
        self.weights = nn.ParameterList(nn.Parameter(w.to(device)) for w in weights)
        self.biases = nn.ParameterList(nn.Parameter(b.to(device)) for b in biases)
        self.slopes = nn.ParameterList(
            nn.Parameter(s.to(device)) for s in (slopes if self.activation == "prelu" else [])
        )
        # masks of the real units (None where no model is padded in that layer)
        self._padded = any(s.widths != self.max_widths for s in shapes)
        self._weight_masks: list[Tensor | None] = []
        self._bias_masks: list[Tensor | None] = []
        if self._padded:
            for j, (fan_in, fan_out) in enumerate(padded):
                units_out = torch.zeros(b_count, fan_out, dtype=dtype)
                units_in = torch.zeros(b_count, fan_in, dtype=dtype)
                for b, shape in enumerate(shapes):
                    real = shape.layer_sizes()[j]
                    units_in[b, : real[0]] = 1
                    units_out[b, : real[1]] = 1
                wmask = units_out.unsqueeze(2) * units_in.unsqueeze(1)
                need = bool((wmask == 0).any())
                self.register_buffer(f"_wmask{j}", wmask.to(device) if need else None)
                self.register_buffer(
                    f"_bmask{j}", units_out.to(device) if bool((units_out == 0).any()) else None
                )

    @staticmethod
    def _write(
        b: int,
        shape: MLPShape,
        tensors: list[Tensor],
        weights: Sequence[Tensor],
        biases: Sequence[Tensor],
        slopes: Sequence[Tensor],
    ) -> None:
        """Write one model's unpadded tensors (:func:`init_member` order) into slot b."""
        layers = shape.layer_sizes()
        for j, (fan_in, fan_out) in enumerate(layers):
            weights[j][b, :fan_out, :fan_in] = tensors[2 * j]
            biases[j][b, :fan_out] = tensors[2 * j + 1]
        if shape.activation == "prelu":
            for j, width in enumerate(shape.widths):
                slopes[j][b, :width] = tensors[2 * len(layers) + j]

    def _masked(self) -> tuple[list[Tensor], list[Tensor]]:
        weights, biases = list(self.weights), list(self.biases)
        if self._padded:
            for j in range(len(weights)):
                wmask, bmask = getattr(self, f"_wmask{j}"), getattr(self, f"_bmask{j}")
                if wmask is not None:
                    weights[j] = weights[j] * wmask
                if bmask is not None:
                    biases[j] = biases[j] * bmask
        return weights, biases

    def forward(self, x: Tensor) -> Tensor:
        """Outputs [B, n, d_out] of the B models on x [B, n, d_in] (model b on x[b]) or on one
        x [n, d_in] shared by all."""
        if (
            x.ndim not in (2, 3)
            or x.shape[-1] != self.shapes[0].d_in
            or (x.ndim == 3 and x.shape[0] != self.batch)
        ):
            raise SizeError(
                f"input must be [{self.batch}, n, {self.shapes[0].d_in}] or "
                f"[n, {self.shapes[0].d_in}], got {list(x.shape)}"
            )
        weights, biases = self._masked()
        # feature-major activations [B, width, n]: contiguous along the points, so every
        # layer is one batched product W_j[b] @ h[b] and the ReLU runs in place
        h = x.transpose(-1, -2)
        for j, (w, bias) in enumerate(zip(weights, biases, strict=True)):
            if h.ndim == 2:  # shared input [d, n]: broadcast over the stack
                h = torch.matmul(w, h) + bias.unsqueeze(2)
            else:
                h = torch.baddbmm(bias.unsqueeze(2), w, h)
            if j < self.depth:
                if self.activation == "relu":
                    h = torch.relu_(h)
                else:
                    h = torch.where(h >= 0, h, self.slopes[j].unsqueeze(2) * h)
        return h.transpose(1, 2)

    def parameters_per_model(self) -> list[int]:
        """Exact parameter count of each model (= torch numel of ``model(b)``)."""
        return [s.parameters() for s in self.shapes]

    def member_tensors(self, b: int) -> list[Tensor]:
        """Detached copies of model b's unpadded tensors, in :func:`init_member` order."""
        shape = self._shape(b)
        out = []
        for j, (fan_in, fan_out) in enumerate(shape.layer_sizes()):
            out.append(self.weights[j].detach()[b, :fan_out, :fan_in].clone())
            out.append(self.biases[j].detach()[b, :fan_out].clone())
        if self.activation == "prelu":
            out += [self.slopes[j].detach()[b, :w].clone() for j, w in enumerate(shape.widths)]
        return out

    def _shape(self, b: int) -> MLPShape:
        if not 0 <= b < self.batch:
            raise SizeError(f"model index {b} outside 0..{self.batch - 1}")
        return self.shapes[b]

    def model(self, b: int) -> nn.Sequential:
        """Model b as an ordinary ``nn.Sequential`` of ``Linear`` / ``ReLU`` / ``PReLU`` layers
        with its true widths (copies; same dtype and device)."""
        shape = self._shape(b)
        tensors = self.member_tensors(b)
        layers: list[nn.Module] = []
        n_affine = len(shape.layer_sizes())
        for j, (fan_in, fan_out) in enumerate(shape.layer_sizes()):
            lin = nn.Linear(fan_in, fan_out, dtype=tensors[0].dtype, device=tensors[0].device)
            with torch.no_grad():
                lin.weight.copy_(tensors[2 * j])
                lin.bias.copy_(tensors[2 * j + 1])
            layers.append(lin)
            if j < shape.depth:
                if self.activation == "relu":
                    layers.append(nn.ReLU())
                else:
                    act = nn.PReLU(fan_out, dtype=tensors[0].dtype, device=tensors[0].device)
                    with torch.no_grad():
                        act.weight.copy_(tensors[2 * n_affine + j])
                    layers.append(act)
        return nn.Sequential(*layers)

    def select(self, b: int) -> StackedMLP:
        """Model b alone as a stack of one (unpadded copy)."""
        single = StackedMLP(
            [self._shape(b)], seed=0, dtype=self.weights[0].dtype, device=self.weights[0].device
        )
        single.assign(0, self, source=b)
        return single

    def assign(self, b: int, other: StackedMLP, source: int = 0) -> None:
        """Overwrite model b with model ``source`` of ``other`` (same shape)."""
        if other._shape(source) != self._shape(b):
            raise SizeError(f"shape {other.shapes[source]} differs from {self.shapes[b]}")
        with torch.no_grad():
            self._write(
                b,
                self.shapes[b],
                other.member_tensors(source),
                list(self.weights),
                list(self.biases),
                list(self.slopes),
            )


def schedule_factor(schedule: str, step: int, steps: int) -> float:
    """Learning-rate multiplier at 0-based ``step`` of ``steps``: ``constant`` 1; ``cosine``
    ½(1 + cos(π·step/steps)); ``step`` 1, then 0.1 from step ⌊steps/2⌋ and 0.01 from ⌊3·steps/4⌋.

    Example::

        >>> [round(schedule_factor(kind, 2, 4), 3) for kind in ("cosine", "step", "constant")]
        [0.5, 0.1, 1.0]
    """
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * step / steps))
    if schedule == "step":
        return 0.01 if step >= (3 * steps) // 4 else 0.1 if step >= steps // 2 else 1.0
    raise SizeError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")


def per_model_loss(pred: Tensor, y: Tensor, kind: str, weight: Tensor | None = None) -> Tensor:
    """Per-model loss [B] of predictions [B, n, o] against targets y (broadcastable to them):
    ``mse`` mean of (f − y)², ``hinge`` mean of max(0, 1 − y·f), ``logistic`` mean of
    log(1 + e^{−y·f}) (y = ±1), the mean taken over the outputs and the points b selects;
    ``weight`` [B, n] is 1/(count_b·o) on model b's points and 0 elsewhere (None: all points).

    Example::

        >>> per_model_loss(torch.tensor([[[1.0], [3.0]]]), torch.zeros(1, 2, 1), "mse").tolist()
        [5.0]
    """
    if kind == "mse":
        point = (pred - y).square()
    elif kind == "hinge":
        point = torch.relu(1 - y * pred)
    elif kind == "logistic":
        point = nn.functional.softplus(-y * pred)
    else:
        raise SizeError(f"loss must be one of {', '.join(LOSSES)}, got {kind!r}")
    if weight is None:
        return point.mean(dim=(1, 2))
    return (point.sum(2) * weight).sum(1)


@dataclass
class TrainResult:
    """What :func:`train_stacked` returns (per-model tensors on the CPU).

    ``loss`` [B] final training loss (float64); ``converged`` [B] bool: finite and the relative
    change |L_end − L_w| / max(L_w, :data:`LOSS_FLOOR`) over the last 10 % of the run (Adam
    steps then L-BFGS iterations) below ``tol``; ``steps`` Adam steps; ``history``
    [steps // record_every, B] the loss at steps record_every − 1, 2·record_every − 1, …;
    ``points`` [B] training points per model (0: nothing to fit, the model kept its
    initialisation); ``seconds`` wall time.
    """

    loss: Tensor
    converged: Tensor
    steps: int
    history: Tensor
    points: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    seconds: float = 0.0
    polish_iterations: int = 0


def _prepare(
    model: nn.Module, x: Tensor, y: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None, Tensor, int]:
    """Inputs on the model's device and dtype; y as [B|1, n, o]; mask weights [B, n]."""
    param = next(model.parameters())
    x = x.to(device=param.device, dtype=param.dtype)
    y = y.to(device=param.device, dtype=param.dtype)
    with torch.no_grad():
        probe = model(x[..., :1, :])
    batch, out_dim = probe.shape[0], probe.shape[2]
    n = x.shape[-2]
    if y.ndim == 3 and y.shape == (batch, n, out_dim):
        pass
    elif y.ndim == 2 and y.shape == (batch, n) and out_dim == 1:
        y = y.unsqueeze(2)
    elif y.ndim == 2 and y.shape == (n, out_dim):
        y = y.unsqueeze(0)
    elif y.ndim == 1 and y.shape == (n,) and out_dim == 1:
        y = y.reshape(1, n, 1)
    else:
        raise SizeError(
            f"targets must be [{batch}, {n}, {out_dim}], [{n}, {out_dim}] or, with one output, "
            f"[{batch}, {n}] / [{n}]; got {list(y.shape)}"
        )
    if mask is None:
        points = torch.full((batch,), n, dtype=torch.long)
        return x, y, None, points, batch
    mask = mask.to(device=param.device, dtype=torch.bool)
    if mask.shape != (batch, n):
        raise SizeError(f"mask must be [{batch}, {n}], got {list(mask.shape)}")
    # masked-out targets and inputs are replaced by 0 once, so that they cannot reach a
    # gradient (not even as NaN·0); shared ones are expanded per model only when not finite
    if y.shape[0] != batch and not bool(torch.isfinite(y).all()):
        y = y.expand(batch, n, out_dim)
    if x.ndim == 2 and not bool(torch.isfinite(x).all()):
        x = x.expand(batch, *x.shape)
    if y.shape[0] == batch:
        y = torch.where(mask.unsqueeze(2), y, torch.zeros((), dtype=y.dtype, device=y.device))
    if x.ndim == 3:
        x = torch.where(mask.unsqueeze(2), x, torch.zeros((), dtype=x.dtype, device=x.device))
    counts = mask.sum(1)
    weight = mask.to(param.dtype) / (counts.clamp(min=1) * out_dim).to(param.dtype).unsqueeze(1)
    return x, y, weight, counts.cpu(), batch


def train_stacked(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    mask: Tensor | None = None,
    steps: int = 2000,
    lr: float = 1e-2,
    schedule: str = "cosine",
    loss: str = "mse",
    lbfgs_polish: int = 0,
    tol: float = 1e-3,
    record_every: int = 10,
    threads: int | None = None,
) -> TrainResult:
    """Train the B models of ``model`` (a :class:`StackedMLP`, a
    :class:`~moetheory.experiments.routing.LearnedTop1MoE`, or any module mapping x to
    [B, n, o]) at once: one ``torch.optim.Adam`` over the stacked parameters on the sum of the
    per-model losses Σ_b L_b (:func:`per_model_loss`), which is B independent Adam runs
    (experiments.md §3). The learning rate at step t is lr·:func:`schedule_factor`.

    ``x`` is [B, n, d] (model b on x[b]) or [n, d] shared; ``y`` [B, n, o], [n, o] shared, or
    without the output axis when o = 1; ``loss`` ``mse`` or, for ±1 labels, ``hinge`` /
    ``logistic``; ``mask`` [B, n] bool selects each model's points (padding for unequal n; a
    model never sees the targets or inputs of another's points). ``lbfgs_polish`` > 0 runs
    that many full-batch L-BFGS iterations (strong-Wolfe line search) afterwards, **one model at
    a time**: ``torch.optim.LBFGS`` keeps one curvature history and one line search for all the
    parameters it is given, so it is not per-model; the model needs ``select`` / ``assign``.
    Convergence: see :class:`TrainResult`. ``threads``: torch intra-op threads for the call
    (restored after; None leaves the setting alone) — many small products run faster on one
    thread, and spare threads only wait for each other when other processes share the cores.

    Example::

        >>> net = StackedMLP([MLPShape(1, (8,), 1)] * 2, seed=0, dtype=torch.float64)
        >>> x = torch.linspace(0, 1, 16).reshape(16, 1)
        >>> r = train_stacked(net, x, torch.stack([x, x * x]), steps=200, lr=3e-2)
        >>> r.loss.shape, bool((r.loss < 0.1 * r.history[0]).all()), r.history.shape
        (torch.Size([2]), True, torch.Size([20, 2]))
    """
    with cpu_training(threads):
        return _train_stacked(
            model,
            x,
            y,
            mask=mask,
            steps=steps,
            lr=lr,
            schedule=schedule,
            loss=loss,
            lbfgs_polish=lbfgs_polish,
            tol=tol,
            record_every=record_every,
        )


@contextmanager
def cpu_training(threads: int | None = None) -> Iterator[None]:
    """Run the body with torch's intra-op threads set to ``threads`` (None: unchanged) and
    subnormal floats flushed to zero, restoring both after.

    A fitted model's gradient is exactly 0 under the hinge loss (and tiny under MSE), and Adam's
    moments then decay into subnormal floats, which are 10–40× slower on a CPU; flushing them
    changes nothing above 1e-38 in float32.

    >>> with cpu_training(1):
    ...     torch.get_num_threads()
    1
    """
    previous = torch.get_num_threads()
    flushing = torch.set_flush_denormal(True)
    if threads is not None:
        torch.set_num_threads(check_count("threads", threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
        if flushing:
            torch.set_flush_denormal(False)


def _train_stacked(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    mask: Tensor | None,
    steps: int,
    lr: float,
    schedule: str,
    loss: str,
    lbfgs_polish: int,
    tol: float,
    record_every: int,
) -> TrainResult:
    started = time.perf_counter()
    steps = check_count("steps", steps, minimum=0)
    lbfgs_polish = check_count("L-BFGS polish iterations", lbfgs_polish, minimum=0)
    record_every = check_count("record every", record_every)
    if loss not in LOSSES:
        raise SizeError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    schedule_factor(schedule, 0, 1)  # validates the name
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise SizeError(f"learning rate must be a positive number, got {lr!r}")
    if lbfgs_polish and not (hasattr(model, "select") and hasattr(model, "assign")):
        raise SizeError("lbfgs_polish needs a model with select/assign (one model at a time)")
    x, y, weight, points, batch = _prepare(model, x, y, mask)
    params = [p for p in model.parameters() if p.requires_grad]
    device = params[0].device
    optimiser = _adam(params, lr)
    total = steps + lbfgs_polish
    window = total - max(1, math.ceil(total / 10)) if total else 0
    history = torch.zeros(steps // record_every, batch, dtype=torch.float64, device=device)
    window_loss = torch.full((batch,), math.nan, dtype=torch.float64, device=device)
    for t in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = lr * schedule_factor(schedule, t, steps)
        optimiser.zero_grad(set_to_none=True)
        losses = per_model_loss(model(x), y, loss, weight)
        losses.sum().backward()
        optimiser.step()
        if t == window:
            window_loss.copy_(losses.detach())
        if (t + 1) % record_every == 0:
            history[(t + 1) // record_every - 1] = losses.detach()
    window_loss = window_loss.cpu()
    if lbfgs_polish:
        window_loss = _polish(model, x, y, mask, loss, lbfgs_polish, window - steps, window_loss)
    with torch.no_grad():
        final = per_model_loss(model(x), y, loss, weight).to(torch.float64).cpu()
    change = (final - window_loss).abs() / window_loss.abs().clamp(min=LOSS_FLOOR)
    converged = (
        torch.isfinite(final) & (change < tol) if total else torch.zeros(batch, dtype=torch.bool)
    )
    return TrainResult(
        loss=final,
        converged=converged,
        steps=steps,
        history=history.cpu(),
        points=points,
        seconds=time.perf_counter() - started,
        polish_iterations=lbfgs_polish,
    )


def _adam(params: Sequence[Tensor], lr: float) -> torch.optim.Optimizer:
    """``torch.optim.Adam``, fused (one kernel for all tensors) where this torch supports it
    for the parameters' device and dtype — the same update rule, several times faster on
    the CPU for a stack's few large tensors."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(params, lr=lr)


def _polish(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    mask: Tensor | None,
    loss: str,
    iterations: int,
    window: int,
    window_loss: Tensor,
) -> Tensor:
    """Full-batch L-BFGS on each model alone; returns the window losses (updated where the
    window starts inside the polish)."""
    select: Callable[[int], nn.Module] = model.select  # type: ignore[assignment]
    assign: Callable[[int, nn.Module], None] = model.assign  # type: ignore[assignment]
    window_loss = window_loss.clone()
    batch = len(window_loss)
    for b in range(batch):
        xb = x[b] if x.ndim == 3 else x
        yb = y[b] if y.shape[0] == batch else y[0]
        if mask is not None:
            keep = mask[b].to(device=xb.device, dtype=torch.bool)
            if not bool(keep.any()):
                continue
            xb, yb = xb[keep], yb[keep]
        single = select(b)
        xb, yb = xb.unsqueeze(0), yb.unsqueeze(0)
        opt = torch.optim.LBFGS(
            single.parameters(), lr=1.0, max_iter=1, line_search_fn="strong_wolfe"
        )

        def closure(
            net: nn.Module = single,
            xs: Tensor = xb,
            ys: Tensor = yb,
            optimiser: torch.optim.Optimizer = opt,
        ) -> Tensor:
            optimiser.zero_grad()
            value = per_model_loss(net(xs), ys, loss).sum()
            value.backward()
            return value

        for it in range(iterations):
            value = opt.step(closure)
            if it == window:  # value is the loss before this iteration
                window_loss[b] = float(value.detach())
        assign(b, single)
    return window_loss
