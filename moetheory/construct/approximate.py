"""Constructive approximators: a hard-routed mixture of ReLU experts built explicitly for an
α-Hölder target on [0,1]^d and an accuracy ε, with counted parameters.

This is **this package's construction** (reference approximation_vc.md §3), not the one of
Kratsios et al. (arXiv 2402.03460), whose body could not be read. Sizes come from the bounds
calculator (:mod:`moetheory.bounds.approximation`): the grid of K^d cells and the sub-grid M
are the least that *prove* λ·ρ^α ≤ ε (decided exactly), and the module's parameter counts are
``plan.architecture.counts()``, the calculator's formula.

* Router: any router kind that ``approximates`` (:mod:`moetheory.bounds.routers`; built in:
  ``grid``, per-axis thresholds k/K; ``prototype``, the K^d cell centres, flat nearest search;
  ``tree``, a 2^d-ary δ-net tree of depth s, K = 2^s). Each routes x to the cell
  min(⌊K·x_i⌋, K − 1) (up to ties on cell faces) with the numbers of its kind's
  ``cell_parameters``.
* Experts: ``constant`` (f at the cell centre; error ≤ λ·(σ/(2K))^α, σ = √d in ℓ₂, 1 in ℓ∞)
  or ``pwl`` (Kuhn-hat interpolant on M sub-cells per axis, :mod:`moetheory.construct.experts`;
  error ≤ λ·(σ/(K·M))^α). Kuhn experts agree on shared cell faces, so the mixture is
  continuous although routing is hard; constant experts jump by up to twice their error.
* K = 1 gives a single network (no router): the baseline of the same accuracy
  (:func:`baseline`).

Example::

    >>> c = approximate("abs-power", alpha=1, holder=1, dim=1, eps="0.1", expert="pwl")
    >>> c.num_experts, c.counts()["total"] == c.plan.architecture.counts().total
    (10, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, localcontext
from fractions import Fraction

import numpy as np

from moetheory.bounds.approximation import (
    Approximator,
    Target,
    plan_constant,
    plan_pwl,
    to_fraction,
)
from moetheory.bounds.architecture import check_count
from moetheory.bounds.routers.arrays import centres, multi_indices
from moetheory.bounds.routers.registry import router_kind
from moetheory.construct.experts import kuhn_template, nodes
from moetheory.construct.mixture import ExpertMixture
from moetheory.construct.targets import TargetFunction, check_declaration, resolve_target
from moetheory.errors import SizeError
from moetheory.limits import check_int

EXPERTS = ("constant", "pwl")
MAX_PARAMETERS = 1 << 26  # dense parameters built by default (≈ 0.5 GB in float64)
MAX_BUILD_PARAMETERS = 1 << 30
"""The most dense parameters ``max_parameters`` may allow: building takes about 12–16 bytes per
parameter (≈ 13–17 GB here), and larger sizes overflow torch's storage sizes."""


@dataclass(frozen=True, eq=False)
class Construction:
    """A built approximator: the bounds plan (sizes, guarantee), the target, the mixture data.

    ``module()`` realises the torch :class:`~moetheory.construct.module.PReLUMoE` (cached)."""

    plan: Approximator
    target: TargetFunction
    expert: str
    mixture: ExpertMixture
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def num_experts(self) -> int:
        return self.mixture.num_experts

    @property
    def eps(self) -> Fraction | None:
        """The accuracy the plan was made for; None for a construction built from sizes."""
        return self.plan.eps

    def counts(self) -> dict[str, int]:
        """Dense (the calculator's formula) and non-zero counts of the mixture data."""
        return self.mixture.counts()

    def describe(self) -> dict:
        """Plain data about the construction (JSON-ready)."""
        t = self.plan.target
        return {
            "target": self.target.name,
            "formula": self.target.text,
            "dim": t.dim,
            "alpha": exact_text(t.alpha),
            "holder_constant": exact_text(t.holder),
            "norm": t.norm,
            "eps": None if self.plan.eps is None else exact_text(self.plan.eps),
            "router": self.mixture.architecture.router,
            "expert": self.expert,
            "cells_per_axis": self.plan.cells,
            "sub_cells": self.plan.sub if self.expert == "pwl" else None,
            "num_experts": self.num_experts,
            "guaranteed_error": self.plan.guaranteed_error,
            "guarantee": guarantee_text(self),
        }

    def module(self):
        """The torch module (float64), built once."""
        if "module" not in self._cache:
            self._cache["module"] = self.mixture.module(self.describe())
        return self._cache["module"]


def exact_text(x: Fraction) -> str:
    """A rational as a terminating decimal when it is one (4.18767264272), else p/q (1/3).

    Example::

        >>> exact_text(Fraction(26172954017, 6250000000)), exact_text(Fraction(1, 3))
        ('4.18767264272', '1/3')
    """
    q, twos, fives = x.denominator, 0, 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    if q != 1:
        return str(x)
    digits = max(twos, fives)
    if digits == 0:
        return str(x.numerator)
    scaled = abs(x.numerator) * 10**digits // x.denominator
    sign = "-" if x < 0 else ""
    whole, frac = divmod(scaled, 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}".rstrip("0").rstrip(".")


def guarantee_text(c: Construction) -> str:
    sigma = "√d" if c.plan.target.norm == "l2" else "1"
    side = "2K" if c.expert == "constant" else "K·M"
    return (
        f"proved: sup error ≤ λ·({sigma}/({side}))^α = {c.plan.guaranteed_error:.6g}, "
        "given that f is (α, λ)-Hölder (this package's construction)"
    )


def approximate(
    target,
    alpha,
    holder=None,
    dim: int = 1,
    eps="0.01",
    router: str = "grid",
    expert: str = "pwl",
    norm: str = "l2",
    tradeoff=1,
    max_parameters: int = MAX_PARAMETERS,
) -> Construction:
    """Build the mixture for ``target`` (a built-in name, a callable or a
    :class:`TargetFunction`) in the α-Hölder class with constant λ = ``holder`` (default: the
    built-in target's proved constant) guaranteeing sup error ≤ ε.

    ``tradeoff`` r ∈ [0, 1] splits the pwl resolution N between router and experts
    (K = round(N^r), M = ⌈N/K⌉; r = 1: M = 1, r = 0: one network). More than
    ``max_parameters`` dense parameters → :class:`SizeError` naming the sizes.
    """
    fn, cls = declared_class(target, alpha, holder, dim, norm)
    router_kind(router, approximating=True)
    if expert not in EXPERTS:
        raise SizeError(f"expert must be one of {', '.join(EXPERTS)}, got {expert!r}")
    if expert == "constant" and to_fraction("tradeoff r", tradeoff) != 1:
        raise SizeError(
            "the trade-off r splits the resolution of pwl experts; constant "
            "experts have no sub-grid (leave r = 1)"
        )
    plan = (
        plan_constant(cls, eps, router)
        if expert == "constant"
        else plan_pwl(cls, eps, tradeoff, router)
    )
    return build(plan, fn, expert, max_parameters)


def declared_class(
    target, alpha, holder=None, dim: int = 1, norm: str = "l2"
) -> tuple[TargetFunction, Target]:
    """The target function and its declared Hölder class (λ defaults to a built-in target's
    proved constant), refused when λ is below that constant."""
    fn = resolve_target(target, dim, alpha)
    cls = Target.of(dim, alpha, default_holder(fn, alpha, norm) if holder is None else holder, norm)
    check_declaration(fn, cls.alpha, cls.holder, norm)
    return fn, cls


def default_holder(fn: TargetFunction, alpha, norm: str = "l2") -> Fraction:
    """The target's proved Hölder constant, an irrational one rounded *up* to 12 significant
    digits (so it stays a valid constant), or a :class:`SizeError` when none is known."""
    value = fn.known_constant(to_fraction("alpha", alpha), norm)
    if value is None:
        raise SizeError(f"target {fn.name} has no proved Hölder constant: give one")
    if isinstance(value, Fraction):
        return value
    with localcontext() as ctx:
        ctx.prec, ctx.rounding = 12, ROUND_CEILING
        return Fraction(+Decimal(value))


def baseline(
    target,
    alpha,
    holder=None,
    dim: int = 1,
    eps="0.01",
    norm: str = "l2",
    max_parameters: int = MAX_PARAMETERS,
) -> Construction:
    """The single-network baseline of the same accuracy: one Kuhn-hat network (K = 1)."""
    return approximate(target, alpha, holder, dim, eps, "grid", "pwl", norm, 0, max_parameters)


def build(
    plan: Approximator, target: TargetFunction, expert: str, max_parameters: int = MAX_PARAMETERS
) -> Construction:
    """The mixture data of a constant or pwl plan (sizes → numbers)."""
    max_parameters = check_int(
        check_count("max parameters", max_parameters), "max parameters", 1, MAX_BUILD_PARAMETERS
    )
    arch = plan.architecture
    if arch is None:
        raise SizeError(
            f"a {plan.method} plan has no network to build (a shape-only row); "
            "build a constant or pwl plan"
        )
    total = arch.counts().total
    if total > max_parameters:
        raise SizeError(
            f"the construction needs {total:,} dense parameters ({arch.experts:,} "
            f"experts × {arch.counts().per_expert:,}); the limit is "
            f"{max_parameters:,} (raise it, raise ε, or use constant experts)"
        )
    d, cells = arch.dim, plan.cells
    corners = multi_indices(cells, d) / cells
    if expert == "constant":
        values = target(centres(cells, d))
        weights = (np.zeros((arch.experts, 1, d)),)
        biases = (values[:, None],)
    else:
        template = kuhn_template(d, plan.sub, cells)
        grid = nodes(d, plan.sub) / (cells * plan.sub)
        values = target((corners[:, None, :] + grid[None]).reshape(-1, d))
        values = values.reshape(arch.experts, len(grid))
        w1, b1 = template.weights[0], template.biases[0]
        weights = (
            *(np.broadcast_to(w, (arch.experts, *w.shape)) for w in template.weights[:-1]),
            (values @ template.weights[-1])[:, None, :],
        )
        biases = (
            b1 - corners @ w1.T,
            *(np.broadcast_to(b, (arch.experts, *b.shape)) for b in template.biases[1:-1]),
            values @ template.biases[-1][:, None],
        )
    mixture = ExpertMixture(arch, arch.kind.cell_parameters(cells, d), weights, biases)
    return Construction(plan, target, expert, mixture)
