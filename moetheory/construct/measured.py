"""Measured tables: constructed approximators with the error their search found, and the
experts-versus-expert-size trade-off at a fixed budget, measured beside the predicted laws.

Example::

    >>> rows = measured_tradeoff("smooth", 1, None, dim=1, budget=2000, points=500)
    >>> [r["experts"] for r in rows][:3], rows[0]["measured_error"] <= rows[0]["guaranteed_error"]
    ([1, 2, 4], True)
"""

from __future__ import annotations

from moetheory.bounds.approximation import pwl_approximator
from moetheory.bounds.architecture import check_count
from moetheory.bounds.tradeoff import tradeoff_rows
from moetheory.construct.approximate import approximate, build, declared_class
from moetheory.construct.check import verify_construction
from moetheory.construct.verify import max_error, module_function
from moetheory.errors import SizeError


def measured_tradeoff(
    target,
    alpha,
    holder=None,
    dim: int = 2,
    budget=10**5,
    kind: str = "total",
    router: str = "grid",
    points: int = 20000,
    seed: int = 0,
    max_parameters: int = 1 << 24,
) -> list[dict]:
    """:func:`moetheory.bounds.tradeoff.tradeoff_rows` for ``target``, each row built (when
    within ``max_parameters``) and its error searched on about ``points`` points."""
    check_count("seed", seed, 0)
    fn, cls = declared_class(target, alpha, holder, dim)
    rows = tradeoff_rows(cls, budget, kind, router)
    for row in rows:
        row["target"], row["check_points"] = fn.name, points
        plan = pwl_approximator(cls, row["cells_per_axis"], row["sub"], router)
        try:
            c = build(plan, fn, "pwl", max_parameters)
        except SizeError:
            row["measured_error"] = None
            continue
        row["measured_error"] = max_error(
            module_function(c.module()), fn, dim, points, starts=4, seed=seed
        ).max_error
    return rows


def construction_rows(
    cases: list[tuple[str, object, int, str, str]],
    points: int = 20000,
    seed: int = 0,
    max_parameters: int = 1 << 22,
) -> list[dict]:
    """One row per (target, α, d, ε, expert): built and verified, or listed with its size
    when it exceeds ``max_parameters``."""
    rows = []
    for name, alpha, dim, eps, expert in cases:
        row = {"target": name, "dim": dim, "alpha": str(alpha), "eps": eps, "expert": expert}
        try:
            c = approximate(
                name, alpha, None, dim, eps, expert=expert, max_parameters=max_parameters
            )
        except SizeError as exc:
            row.update(status=f"not built: {str(exc).split(';')[0]}")
            rows.append(row)
            continue
        v = verify_construction(c, points, starts=4, seed=seed).to_json()
        row.update(
            {
                k: v[k]
                for k in (
                    "holder_constant",
                    "cells_per_axis",
                    "sub_cells",
                    "num_experts",
                    "guaranteed_error",
                    "max_error_found",
                    "check_points",
                )
            },
            total=v["parameters"]["total"],
            active=v["parameters"]["active"],
            status="within ε" if v["within_eps"] else "ABOVE ε",
        )
        rows.append(row)
    return rows
