"""Training-based shattering of PReLU mixtures: all 2^m labellings trained as one batch.

For a point set of m points, every labelling y ∈ {±1}^m is one member of a stack of B = 2^m
models trained at once (:func:`~moetheory.experiments.batched.train_stacked`, hinge loss, Adam
with a cosine schedule): E = 1 a :class:`~moetheory.experiments.batched.StackedMLP`, E ≥ 2 a
:class:`~moetheory.experiments.routing.LearnedTop1MoE` (a linear top-1 router trained through
its softmax gate, evaluated hard). A labelling counts as **realised** when the trained model,
evaluated hard in float64, has zero training error (every sign strictly right). The set of
realised labellings is closed under y → −y: negating every expert's output layer realises −y
with the same router (a construction, not a guess).

Training can fail to fit a realisable labelling, never the other way round, so the count is a
lower bound on the model's true count on that point set, and "all 2^m realised" proves that
the set is shattered (the trained networks are the witnesses; the check is in float64, not in
exact arithmetic). The **search** (:func:`search_shattering`): several point-set families (a
few seeded Gaussian sets, the grid, the moment curve, a file), each a nested sequence of
prefixes; for m = 1, 2, … every family still alive is trained on its first m points, and a
family whose m-prefix is not shattered stops (a prefix of a shattered set is shattered). The
largest m shattered is an **empirical lower bound** on the VC dimension — reported beside the
bounds calculator's upper and lower bounds, never above the upper one (tests).

Example (an affine expert, E = 1, is a halfspace: 3 points of the plane are shattered)::

    >>> from moetheory.experiments.shatter.points import moment_points
    >>> r = train_labellings(moment_points(3, 2), experts=1, width=1, depth=0, steps=300)
    >>> int(r.realised.sum()), r.labelings
    (8, 8)

Reference: experiments.md §1 and §3; issue 16 item 4 (training-based shattering).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from moetheory.experiments.config import ConfigError
from moetheory.experiments.shatter.points import (
    STRUCTURED,
    PointSet,
    grid_points,
    load_points,
    moment_points,
    random_points,
)

MAX_TRAIN_POINTS = 16
"""Largest m of training-based shattering (2^16 models in one batch)."""
STEPS = 2000
LR = 1e-2
RANDOM_SETS = 3
SINGLE_THREAD_MEMBERS = 4096
"""CPU stacks of at most this many expert networks train on one thread (experiments.md §3)."""


@dataclass
class TrainedLabellings:
    """Which of the 2^m labellings of ``points`` the trained models realise (``realised``
    [2^m] bool, index k as in :func:`moetheory.experiments.shatter.exact.labels`), closed
    under complement; ``raw`` before the closure; ``seconds`` of training."""

    points: PointSet
    realised: np.ndarray
    raw: np.ndarray
    seconds: float
    converged: int

    @property
    def labelings(self) -> int:
        return len(self.realised)

    @property
    def shattered(self) -> bool:
        return bool(self.realised.all())


def label_matrix(m: int) -> np.ndarray:
    """[2^m, m] labels ±1, row k the labelling of index k (bit i set: +1).

    >>> label_matrix(2).tolist()
    [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    """
    ks = np.arange(2**m)[:, None]
    return np.where((ks >> np.arange(m)[None, :]) & 1, 1, -1)


def train_labellings(
    points: PointSet,
    experts: int,
    width: int,
    depth: int,
    steps: int = STEPS,
    lr: float = LR,
    seed: int = 0,
    device: Any = "cpu",
) -> TrainedLabellings:
    """Train one model per labelling of ``points`` in one batch and mark the labellings fitted
    with zero training error (module docstring)."""
    import torch

    from moetheory.experiments.batched import MLPShape, StackedMLP, train_stacked

    start = time.perf_counter()
    m, d = points.m, points.dim
    y = label_matrix(m)
    batch = len(y)
    device = torch.device(device)
    dtype = torch.float32 if device.type == "cuda" else torch.float64
    shape = MLPShape(d, (width,) * depth, 1, "prelu")
    model: Any
    if experts == 1:
        model = StackedMLP([shape] * batch, seed=seed, dtype=dtype, device=device)
    else:
        from moetheory.experiments.routing import LearnedTop1MoE

        model = LearnedTop1MoE([shape] * batch, experts, seed=seed, dtype=dtype, device=device)
    x = torch.tensor(points.array(), dtype=dtype, device=device)
    target = torch.tensor(y, dtype=dtype, device=device)
    # small stacks: many tiny ops, faster (and steadier on a loaded machine) on one thread;
    # train_stacked flushes subnormals (a fitted member's hinge gradient is exactly 0)
    small = device.type == "cpu" and batch * experts <= SINGLE_THREAD_MEMBERS
    result = train_stacked(
        model, x, target, steps=steps, lr=lr, loss="hinge", threads=1 if small else None
    )
    with torch.no_grad():
        model = model.to(torch.float64)
        x64 = x.to(torch.float64)
        pred = (model.forward_hard(x64) if experts > 1 else model(x64))[..., 0].cpu().numpy()
    raw = np.all(np.sign(pred) == y, axis=1)
    realised = raw | raw[::-1]  # index 2^m − 1 − k is the complement of k
    return TrainedLabellings(
        points=points,
        realised=realised,
        raw=raw,
        seconds=time.perf_counter() - start,
        converged=int(result.converged.sum()),
    )


def families(
    m: int, dim: int, seed: int = 0, random_sets: int = RANDOM_SETS, requested: str = "random"
) -> list[PointSet]:
    """The point-set families searched, m points each (prefixes are the smaller sets): the
    requested set first, then seeded Gaussian sets, the grid and the moment curve."""
    out = []
    if requested not in STRUCTURED:
        out.append(load_points(requested, dim, m))
    out += [random_points(m, dim, seed + i) for i in range(random_sets)]
    out += [grid_points(m, dim), moment_points(m, dim)]
    if requested == "uniform":
        out.insert(0, random_points(m, dim, seed, distribution="uniform"))
    elif requested in ("grid", "moment"):
        out.sort(key=lambda p: not p.source.startswith(requested))
    return out


def search_shattering(
    sets: list[PointSet],
    experts: int,
    width: int,
    depth: int,
    steps: int = STEPS,
    seed: int = 0,
    device: Any = "cpu",
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> tuple[int, list[dict[str, Any]], dict[str, TrainedLabellings]]:
    """(largest m shattered, rows of the search, results at the full size per family): every
    family grows m = 1, 2, … until its prefix is not shattered; at the full size every family
    is trained (module docstring)."""
    full = sets[0].m
    alive = list(range(len(sets)))
    best = 0
    rows: list[dict[str, Any]] = []
    at_full: dict[str, TrainedLabellings] = {}
    sizes: Iterable[int] = range(1, full + 1)
    if progress is not None:
        sizes = progress(sizes)
    for m in sizes:
        todo = range(len(sets)) if m == full else list(alive)
        for f in todo:
            trained = train_labellings(
                sets[f].head(m), experts, width, depth, steps, seed=seed, device=device
            )
            rows.append(
                {
                    "point_set": sets[f].source,
                    "m": m,
                    "realised": int(trained.realised.sum()),
                    "labelings": trained.labelings,
                    "shattered": trained.shattered,
                    "seconds": round(trained.seconds, 3),
                }
            )
            if trained.shattered:
                best = max(best, m)
            elif f in alive:
                alive.remove(f)
            if m == full:
                at_full[sets[f].source] = trained
    return best, rows, at_full


def run_training(
    dim: int,
    m: int,
    experts: int,
    width: int,
    depth: int,
    point_set: str = "random",
    seed: int = 0,
    steps: int = STEPS,
    random_sets: int = RANDOM_SETS,
    device: str = "auto",
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> dict[str, Any]:
    """The ``moetheory shatter --model moe`` summary (fields of
    :mod:`moetheory.experiments.shatter.run`, plus ``empirical_lower_bound`` and ``search``)."""
    from moetheory.experiments.device import resolve_device
    from moetheory.experiments.shatter.bounds import calculator_bounds

    if not 1 <= m <= MAX_TRAIN_POINTS:
        raise ConfigError(
            f"--points {m}: training-based shattering takes 1 to "
            f"{MAX_TRAIN_POINTS} points (2^m models in one batch)"
        )
    torch_device = resolve_device(device)
    sets = families(m, dim, seed, random_sets, point_set)
    bounds = calculator_bounds("moe", dim, experts, width, depth)
    start = time.perf_counter()
    best, rows, at_full = search_shattering(
        sets, experts, width, depth, steps, seed, torch_device, progress
    )
    top = max(at_full.values(), key=lambda t: int(t.realised.sum()))
    upper = bounds["vc_upper"]
    notes = [
        "training can miss a realisable labelling, never invent one: counts are lower "
        "bounds, 'shattered' is witnessed by the trained networks (float64 check)"
    ]
    if upper is not None and best > upper:  # would contradict the calculator: say so loudly
        notes.append(
            f"empirical lower bound {best} exceeds the calculator's upper bound "
            f"{upper}: a bug in one of them"
        )
    return {
        "model": "moe",
        "method": "training",
        "dim": dim,
        "points": m,
        "experts": experts,
        "width": width,
        "depth": depth,
        "point_set": sets[0].source,
        "seed": seed,
        "device": str(torch_device),
        "steps": steps,
        "loss": "hinge",
        "router": "learned-top1 (trained soft, evaluated hard)" if experts > 1 else "none",
        "shattered": any(t.shattered for t in at_full.values()),
        "labelings_checked": 2**m,
        "labelings_realised": int(top.realised.sum()),
        "best_point_set": top.points.source,
        "empirical_lower_bound": best,
        **bounds,
        "search": rows,
        "certificates": None,
        "seconds": round(time.perf_counter() - start, 3),
        "notes": notes,
    }
