"""The approximation trade-off experiment: trained hard-routed (P)ReLU mixtures at fixed
parameter budgets, their sup and L2 errors against the number of experts E, compared with two
predicted laws and with the explicit construction at equal parameters.

Protocol (reference experiments.md §4, approximation_vc.md §4 and §7):

1. **Target**: a built-in construction target (:mod:`moetheory.construct.targets`:
   ``abs-power``, ``sawtooth``, ``smooth``) on [0,1]^d, d ∈ {1, 2, 3}, with the exponent α it is
   declared with (and its proved Hölder constant λ).
2. **Budgets**: for each budget N (total parameters, or active parameters per input), depth J
   and E = k^d experts (k cells per axis), the width W whose exact count
   (:mod:`moetheory.experiments.budgets`, the bounds calculator's formula, checked against the
   ``numel`` of every trained module) is closest to N; only configurations within 10 % of N are
   kept.
3. **Training**: every (E, W, J, seed) configuration of a budget is trained in one batched
   program (:func:`moetheory.experiments.routing.fit_mixtures` through
   :func:`moetheory.experiments.sweep.run_sweep` with ``batch``), all on one training sample
   of ``train_points`` uniform points; the seeds change the initialisation (and the k-means
   prototypes). Training minimises the **mean squared error (L2)**, never the sup norm.
4. **Errors** of each trained model: the sup error |f − f̂| searched on a regular grid of about
   ``sup_points`` points plus the adversarial search of the construction verifier
   (:func:`moetheory.construct.verify.max_error`: a search, never a proof), and the L2 error
   (E_x (f − f̂)²)^{1/2} estimated on ``test_points`` held-out uniform points.
5. **Analysis**: per budget, the least-squares slope of log(sup error) on log E with a
   bootstrap 95 % interval that resamples whole training seeds
   (:func:`moetheory.experiments.stats.loglog_fit`), and a verdict per law
   (:func:`moetheory.experiments.stats.slope_verdict`).

**Predicted slopes** (approximation_vc.md §4 [math]: derived there, not the paper's statement).
With P the parameters per expert, the two laws are

    shallow / interpolating experts:  ε ∝ (E·P)^{−α/d},
    deep-narrow experts:              ε ∝ (E·P²)^{−α/d};

write both as ε ∝ (E·P^q)^{−α/d}, q = 1 or 2. At a fixed **total** budget N ≈ E·P (router
parameters neglected), P = N/E and

    E·P^q = N^q·E^{1−q}   ⟹   log ε = const − (α/d)(1 − q)·log E,

so the slope of log ε against log E is (α/d)(q − 1): **0** for the shallow law ((E·P) = N is
constant in E) and **+α/d** for the deep law ((E·P²) = N²/E). At a fixed **active** budget
A ≈ P, E·P^q = E·A^q and the slope is **−α/d** for both laws: the active-budget experiment
cannot tell them apart in E. Along the budget at a fixed E (P ∝ N) the slopes of log ε against
log N are −qα/d: −α/d (shallow) and −2α/d (deep), for either budget kind. The test suite checks
these derivatives with sympy. Beside each ideal slope the summary gives ``predicted_realised``:
the least-squares slope of −(α/d)·log(E·P^q) on log E over the rows' actual (E, P), which
includes the router's parameters and the rounding of W.

**Construction** at equal parameters: for each budget and each E = K^d, the Kuhn-hat mixture of
this package (:mod:`moetheory.construct.approximate`, K cells per axis, M sub-cells per expert)
whose exact count of the budget's kind is closest to N, its errors measured the same way.

Example (the predicted slopes; no training in a doctest)::

    >>> predicted_slopes("1/2", 1, "total")
    {'shallow': Fraction(0, 1), 'deep': Fraction(1, 2)}
    >>> predicted_slopes(1, 2, "active")
    {'shallow': Fraction(-1, 2), 'deep': Fraction(-1, 2)}
    >>> matched, dropped = plan(resolve_config(overrides={"dim": 2, "budgets": [500]}))
    >>> [(m.experts, m.width) for m in matched[500]], [x["experts"] for x in dropped]
    ([(1, 20), (4, 9), (64, 1)], [16, 256, 1024])

Reference: approximation_vc.md §4 (laws), §7 (suggested experiment); experiments.md §3–§5;
Adcock & Dexter, SIAM J. Math. Data Sci. 3(2), 2021 (trained networks fall short of
constructive rates: a slope far from the prediction is a finding, not a bug).
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from moetheory.bounds.approximation import Approximator, pwl_approximator, to_fraction
from moetheory.bounds.architecture import Architecture
from moetheory.construct.targets import BUILTIN, TargetFunction
from moetheory.errors import MoetheoryError
from moetheory.experiments.budgets import BUDGET_KINDS, ROUTERS, Match, budget_grid, counted
from moetheory.experiments.config import (
    RUN_OPTIONS,
    ConfigError,
    Field,
    list_of,
    resolve_preset,
    within,
)
from moetheory.experiments.stats import SlopeFit, loglog_fit, slope_verdict
from moetheory.experiments.sweep import Unit, unit_seed

EXPERIMENT = "approx-experiment"
LAWS = {"shallow": 1, "deep": 2}
"""Law name → the power q of P in ε ∝ (E·P^q)^{−α/d}."""
LAW_FORMULAS = {"shallow": "ε ∝ (E·P)^(−α/d)", "deep": "ε ∝ (E·P²)^(−α/d)"}
OBJECTIVE = (
    "mean squared error (L2) on the training points; the sup error is measured (grid plus "
    "adversarial search), never optimised"
)
CONSTRUCTION_ROUTERS = {"grid": "grid", "prototype": "prototype", "learned": "grid"}
"""The construction's router for each experiment router (a learned router has no construction:
the grid construction stands in, and the summary says so)."""
MAX_BUDGET = 10**8
MAX_EXPERTS = 4096
MAX_POINTS = 10**7


def _alpha(value: object) -> None:
    try:
        a = to_fraction("alpha", value)
    except MoetheoryError as exc:
        raise ValueError(str(exc)) from None
    if not 0 < a <= 1:
        raise ValueError("must lie in (0, 1]")


def _holder(value: object) -> None:
    if value == "proved":
        return
    try:
        lam = to_fraction("holder", value)
    except MoetheoryError as exc:
        raise ValueError(str(exc)) from None
    if lam <= 0:
        raise ValueError("must be > 0")


def _counts(low: int, high: int, *, unique: bool = False):
    """A check: a non-empty list of integers in [low, high] (distinct when ``unique``)."""
    items = list_of(int)

    def check(value: object) -> None:
        items(value)
        assert isinstance(value, list)
        for v in value:
            if not low <= v <= high:
                raise ValueError(f"{v} is outside {low}..{high:,}")
        if unique and len(set(value)) != len(value):
            raise ValueError("values must be distinct")

    return check


FIELDS: tuple[Field, ...] = (
    Field("target", str, "abs-power", "built-in target", choices=BUILTIN),
    Field("alpha", (str, int, float), "1/2", "Hölder exponent α in (0, 1]", check=_alpha),
    Field(
        "holder",
        (str, int, float),
        "proved",
        "Hölder constant λ, or proved: the target's proved constant",
        check=_holder,
    ),
    Field("dim", int, 1, "input dimension d", choices=(1, 2, 3)),
    Field(
        "budgets",
        list,
        [250, 1000, 4000],
        "parameter budgets N",
        check=_counts(1, MAX_BUDGET, unique=True),
    ),
    Field("budget_kind", str, "total", "total or active parameters", choices=BUDGET_KINDS),
    Field("depths", list, [2], "hidden layers J per expert", check=_counts(1, 64, unique=True)),
    Field(
        "cells",
        list,
        [1, 2, 4, 8, 16, 32],
        "cells per axis k (E = k^d experts)",
        check=_counts(1, MAX_EXPERTS, unique=True),
    ),
    Field("router", str, "grid", "grid, prototype or learned", choices=tuple(ROUTERS)),
    Field("activation", str, "relu", "relu or prelu", choices=("relu", "prelu")),
    Field("seeds", int, 8, "training seeds per configuration", check=within(1, 1000)),
    Field("seed", int, 0, "base seed", check=within(0, 2**32 - 1)),
    Field("steps", int, 2000, "Adam steps", check=within(1, 10**7)),
    Field("lr", float, 3e-3, "Adam learning rate", check=within(0, 10, open_low=True)),
    Field(
        "schedule", str, "cosine", "learning-rate schedule", choices=("cosine", "constant", "step")
    ),
    Field("dtype", str, "float32", "training precision", choices=("float32", "float64")),
    Field("train_points", int, 2048, "training points", check=within(1, MAX_POINTS)),
    Field("test_points", int, 20000, "held-out points (L2)", check=within(1, MAX_POINTS)),
    Field("sup_points", int, 20000, "grid points of the sup search", check=within(2, MAX_POINTS)),
    Field("sup_starts", int, 4, "adversarial searches", check=within(1, 10_000)),
    Field("sup_iterations", int, 30, "iterations of each search", check=within(1, 10_000)),
    Field(
        "tolerance",
        float,
        0.1,
        "kept within this share of the budget",
        check=within(0, 0.1, open_low=True),
    ),
    Field("construction", bool, True, "measure the explicit construction too"),
    Field(
        "max_construction_parameters",
        int,
        1 << 22,
        "largest construction built",
        check=within(1, 1 << 28),
    ),
    *RUN_OPTIONS,
)
"""The experiment's configuration fields (validated by
:func:`moetheory.experiments.config.validate`)."""

QUICK: dict[str, Any] = {f.name: f.default for f in FIELDS}
"""The quick configuration (the default; equal to ``experiments/configs/approx-quick.toml``):
abs-power with α = 1/2 in d = 1, total budgets 250, 1000, 4000, E = 1 … 32, depth 2, 8 seeds,
2000 Adam steps; under 5 minutes on 2 CPU cores."""

FULL: dict[str, Any] = {
    **QUICK,
    "dim": 3,
    "budgets": [1000, 10000, 100000],
    "depths": [2, 4],
    "cells": [1, 2, 3, 4, 6, 8],
    "seeds": 5,
    "steps": 10000,
    "lr": 1e-3,
    "train_points": 65536,
    "test_points": 100000,
    "sup_points": 262144,
    "sup_starts": 8,
    "threads": 0,
}
"""The full configuration (``experiments/configs/approx-full.toml``): d = 3, budgets up to
10^5, two depths, E = 1 … 512, meant for one GPU."""

PRESETS = {"quick": QUICK, "full": FULL}
RUN_FIELDS = ("scheduler",)
"""Fields that say where a run executes, not what it computes: left out of the configuration a
resumed run must match."""


def resolve_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> dict:
    """The validated configuration: a file (``path``), else a preset (``quick``, the default,
    or ``full``), with ``overrides`` (command-line options) on top. Raises
    :class:`~moetheory.experiments.config.ConfigError` naming the bad field before any work.

    >>> resolve_config(preset="full")["dim"]
    3
    >>> try:
    ...     resolve_config(overrides={"dim": 5})
    ... except ConfigError as exc:
    ...     print(exc)
    command line: field 'dim' = 5 is not one of 1, 2, 3
    """
    config, where = resolve_preset(FIELDS, PRESETS, path, preset, overrides, "quick")
    _cross_check(config, where)
    return config


def _cross_check(config: dict, where: str) -> None:
    """Checks across fields: the target takes α; enough training points for k-means; the
    experts within the limit."""
    from moetheory.construct.approximate import declared_class
    from moetheory.construct.targets import builtin_target

    try:
        builtin_target(config["target"], config["dim"], config["alpha"])
    except MoetheoryError as exc:
        raise ConfigError(f"{where}: field 'alpha' = {config['alpha']!r}: {exc}") from None
    if config["holder"] != "proved":
        try:
            declared_class(config["target"], config["alpha"], config["holder"], config["dim"])
        except MoetheoryError as exc:
            raise ConfigError(f"{where}: field 'holder' = {config['holder']!r}: {exc}") from None
    largest = max(config["cells"]) ** config["dim"]
    if largest > MAX_EXPERTS:
        raise ConfigError(
            f"{where}: field 'cells' = {config['cells']}: {max(config['cells'])}^"
            f"{config['dim']} = {largest:,} experts exceeds {MAX_EXPERTS:,}"
        )
    from moetheory.experiments.routing import PARTITIONS

    partition = PARTITIONS.get(config["router"])
    if partition is not None and config["train_points"] < partition.min_points(largest):
        raise ConfigError(
            f"{where}: field 'train_points' = {config['train_points']}: the "
            f"{partition.label} router needs at least {partition.min_points(largest)} "
            f"training points for E = {largest}"
        )
    scheduler = config["scheduler"]
    if scheduler not in ("none", "local") and not re.fullmatch(
        r"(tcp|tls|ucx|inproc)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(:\d{1,5})?/?", scheduler
    ):
        raise ConfigError(
            f"{where}: field 'scheduler' = {scheduler!r}: expected none, local or a Dask "
            "scheduler address such as tcp://HOST:8786"
        )


def parse_list(text: str, name: str) -> list[int]:
    """Comma-separated whole numbers (``1e3`` allowed) from a command-line option.

    >>> parse_list("250, 1e3,4000", "budgets")
    [250, 1000, 4000]
    """
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = to_fraction(name, part)
        except MoetheoryError:
            value = None
        if value is None or value.denominator != 1:
            raise ConfigError(
                f"--{name.replace('_', '-')} {text!r}: {part!r} is not a whole number"
            )
        out.append(int(value))
    return out


# ------------------------------------------------------------------------------------ laws


def predicted_slopes(alpha: object, dim: int, kind: str) -> dict[str, Fraction]:
    """The slope of log ε against log E at a fixed budget predicted by each law (module
    docstring): total budget (α/d)(q − 1), active budget −α/d.

    >>> predicted_slopes(1, 3, "total")["deep"]
    Fraction(1, 3)
    """
    a = to_fraction("alpha", alpha) / dim
    if kind == "total":
        return {law: a * (q - 1) for law, q in LAWS.items()}
    return {law: -a for law in LAWS}


def budget_slopes(alpha: object, dim: int) -> dict[str, Fraction]:
    """The slope of log ε against log N at a fixed E (P ∝ N): −qα/d.

    >>> budget_slopes("1/2", 1)
    {'shallow': Fraction(-1, 2), 'deep': Fraction(-1, 1)}
    """
    a = to_fraction("alpha", alpha) / dim
    return {law: -q * a for law, q in LAWS.items()}


def realised_slope(rows: Sequence[Mapping[str, Any]], alpha: object, dim: int, q: int) -> float:
    """Least-squares slope of −(α/d)·log(E·P^q) on log E over the rows' experts E and
    per-expert parameters P (nan with fewer than two distinct E).

    >>> rows = [{"experts": e, "parameters": {"per_expert": 1000 // e}} for e in (1, 2, 4)]
    >>> round(realised_slope(rows, 1, 1, 2), 3)
    1.0
    """
    u = np.log([r["experts"] for r in rows])
    v = np.array(
        [
            -float(to_fraction("alpha", alpha))
            / dim
            * (math.log(r["experts"]) + q * math.log(r["parameters"]["per_expert"]))
            for r in rows
        ]
    )
    du = u - u.mean()
    if not np.any(du):
        return math.nan
    return float(np.dot(du, v - v.mean()) / np.dot(du, du))


# ------------------------------------------------------------------------------------ plan


def training_seed(base: int, replicate: int) -> int:
    """The initialisation seed of replicate r (< 2^32): ``unit_seed(base, "replicate=r")``
    reduced mod 2^32, shared by every configuration of that replicate (common random numbers
    across E and budgets).

    >>> training_seed(0, 1) == training_seed(0, 1) != training_seed(0, 2)
    True
    """
    return unit_seed(base, f"replicate={replicate}") % 2**32


def experts_list(config: Mapping[str, Any]) -> list[int]:
    """E = k^d for each k of ``cells``, in the configuration's order."""
    return [k ** config["dim"] for k in config["cells"]]


def plan(config: Mapping[str, Any]) -> tuple[dict[int, list[Match]], list[dict]]:
    """Budget → matched configurations (:func:`~moetheory.experiments.budgets.budget_grid`),
    and the (budget, J, E) dropped because no width comes within the tolerance."""
    matched, dropped = {}, []
    for budget in config["budgets"]:
        kept, lost = budget_grid(
            budget,
            config["budget_kind"],
            config["dim"],
            experts_list(config),
            config["depths"],
            config["router"],
            config["activation"],
            config["tolerance"],
        )
        matched[budget] = kept
        dropped += lost
    return matched, dropped


SETUP_KEYS = (
    "target",
    "alpha",
    "dim",
    "router",
    "activation",
    "budget_kind",
    "seed",
    "steps",
    "lr",
    "schedule",
    "dtype",
    "train_points",
    "test_points",
    "sup_points",
    "sup_starts",
    "sup_iterations",
    "threads",
)


def units(config: Mapping[str, Any], matched: Mapping[int, list[Match]], device: str) -> list[Unit]:
    """One :class:`~moetheory.experiments.sweep.Unit` per (budget, J, E, replicate): id
    ``budget=N/J=j/E=e/replicate=r``, seed :func:`training_seed`, params the match and the
    setup the batch function needs (it depends on nothing else)."""
    setup = {k: config[k] for k in SETUP_KEYS} | {"device": device}
    out = []
    for budget, kept in matched.items():
        for m in kept:
            for r in range(config["seeds"]):
                uid = f"budget={budget}/J={m.depth}/E={m.experts}/replicate={r}"
                params = {"match": m.to_json(), "replicate": r, "setup": setup}
                out.append(Unit(uid, training_seed(config["seed"], r), params))
    return out


# ------------------------------------------------------------------------------------ work


def samples(setup: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(training inputs, held-out inputs): uniform on [0,1]^d from
    ``SeedSequence([seed, 1])`` and ``SeedSequence([seed, 2])``.

    >>> a, b = samples({"seed": 0, "dim": 2, "train_points": 3, "test_points": 4})
    >>> a.shape, b.shape
    ((3, 2), (4, 2))
    """
    seed, d = setup["seed"], setup["dim"]
    train = np.random.default_rng(np.random.SeedSequence([seed, 1])).random(
        (setup["train_points"], d)
    )
    test = np.random.default_rng(np.random.SeedSequence([seed, 2])).random(
        (setup["test_points"], d)
    )
    return train, test


def errors(
    model: Callable[[np.ndarray], np.ndarray],
    target: TargetFunction,
    setup: Mapping[str, Any],
    x_test: np.ndarray,
) -> dict[str, Any]:
    """Sup error (grid + adversarial search, :func:`moetheory.construct.verify.max_error`) and
    held-out L2 error (E (f − f̂)²)^{1/2} of a numpy function ``model``."""
    from moetheory.construct.verify import max_error

    found = max_error(
        model,
        target,
        setup["dim"],
        points=setup["sup_points"],
        starts=setup["sup_starts"],
        seed=setup["seed"],
        search_iterations=setup["sup_iterations"],
    )
    residual = target(x_test) - model(x_test)
    return {
        "sup_error": found.max_error,
        "sup_argmax": list(found.argmax),
        "sup_check_points": found.check_points,
        "l2_error": float(np.sqrt(np.mean(residual**2))),
    }


def train_batch(batch: list[Unit]) -> list[dict]:
    """Train the units' configurations in one batched program and measure each model: the
    ``batch`` function of :func:`~moetheory.experiments.sweep.run_sweep` (a pure function of
    the units: it reads nothing else)."""
    import torch

    from moetheory.construct.targets import builtin_target
    from moetheory.construct.verify import module_function
    from moetheory.experiments.batched import cpu_training
    from moetheory.experiments.routing import fit_mixtures

    setup = batch[0].params["setup"]
    with cpu_training(setup["threads"] or None):
        target = builtin_target(setup["target"], setup["dim"], setup["alpha"])
        x_train, x_test = samples(setup)
        y_train = target(x_train)
        configs = [
            {
                "experts": u.params["match"]["experts"],
                "width": u.params["match"]["width"],
                "depth": u.params["match"]["depth"],
                "seed": u.seed,
            }
            for u in batch
        ]
        fitted = fit_mixtures(
            configs,
            torch.from_numpy(x_train),
            torch.from_numpy(y_train),
            router=setup["router"],
            steps=setup["steps"],
            lr=setup["lr"],
            device=setup["device"],
            activation=setup["activation"],
            dtype=getattr(torch, setup["dtype"]),
            schedule=setup["schedule"],
        )
        out = []
        for unit, fit in zip(batch, fitted, strict=True):
            match = unit.params["match"]
            planned = {k: match["parameters"][k] for k in ("total", "active")}
            if fit["parameters"] != planned:
                raise RuntimeError(
                    f"unit {unit.id}: the trained module has {fit['parameters']} parameters, the "
                    f"bounds calculator counts {planned}"
                )
            measured = errors(module_function(fit["predictor"]), target, setup, x_test)
            out.append(
                {
                    "budget": match["budget"],
                    "budget_kind": match["budget_kind"],
                    "experts": match["experts"],
                    "width": match["width"],
                    "depth": match["depth"],
                    "replicate": unit.params["replicate"],
                    "parameters": match["parameters"],
                    "deviation": match["deviation"],
                    "counts_equal_numel": True,
                    **measured,
                    "converged": bool(fit["converged"]),
                    "train_loss": fit["loss"],
                    "train_loss_hard": fit["loss_hard"],
                    "empty_experts": fit["empty_experts"],
                    "router": fit["router"],
                    "router_kind": ROUTERS[setup["router"]],
                    "objective": "mse",
                    "target": setup["target"],
                    "alpha": str(to_fraction("alpha", setup["alpha"])),
                    "dim": setup["dim"],
                    "steps": setup["steps"],
                }
            )
        return out


# ------------------------------------------------------------------------------ construction


def construction_points(config: Mapping[str, Any], x_test: np.ndarray) -> list[dict]:
    """For each budget and each E = K^d: the Kuhn-hat construction whose exact count (of the
    budget's kind) is closest to the budget, built (when within
    ``max_construction_parameters``) and measured like the trained models."""
    from moetheory.bounds.tradeoff import largest_sub
    from moetheory.construct.approximate import build, declared_class
    from moetheory.construct.verify import module_function

    fn, cls = declared_class(
        config["target"],
        config["alpha"],
        None if config["holder"] == "proved" else config["holder"],
        config["dim"],
    )
    router = CONSTRUCTION_ROUTERS[config["router"]]
    kind = config["budget_kind"]
    setup = {k: config[k] for k in SETUP_KEYS}
    out = []
    for budget in config["budgets"]:
        for k in config["cells"]:
            sub = max(1, largest_sub(cls, k, budget, kind, router))
            subs = [s for s in (sub, sub + 1) if s >= 1]

            def size(s: int, cells: int = k) -> int:
                return counted(_architecture(pwl_approximator(cls, cells, s, router)), kind)

            sub = min(subs, key=lambda s: (abs(size(s) - budget), s))
            approx = pwl_approximator(cls, k, sub, router)
            c = _architecture(approx).counts()
            row: dict[str, Any] = {
                "budget": budget,
                "experts": approx.experts,
                "cells_per_axis": k,
                "sub_cells": sub,
                "router": router,
                "parameters": {"total": c.total, "active": c.active, "per_expert": c.per_expert},
                "deviation": (size(sub) - budget) / budget,
                "guaranteed_error": approx.guaranteed_error,
            }
            row["within_tolerance"] = abs(row["deviation"]) <= config["tolerance"]
            if c.total > config["max_construction_parameters"]:
                row.update(sup_error=None, l2_error=None, built=False)
            else:
                built = build(approx, fn, "pwl", config["max_construction_parameters"])
                module = built.module()
                numel = sum(p.numel() for p in module.parameters())
                if numel != c.total:
                    raise RuntimeError(
                        f"construction {k}^{config['dim']}: numel {numel} ≠ {c.total}"
                    )
                row.update(errors(module_function(module), fn, setup, x_test), built=True)
            out.append(row)
    return out


def _architecture(approx: Approximator) -> Architecture:
    if approx.architecture is None:  # only shape-only rows lack one; pwl plans never do
        raise RuntimeError(f"{approx.method} has no network")
    return approx.architecture


# ------------------------------------------------------------------------------------ analysis

ROW_KEYS = (
    "budget",
    "experts",
    "width",
    "depth",
    "replicate",
    "seed",
    "parameters",
    "deviation",
    "sup_error",
    "l2_error",
    "converged",
    "train_loss",
    "router",
)


def _fit(rows: Sequence[Mapping[str, Any]], key: str, x_key: str, seed: int) -> SlopeFit | None:
    xs = [r[x_key] for r in rows]
    ys = [r[key] for r in rows]
    if len(set(xs)) < 2 or any(not (y is not None and y > 0) for y in ys):
        return None
    groups = [r.get("replicate", i) for i, r in enumerate(rows)]
    return loglog_fit(xs, ys, groups=groups, seed=seed)


def _law_entries(
    fit: SlopeFit | None,
    predicted: Mapping[str, Fraction],
    realised: Mapping[str, float | None],
) -> dict[str, dict]:
    out = {}
    for law, slope in predicted.items():
        data = (
            fit.to_json()
            if fit is not None
            else {
                "slope": None,
                "intercept": None,
                "ci": [None, None],
                "n_points": 0,
                "n_groups": 0,
            }
        )
        out[law] = {
            "law": LAW_FORMULAS[law],
            "slope": data["slope"],
            "ci": data["ci"],
            "intercept": data["intercept"],
            "n_points": data["n_points"],
            "n_groups": data["n_groups"],
            "predicted": float(slope),
            "predicted_exact": str(slope),
            "predicted_realised": realised.get(law),
            "verdict": "inconclusive" if fit is None else slope_verdict(fit, float(slope)),
        }
    return out


def _median(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def _points(rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Per (J, E): width, counts, and the median, min and max over seeds of each error."""
    keys = sorted({(r["depth"], r["experts"]) for r in rows})
    out = []
    for depth, e in keys:
        mine = [r for r in rows if (r["depth"], r["experts"]) == (depth, e)]
        point: dict[str, Any] = {
            "depth": depth,
            "experts": e,
            "width": mine[0]["width"],
            "parameters": mine[0]["parameters"],
            "seeds": len(mine),
            "converged": sum(bool(r["converged"]) for r in mine),
        }
        for key in ("sup_error", "l2_error", "train_loss"):
            values = [r[key] for r in mine]
            point[key] = {"median": _median(values), "min": min(values), "max": max(values)}
        out.append(point)
    return out


def analyse(
    config: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    constructions: Sequence[Mapping[str, Any]],
    dropped: Sequence[Mapping[str, Any]],
) -> dict:
    """The summary (everything but the run's device and timings): per budget the rows, the
    points per (J, E), the fit of log sup error on log E and a verdict per law; every fit in
    ``fits``; the construction at equal parameters and the comparison with it; ``text``."""
    alpha, d, kind = config["alpha"], config["dim"], config["budget_kind"]
    predicted = predicted_slopes(alpha, d, kind)
    seed = config["seed"]
    fits: list[dict] = []
    budgets = []
    text = [
        f"Target {config['target']} (α = {to_fraction('alpha', alpha)}) on [0,1]^{d}; router "
        f"{config['router']}; {kind} budgets {', '.join(f'{b:,}' for b in config['budgets'])}; "
        f"{config['seeds']} seeds per configuration.",
        f"Training minimises the {OBJECTIVE} ({config['train_points']:,} uniform training "
        f"points, {config['steps']:,} Adam steps); the L2 error is measured on "
        f"{config['test_points']:,} held-out points.",
        "Predicted slopes of log sup error on log E at a fixed "
        f"{kind} budget: shallow law {LAW_FORMULAS['shallow']}: {predicted['shallow']}; deep law "
        f"{LAW_FORMULAS['deep']}: {predicted['deep']}.",
        "The deep law is derived for deep-narrow experts whose depth grows with their size "
        "(approximation_vc.md §4); the depths here are fixed at "
        f"{', '.join(map(str, config['depths']))}, outside that premise, where the wide law "
        "(E·P·ln P)^{-α/d} applies and predicts about the shallow slope: a deep-law verdict "
        "here does not test the deep law.",
    ]
    better = worse = 0
    for budget in config["budgets"]:
        rows = sorted(
            (r for r in lines if r["budget"] == budget),
            key=lambda r: (r["depth"], r["experts"], r["replicate"]),
        )
        view = [{k: r.get(k) for k in ROW_KEYS} for r in rows]
        realised: dict[str, float | None] = {}
        if len({r["experts"] for r in rows}) > 1:
            for law, q in LAWS.items():
                slope = realised_slope(rows, alpha, d, q)
                realised[law] = slope if math.isfinite(slope) else None
        sup_fit = _fit(rows, "sup_error", "experts", seed)
        laws = _law_entries(sup_fit, predicted, realised)
        entry: dict[str, Any] = {
            "budget": budget,
            "kind": kind,
            "rows": view,
            "points": _points(rows),
            "laws": laws,
            "dropped": [x for x in dropped if x["budget"] == budget],
        }
        depths = sorted({r["depth"] for r in rows})
        for depth in depths if len(depths) > 1 else []:
            mine = [r for r in rows if r["depth"] == depth]
            entry.setdefault("by_depth", {})[str(depth)] = _law_entries(
                _fit(mine, "sup_error", "experts", seed), predicted, {}
            )
        for depth in ["all", *depths] if len(depths) > 1 else ["all"]:
            mine = rows if depth == "all" else [r for r in rows if r["depth"] == depth]
            for key in ("sup_error", "l2_error"):
                fit = _fit(mine, key, "experts", seed)
                fits.append(
                    {
                        "budget": budget,
                        "depth": depth,
                        "x": "experts",
                        "error": key,
                        "source": "trained",
                        **(fit.to_json() if fit else {"slope": None, "ci": [None, None]}),
                        "predicted": {law: float(p) for law, p in predicted.items()},
                        "verdicts": {
                            law: "inconclusive" if fit is None else slope_verdict(fit, float(p))
                            for law, p in predicted.items()
                        },
                    }
                )
        mine_c = [
            c for c in constructions if c["budget"] == budget and c.get("sup_error") is not None
        ]
        entry["construction"] = [c for c in constructions if c["budget"] == budget]
        comparison = []
        for point in entry["points"]:
            c = next((c for c in mine_c if c["experts"] == point["experts"]), None)
            trained = point["sup_error"]["median"]
            if c is None or trained is None or not c["within_tolerance"]:
                continue
            ratio = c["sup_error"] / trained
            comparison.append(
                {
                    "experts": point["experts"],
                    "depth": point["depth"],
                    "trained_sup_error": trained,
                    "construction_sup_error": c["sup_error"],
                    "trained_l2_error": point["l2_error"]["median"],
                    "construction_l2_error": c["l2_error"],
                    "construction_over_trained": ratio,
                    "better": "trained" if ratio > 1 else "construction",
                }
            )
            better += ratio > 1
            worse += ratio <= 1
        entry["comparison"] = comparison
        within = [c for c in mine_c if c["within_tolerance"]]
        cfit = _fit(within, "sup_error", "experts", seed) if len(within) > 1 else None
        if cfit is not None:
            fits.append(
                {
                    "budget": budget,
                    "depth": "construction",
                    "x": "experts",
                    "error": "sup_error",
                    "source": "construction",
                    **cfit.to_json(),
                    "predicted": {law: float(p) for law, p in predicted.items()},
                    "verdicts": {
                        law: slope_verdict(cfit, float(p)) for law, p in predicted.items()
                    },
                }
            )
        budgets.append(entry)
        text.append(_budget_sentence(entry))
        if comparison:
            text.append(_comparison_sentence(budget, comparison))
    fits += _budget_fits(config, lines)
    if better + worse:
        text.append(
            f"Over all budgets, training (median over seeds) beats the construction at equal "
            f"parameters in {better} of {better + worse} (budget, E) pairs and loses in {worse}."
        )
    from moetheory.experiments.routing import LEARNED

    if config["router"] == LEARNED and config["construction"]:
        text.append(
            "The construction uses a grid router (there is no explicit construction with a "
            "learned router)."
        )
    return {
        "experiment": EXPERIMENT,
        "target": config["target"],
        "alpha": str(to_fraction("alpha", alpha)),
        "dim": d,
        "router": config["router"],
        "router_kind": ROUTERS[config["router"]],
        "construction_router": CONSTRUCTION_ROUTERS[config["router"]],
        "budget_kind": kind,
        "objective": OBJECTIVE,
        "laws": {
            law: {
                "formula": LAW_FORMULAS[law],
                "predicted_slope": float(p),
                "predicted_exact": str(p),
            }
            for law, p in predicted.items()
        },
        "budgets": budgets,
        "fits": fits,
        "text": text,
    }


def _budget_fits(config: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Fits of log sup error on log N at each fixed (J, E) across budgets (P ∝ N)."""
    if len(config["budgets"]) < 2:
        return []
    predicted = budget_slopes(config["alpha"], config["dim"])
    out = []
    for depth, e in sorted({(r["depth"], r["experts"]) for r in lines}):
        mine = [r for r in lines if (r["depth"], r["experts"]) == (depth, e)]
        fit = _fit(mine, "sup_error", "budget", config["seed"])
        if fit is None:
            continue
        out.append(
            {
                "budget": "all",
                "depth": depth,
                "experts": e,
                "x": "budget",
                "error": "sup_error",
                "source": "trained",
                **fit.to_json(),
                "predicted": {law: float(p) for law, p in predicted.items()},
                "verdicts": {law: slope_verdict(fit, float(p)) for law, p in predicted.items()},
            }
        )
    return out


def _show(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.3f}"


def _budget_sentence(entry: Mapping[str, Any]) -> str:
    laws = entry["laws"]
    first = laws["shallow"]
    if first["slope"] is None:
        return (
            f"Budget {entry['budget']:,}: fewer than two numbers of experts kept, no slope "
            "(inconclusive)."
        )
    lo, hi = first["ci"]
    parts = [f"{law} predicts {_show(v['predicted'])}: {v['verdict']}" for law, v in laws.items()]
    return (
        f"Budget {entry['budget']:,}: slope of log sup error on log E = {_show(first['slope'])} "
        f"(95 % bootstrap interval over seeds [{_show(lo)}, {_show(hi)}], {first['n_points']} "
        f"models, {first['n_groups']} seeds); " + "; ".join(parts) + "."
    )


def _comparison_sentence(budget: int, comparison: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for c in comparison:
        ratio = c["construction_over_trained"]
        verdict = (
            f"training better by ×{ratio:.2f}"
            if ratio > 1
            else f"construction better by ×{1 / ratio:.2f}"
        )
        parts.append(
            f"E = {c['experts']}: trained {c['trained_sup_error']:.3g} vs construction "
            f"{c['construction_sup_error']:.3g} ({verdict})"
        )
    return f"Budget {budget:,}, sup error at equal parameters: " + "; ".join(parts) + "."


# ------------------------------------------------------------------------------------ run


def run_experiment(config: Mapping[str, Any], out: str | Path, *, resume: bool = False) -> dict:
    """Run (or resume) the experiment into the run directory ``out``: ``results.jsonl`` (one
    line per trained model), ``constructions.json``, ``summary.json``, ``summary.md`` and the
    figure ``approx.png`` / ``approx.pdf``. Returns the summary."""
    from moetheory.experiments.device import resolve_device
    from moetheory.experiments.rundir import RunDirectory
    from moetheory.experiments.sweep import dask_client, run_sweep
    from moetheory.files import write_text_atomic
    from moetheory.present.experiments import approx_experiment_figure, approx_summary_markdown
    from moetheory.present.plots import save_figure

    started = time.perf_counter()
    config = dict(config)
    device = resolve_device(config["device"])
    scheduler = None if config["scheduler"] == "none" else config["scheduler"]
    science = {k: v for k, v in config.items() if k not in RUN_FIELDS}
    science["device"] = device.type
    matched, dropped = plan(config)
    if not any(matched.values()):
        raise ConfigError(
            "no (E, W, J) configuration comes within the tolerance of any budget: raise the "
            "budgets or lower the cells"
        )
    with ExitStack() as stack:
        # connect first: an unreachable scheduler must not leave a run directory behind
        client = stack.enter_context(dask_client(scheduler)) if scheduler is not None else None
        run = RunDirectory(
            out, experiment=EXPERIMENT, config=science, device=device.type, resume=resume
        )
        # one task per budget (all its models in one batched program); on Dask they run in
        # parallel, and a budget recorded in part before a kill is trained again whole
        lines = run_sweep(
            units(config, matched, device.type),
            None,
            run,
            client=client,
            desc="train",
            batch=train_batch,
            chunk_key=lambda u: u.params["match"]["budget"],
        )
    t0 = time.perf_counter()
    constructions = []
    if config["construction"]:
        constructions = construction_points(config, samples(config)[1])
        run.write_json("constructions.json", constructions)
    run.timing("construction", time.perf_counter() - t0)
    summary = analyse(config, lines, constructions, dropped)
    info = run.run_info()
    summary["device"] = device.type
    summary["scheduler"] = config["scheduler"]
    summary["seconds"] = {
        **{k: round(v, 3) for k, v in info.get("seconds", {}).items()},
        "this_invocation": round(time.perf_counter() - started, 3),
    }
    summary["resumed"] = len(info.get("resumed", []))
    save_figure(approx_experiment_figure(summary), run.path / "approx")
    write_text_atomic(run.path / "summary.md", approx_summary_markdown(summary))
    summary["seconds"]["this_invocation"] = round(time.perf_counter() - started, 3)
    run.write_json("summary.json", summary)  # last: its presence marks a finished run
    return summary


__all__ = [
    "FIELDS",
    "FULL",
    "QUICK",
    "analyse",
    "predicted_slopes",
    "resolve_config",
    "run_experiment",
    "train_batch",
]
