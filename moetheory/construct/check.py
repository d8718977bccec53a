"""Build-and-verify: one call that constructs an approximator and collects its evidence.

:func:`construct_and_verify` returns a :class:`Verification`: the construction, the error
search of its torch module (:func:`~moetheory.construct.verify.max_error`), the agreement of
the torch module with the data evaluation, the continuity across cell faces, the Hölder
declaration check, and for d = 1 the proved sup bracket. ``to_json()`` carries the contract
fields ``num_experts``, ``parameters`` (``total``, ``active``), ``max_error_found``,
``check_points`` and ``eps``.

Example::

    >>> v = construct_and_verify("smooth", alpha=1, dim=1, eps="0.1", points=2000)
    >>> v.within_eps, v.to_json()["num_experts"] == v.construction.num_experts
    (True, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from moetheory.bounds.approximation import plan_pwl
from moetheory.bounds.architecture import check_count
from moetheory.bounds.routers.registry import ROUTER_KINDS
from moetheory.construct.approximate import (
    MAX_PARAMETERS,
    Construction,
    approximate,
    exact_text,
)
from moetheory.construct.verify import (
    ErrorReport,
    HolderCheck,
    SupBracket,
    exact_sup_1d,
    face_jump,
    holder_check,
    max_error,
    module_function,
)
from moetheory.errors import SizeError

AGREEMENT_POINTS = 4096
ROUNDING = 1e-12  # float64 evaluation slack allowed on top of ε
MAX_FLAT_WORK = 2 * 10**10  # points × experts of a flat router's search (prototype)


@dataclass(frozen=True, eq=False)
class Verification:
    """A construction with its verification evidence (module docstring)."""

    construction: Construction
    search: ErrorReport
    torch_vs_data: float
    face_jump: float  # relative to max(1, max |f|) on the agreement points
    holder: HolderCheck
    sup_1d: SupBracket | None
    seconds: dict

    @property
    def max_error(self) -> float:
        """The largest error found by the search, or the proved sup's lower end if larger."""
        found = self.search.max_error
        return max(found, self.sup_1d.lower) if self.sup_1d is not None else found

    @property
    def check_points(self) -> int:
        """Points where the error was evaluated: the search's, plus the d = 1 proof's."""
        return self.search.check_points + (self.sup_1d.evaluations if self.sup_1d else 0)

    @property
    def within_eps(self) -> bool | None:
        """max error found ≤ ε up to float64 rounding (:data:`ROUNDING`): a construction whose
        guarantee is exactly ε (e.g. K = 5, ε = 1/10) meets ε only in exact arithmetic. None
        for a construction built from sizes, without ε."""
        eps = self.construction.eps
        return None if eps is None else self.max_error <= float(eps) + ROUNDING

    def to_json(self) -> dict:
        c = self.construction
        counts = c.counts()
        about = c.describe()
        if not self.holder.consistent:
            about["guarantee"] += " — void: a pair of points violates the declared constant"
        return {
            **about,
            "eps": None if c.eps is None else float(c.eps),
            "eps_exact": None if c.eps is None else exact_text(c.eps),
            "num_experts": c.num_experts,
            "parameters": {
                "total": counts["total"],
                "active": counts["active"],
                "router": counts["router"],
                "per_expert": counts["per_expert"],
                "router_active": counts["router_active"],
                "nonzero": counts["nonzero"],
                "active_nonzero": counts["active_nonzero"],
            },
            "max_error_found": self.max_error,
            "check_points": self.check_points,
            "within_eps": self.within_eps,
            "search": self.search.to_json(),
            "exact_sup_1d": None if self.sup_1d is None else self.sup_1d.to_json(),
            "torch_vs_data_max_difference": self.torch_vs_data,
            "face_jump_relative": self.face_jump,
            "continuous": self.face_jump <= 1e-9,
            "holder_check": self.holder.to_json(),
            "baseline": baseline_sizes(c),
            "seconds": self.seconds,
        }


def baseline_sizes(c: Construction) -> dict | None:
    """Sizes of the single network guaranteeing the same ε (one Kuhn-hat network, K = 1),
    from the bounds calculator (None for a construction built from sizes, without ε); build
    it with :func:`~moetheory.construct.approximate.baseline` where it fits."""
    if c.eps is None:
        return None
    plan = plan_pwl(c.plan.target, c.eps, 0)
    if plan.architecture is None:
        raise SizeError("a pwl plan without an architecture: plan_pwl always builds its network")
    counts = plan.architecture.counts()
    return {
        "method": plan.method,
        "sub_cells": plan.sub,
        "total": counts.total,
        "active": counts.active,
        "guaranteed_error": plan.guaranteed_error,
    }


def verify_construction(
    c: Construction, points: int = 10**6, starts: int = 16, seed: int = 0
) -> Verification:
    """Collect the evidence for a built construction (see the module docstring)."""
    check_count("points", points)
    check_count("starts", starts)
    check_count("seed", seed, 0)
    arch = c.mixture.architecture
    if arch.kind.flat and points * arch.experts > MAX_FLAT_WORK:
        others = " or ".join(
            name for name, kind in ROUTER_KINDS.items() if kind.approximates and not kind.flat
        )
        raise SizeError(
            f"flat {arch.router} routing of {points:,} points over "
            f"{arch.experts:,} experts compares every pair; verify with at most "
            f"{MAX_FLAT_WORK // arch.experts:,} points, or build with the {others} "
            "router"
        )
    clock = time.perf_counter()
    module = c.module()
    t_module = time.perf_counter() - clock
    dim = c.mixture.dim
    clock = time.perf_counter()
    search = max_error(module_function(module), c.target, dim, points, starts, seed)
    t_search = time.perf_counter() - clock
    x = np.random.default_rng(seed).random((AGREEMENT_POINTS, dim))
    agreement = float(np.max(np.abs(module_function(module)(x) - c.mixture.evaluate(x))))
    scale = max(1.0, float(np.max(np.abs(c.target(x)))))
    t = c.plan.target
    holder = holder_check(c.target, t.alpha, t.holder, t.norm, seed=seed)
    clock = time.perf_counter()
    sup = exact_sup_1d(c.mixture, c.target, t.alpha, t.holder) if dim == 1 else None
    t_sup = time.perf_counter() - clock
    if sup is not None and not holder.consistent:
        sup = replace(sup, void="a pair of points violates the declared Hölder constant")
    elif sup is not None and search.max_error > sup.upper + ROUNDING * scale:
        sup = replace(sup, void="the search found an error above the bracket")
    return Verification(
        c,
        search,
        agreement,
        face_jump(c.mixture, c.plan.cells, seed=seed) / scale,
        holder,
        sup,
        {"module": t_module, "search": t_search, "exact_sup_1d": t_sup},
    )


def construct_and_verify(
    target,
    alpha,
    holder=None,
    dim: int = 1,
    eps="0.01",
    router: str = "grid",
    expert: str = "pwl",
    norm: str = "l2",
    tradeoff=1,
    points: int = 10**6,
    starts: int = 16,
    seed: int = 0,
    max_parameters: int = MAX_PARAMETERS,
) -> Verification:
    """:func:`~moetheory.construct.approximate.approximate`, then :func:`verify_construction`
    (build time recorded in ``seconds['build']``)."""
    clock = time.perf_counter()
    c = approximate(target, alpha, holder, dim, eps, router, expert, norm, tradeoff, max_parameters)
    built = time.perf_counter() - clock
    v = verify_construction(c, points, starts, seed)
    v.seconds["build"] = built
    return v
