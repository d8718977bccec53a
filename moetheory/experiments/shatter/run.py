"""One shattering run as the command line does it: sizes checked first, then the work, then a
plain-data summary (the contract of ``moetheory shatter --json``).

Summary fields (exact runs; training runs: :func:`moetheory.experiments.shatter.training.
run_training`): ``model``, ``method`` ("exact"), ``solver`` (lp | enumeration | milp | trivial),
``dim``, ``points``, ``experts``, ``point_set``, ``seed``, ``shattered`` (true | false | null),
``shattered_exact`` (the answer rests on exact certificates only), ``labelings_checked``
(2^m: every labelling, half of them solved and the other half by y → −y),
``labelings_solved``, ``labelings_realised``, ``labelings_unrealised``,
``labelings_undecided``, ``exact_claims`` {realised, unrealised}, ``solver_status_claims``
(unrealised by MILP status only), ``cover_count`` (Cover's C(m, d+1) for halfspaces, C(m, d)
for sgn(wᵀx), when the points are in general position; else null), ``general_position``,
``vc_upper``, ``vc_lower``, ``vc_sources``, ``certificates`` (the file), ``seconds``,
``notes``.

Example::

    >>> import tempfile
    >>> s = run_exact("halfspace", dim=2, m=3, point_set="moment", out=tempfile.mkdtemp())
    >>> s["shattered"], s["labelings_realised"], s["cover_count"], s["vc_lower"]
    (True, 8, 8, 3)

Reference: experiments.md §1; issue 16 (contract of ``moetheory shatter``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moetheory.experiments.config import ConfigError
from moetheory.experiments.shatter.bounds import calculator_bounds
from moetheory.experiments.shatter.certificate import write_certificate
from moetheory.experiments.shatter.exact import (
    CLASSIFIER_MODELS,
    ROUTER_MODELS,
    cover_count,
    plan_exact,
    shatter_exact,
)
from moetheory.experiments.shatter.points import (
    STRUCTURED,
    general_position,
    load_points,
    make_point_set,
)


def run_exact(
    model: str,
    dim: int,
    m: int,
    experts: int = 1,
    point_set: str = "random",
    seed: int = 0,
    out: str | Path = ".",
    method: str = "auto",
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> dict[str, Any]:
    """Exact shattering of one point set (module docstring); writes the certificate in
    ``out`` and returns the summary."""
    plan_exact(model, m, dim, experts, method)  # sizes first, before any work
    points = make_point_set(point_set, m, dim, seed)
    result = shatter_exact(points, model, experts, method, seed=seed, progress=progress)
    path = write_certificate(result, out)
    counts = result.counts()
    affine = model != "linear"
    general = general_position(points.points, affine=affine)
    params = dim + 1 if affine else dim
    cover = cover_count(m, params) if general and model in CLASSIFIER_MODELS else None
    bounds = calculator_bounds(model, dim, experts)
    return {
        "model": model,
        "method": "exact",
        "solver": result.method,
        "dim": dim,
        "points": m,
        "experts": experts if model in ROUTER_MODELS else None,
        "point_set": points.source,
        "seed": seed,
        "shattered": result.shattered,
        "shattered_exact": result.shattered_exact,
        "labelings_checked": counts["labelings"],
        "labelings_solved": len(result.outcomes),
        "labelings_realised": counts["realised"],
        "labelings_unrealised": counts["unrealised"],
        "labelings_undecided": counts["undecided"],
        "exact_claims": {
            "realised": counts["realised_exact"],
            "unrealised": counts["unrealised_exact"],
        },
        "solver_status_claims": counts["unrealised_solver"],
        "cover_count": cover,
        "general_position": general,
        **bounds,
        "certificates": str(path),
        "seconds": round(result.seconds, 3),
        "notes": result.notes,
    }


def check_shatter_options(options: dict[str, Any]) -> dict[str, Any]:
    """The command's options checked and completed before any work: an option that does not
    apply to the model, sizes beyond the method's limits, or a points file that cannot be read
    raise a :class:`~moetheory.experiments.config.ConfigError` naming the value (exit 2)."""
    from moetheory.experiments.shatter.training import MAX_TRAIN_POINTS, RANDOM_SETS, STEPS

    model = options["model"]
    out = dict(options)
    given = {
        k
        for k in ("experts", "width", "depth", "steps", "random_sets")
        if options.get(k) is not None
    }
    allowed = (
        {"experts", "width", "depth", "steps", "random_sets"}
        if model == "moe"
        else {"experts"}
        if model in ROUTER_MODELS
        else set()
    )
    extra = sorted(given - allowed)
    if extra:
        name = extra[0].replace("_", "-")
        raise ConfigError(f"--{name} {options[extra[0]]} does not apply to --model {model}")
    if options.get("method", "auto") != "auto" and model not in ROUTER_MODELS:
        raise ConfigError(f"--method {options['method']} applies to the router models only")
    if model == "moe":
        out["experts"] = options.get("experts") or 2
        out["width"] = options.get("width") or 4
        out["depth"] = 1 if options.get("depth") is None else options["depth"]
        out["steps"] = options.get("steps") or STEPS
        out["random_sets"] = options.get("random_sets") or RANDOM_SETS
        if not 1 <= options["points"] <= MAX_TRAIN_POINTS:
            raise ConfigError(
                f"--points {options['points']}: training-based shattering "
                f"takes 1 to {MAX_TRAIN_POINTS} points"
            )
        from moetheory.experiments.device import resolve_device

        resolve_device(options.get("device") or "auto")
    else:
        out["experts"] = (options.get("experts") or 2) if model in ROUTER_MODELS else 1
        plan_exact(
            model,
            options["points"],
            options["dim"],
            out["experts"],
            options.get("method") or "auto",
        )
    name = options.get("point_set") or "random"
    if name not in STRUCTURED:  # a file: read and validated now
        load_points(name, options["dim"], options["points"])
    return out


def run_shatter(
    options: dict[str, Any],
    out: str | Path = ".",
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> dict[str, Any]:
    """Run ``moetheory shatter`` with options checked by :func:`check_shatter_options`."""
    if options["model"] == "moe":
        from moetheory.experiments.shatter.training import run_training

        return run_training(
            options["dim"],
            options["points"],
            options["experts"],
            options["width"],
            options["depth"],
            options.get("point_set") or "random",
            options.get("seed") or 0,
            options["steps"],
            options["random_sets"],
            options.get("device") or "auto",
            progress=progress,
        )
    summary = run_exact(
        options["model"],
        options["dim"],
        options["points"],
        options["experts"],
        options.get("point_set") or "random",
        options.get("seed") or 0,
        out,
        options.get("method") or "auto",
        progress=progress,
    )
    if (options.get("device") or "auto") == "cuda":
        summary["notes"].append("--device cuda ignored: exact shattering runs on the CPU")
    return summary
