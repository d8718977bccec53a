"""Experts versus expert size at a fixed parameter budget, beside the predicted laws.

For each number of cells per axis K, the Kuhn-hat mixture (``moe-pwl``) takes the largest
sub-grid M whose dense parameter count (total, or active per input) fits the budget; its
guaranteed error λ·(σ/(K·M))^α is exact (:mod:`moetheory.bounds.approximation`).

Beside it, the laws of reference approximation_vc.md §4 [math, derived there, not the paper's
statement], with P the expert's structural non-zero count (its intrinsic size):

- shallow / interpolating experts: ε ∝ (E·P)^{−α/d};
- deep-narrow experts (Shen–Yang–Zhang per cell): ε ∝ (E·P²)^{−α/d}.

The laws fix shapes, not constants: each is scaled to equal the guaranteed error on the first
row (K = 1), so the columns compare slopes.

Example::

    >>> from moetheory.bounds.approximation import Target
    >>> rows = tradeoff_rows(Target.of(2, 1), budget=10**6, kind="total")
    >>> rows[0]["experts"], rows[0]["sub"]
    (1, 20)
"""

from __future__ import annotations

import math

from moetheory.bounds.approximation import Target, pwl_approximator, to_fraction
from moetheory.bounds.architecture import check_count
from moetheory.bounds.monotone import least
from moetheory.errors import SizeError

KINDS = ("total", "active")


def _fits(target: Target, cells: int, sub: int, budget: int, kind: str, router: str) -> bool:
    arch = pwl_approximator(target, cells, sub, router).architecture
    if arch is None:
        raise SizeError(
            "a pwl approximator without an architecture: pwl_approximator always builds its network"
        )
    counts = arch.counts()
    return (counts.total if kind == "total" else counts.active) <= budget


def largest_sub(target: Target, cells: int, budget: int, kind: str, router: str = "grid") -> int:
    """The largest M with the K-cell mixture's count within ``budget`` (0 if none)."""
    return least(lambda sub: not _fits(target, cells, sub, budget, kind, router)) - 1


def _log_size(row: dict, law: int) -> float:
    """log(E · P^law) of a row, for integers of any size."""
    return math.log(row["experts"]) + law * math.log(row["expert_nonzero"])


def tradeoff_rows(
    target: Target, budget: object, kind: str = "total", router: str = "grid", max_rows: int = 12
) -> list[dict]:
    """Rows for K = 1, 2, 4, …, each at the largest M within ``budget`` (a whole number of
    parameters, e.g. 10**6 or "1e6")."""
    exact = to_fraction("budget", budget)
    if exact.denominator != 1:
        raise SizeError(f"budget must be a whole number of parameters, got {budget}")
    budget = check_count("budget", int(exact))
    if kind not in KINDS:
        raise SizeError(f"budget kind must be one of {', '.join(KINDS)}, got {kind!r}")
    rows: list[dict] = []
    cells = 1
    while len(rows) < max_rows:
        sub = largest_sub(target, cells, budget, kind, router)
        if sub == 0:
            break
        plan = pwl_approximator(target, cells, sub, router)
        row = plan.row()
        rows.append(row)
        cells *= 2
    if not rows:
        raise SizeError(f"budget {budget} is below the smallest mixture (one expert, M = 1)")
    a, d = float(target.alpha), target.dim
    first = rows[0]
    for key, law in (("law_shallow", 1), ("law_deep", 2)):
        for r in rows:  # (E·P^law)^(−α/d) relative to the first row, in logs (no float overflow)
            r[key] = first["guaranteed_error"] * math.exp(
                -a / d * (_log_size(r, law) - _log_size(first, law))
            )
    for r in rows:
        r["budget"], r["budget_kind"] = budget, kind
    return rows
