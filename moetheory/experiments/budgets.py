"""Budget matching: the (E, W, J) configurations of a hard-routed (P)ReLU mixture whose exact
parameter count is within a tolerance of a budget.

For a budget N (total parameters, or active parameters per input), a depth J and a number of
experts E, the width W is solved from the **exact** count of the bounds calculator
(:meth:`moetheory.bounds.architecture.Architecture.counts`, equal to the ``numel`` of the
realised module :func:`moetheory.layers.realise`). With one output, an expert of depth J and
width W on d inputs has

    P(W) = (d + 1)·W + (J − 1)·(W + 1)·W + (W + 1)      (+ J·W PReLU slopes when trainable)

parameters, and

    total(W)  = router + E·P(W),     active(W) = router read per input + P(W),

both strictly increasing in W. The matched width is the W ≥ 1 whose count is closest to N
(the largest W with count ≤ N, or the next one; a tie goes to the smaller), and the
configuration is kept when |count − N| ≤ tolerance·N (reference experiments.md §4: 10 %).

Routers (the experiment's names → the calculator's router kinds):

=============  ==============  =====================================================
experiment     router kind     cells
=============  ==============  =====================================================
``grid``       ``grid``        fixed axis-aligned cells, K_1 × … × K_d = E
``prototype``  ``prototype``   fixed nearest-prototype cells (k-means on the inputs)
``learned``    ``linear``      top-1 linear router trained with the experts
=============  ==============  =====================================================

The grid router needs E = k^d (k cells per axis). E = 1 keeps its router (a grid of one cell
has no parameters; one prototype has d, a one-expert linear router d + 1), exactly as the
trained module (:func:`moetheory.experiments.routing.fit_mixtures`) realises it.

Example::

    >>> m = match_width(800, "total", dim=1, experts=16, depth=2, router="grid")
    >>> m.width, m.counts["total"], round(m.deviation, 4)
    (5, 751, -0.0612)

Reference: approximation_vc.md §1 (accounting), experiments.md §4 (budget matching).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from moetheory.bounds.architecture import Architecture
from moetheory.bounds.monotone import least
from moetheory.bounds.sizes import check_count
from moetheory.errors import SizeError

ROUTERS = {"grid": "grid", "prototype": "prototype", "learned": "linear"}
"""The experiment's router names → the bounds calculator's router kinds."""
BUDGET_KINDS = ("total", "active")
TOLERANCE = 0.1
"""Largest relative distance |count − budget|/budget of a kept configuration."""


def architecture(
    dim: int, experts: int, depth: int, width: int, router: str, activation: str = "relu"
) -> Architecture:
    """The counted :class:`Architecture` of E experts of depth J and width W behind the
    experiment's ``router`` (:data:`ROUTERS`).

    >>> architecture(2, 4, 1, 3, "learned").counts().total
    64
    """
    if router not in ROUTERS:
        raise SizeError(f"router must be one of {', '.join(ROUTERS)}, got {router!r}")
    hidden = (check_count("width", width),) * check_count("depth", depth, minimum=0)
    return Architecture(
        dim=dim, experts=experts, hidden=hidden, activation=activation, router=ROUTERS[router]
    )


def counted(arch: Architecture, kind: str) -> int:
    """The ``total`` or ``active`` count of ``arch`` (the bounds calculator's)."""
    if kind not in BUDGET_KINDS:
        raise SizeError(f"budget kind must be one of {', '.join(BUDGET_KINDS)}, got {kind!r}")
    c = arch.counts()
    return c.total if kind == "total" else c.active


@dataclass(frozen=True)
class Match:
    """One budget-matched configuration: its architecture and exact counts."""

    budget: int
    kind: str
    experts: int
    depth: int
    width: int
    router: str
    architecture: Architecture

    @property
    def counts(self) -> dict[str, int]:
        """Exact counts: total, active, per_expert, router (the calculator's)."""
        c = self.architecture.counts()
        return {
            "total": c.total,
            "active": c.active,
            "per_expert": c.per_expert,
            "router": c.router,
        }

    @property
    def deviation(self) -> float:
        """(count − budget)/budget for the budget's kind."""
        return (counted(self.architecture, self.kind) - self.budget) / self.budget

    def to_json(self) -> dict:
        return {
            "budget": self.budget,
            "budget_kind": self.kind,
            "experts": self.experts,
            "depth": self.depth,
            "width": self.width,
            "router": self.router,
            "parameters": self.counts,
            "deviation": self.deviation,
        }


def match_width(
    budget: int,
    kind: str,
    dim: int,
    experts: int,
    depth: int,
    router: str,
    activation: str = "relu",
    tolerance: float = TOLERANCE,
) -> Match | None:
    """The width W ≥ 1 whose exact ``kind`` count is closest to ``budget``, or None when that
    count is more than ``tolerance``·budget away (module docstring).

    >>> match_width(100, "total", 1, 64, 1, "grid") is None   # 64 experts cannot fit 100
    True
    """
    n = check_count("budget", budget)

    def size(w: int) -> int:
        return counted(architecture(dim, experts, depth, w, router, activation), kind)

    above = least(lambda w: size(w) > n)  # the least W over the budget
    candidates = [w for w in (above - 1, above) if w >= 1]
    width = min(candidates, key=lambda w: (abs(size(w) - n), w))
    if abs(size(width) - n) > tolerance * n:
        return None
    arch = architecture(dim, experts, depth, width, router, activation)
    return Match(n, kind, experts, depth, width, router, arch)


def budget_grid(
    budget: int,
    kind: str,
    dim: int,
    experts: Sequence[int],
    depths: Sequence[int],
    router: str,
    activation: str = "relu",
    tolerance: float = TOLERANCE,
) -> tuple[list[Match], list[dict]]:
    """The matched configurations of one budget for every (J, E), and the (J, E) dropped
    because no width comes within the tolerance (with the nearest count).

    >>> kept, dropped = budget_grid(200, "total", 1, [1, 2, 64], [2], "grid")
    >>> [(m.experts, m.width) for m in kept], [d["experts"] for d in dropped]
    ([(1, 12), (2, 8)], [64])
    """
    kept, dropped = [], []
    for depth in depths:
        for e in experts:
            m = match_width(budget, kind, dim, e, depth, router, activation, tolerance)
            if m is not None:
                kept.append(m)
                continue
            nearest = counted(architecture(dim, e, depth, 1, router, activation), kind)
            dropped.append(
                {
                    "budget": budget,
                    "experts": e,
                    "depth": depth,
                    "smallest_count": nearest,
                    "reason": f"no width within {tolerance:.0%} of {budget:,} "
                    f"{kind} parameters (width 1 already counts "
                    f"{nearest:,})"
                    if nearest > budget
                    else f"no width within {tolerance:.0%} of {budget:,} {kind} "
                    "parameters (the width steps are too coarse)",
                }
            )
    return kept, dropped
