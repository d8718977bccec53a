"""``moetheory simulate --atlas``: a default-size simulation for every atlas pair, one Dask sweep.

Each built-in router × expert pair (or a filtered set) is one unit of a sweep
(:func:`~moetheory.experiments.sweep.run_sweep`): a random truth
(:func:`~moetheory.experiments.simulate.named.random_config`, seeded by the pair and
``truth_seed``), all its fits (:func:`~moetheory.experiments.simulate.run.fit_all`) and its
summary, computed in one task — on this process, a ``LocalCluster`` or a running scheduler. A
pair the simulator refuses (a two-level router, an unnormalised router with a Gaussian expert, a
dimension the family does not allow) is recorded with its reason, not dropped. The run
directory holds ``results.jsonl`` (one summary per pair), ``summary.json`` (all of them) and the
measured-vs-predicted table ``atlas.md`` / ``atlas.csv``; ``--resume`` skips the pairs done.

Reference: ``shared/reference/experiments.md`` §5; identifiability.md §6 (the atlas).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from moetheory.experiments.config import ConfigError
from moetheory.experiments.simulate.records import ATLAS
from moetheory.experiments.sweep import Unit, unit_seed

__all__ = ["simulate_pair", "run_atlas"]


def simulate_pair(
    gate: str,
    expert: str,
    dim: int,
    profile: str,
    seed: int,
    truth_seed: int,
    device: str,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary of one pair's simulation with a random truth, or ``{"refused": reason}``."""
    from moetheory.experiments.device import resolve_device
    from moetheory.experiments.simulate.named import random_config
    from moetheory.experiments.simulate.run import fit_all, prediction_for, prepare, summary_of

    started = time.perf_counter()
    try:
        data = random_config(gate, expert, dim=dim, seed=truth_seed)
        sim, options = prepare(
            data, profile, {**(overrides or {}), "seed": seed}, f"{gate} × {expert}"
        )
    except ConfigError as exc:
        return {"gate": gate, "expert": expert, "refused": str(exc)}
    dev = resolve_device(device).type
    lines = fit_all(sim, options, dev)
    return summary_of(
        sim,
        options,
        lines,
        prediction_for(sim),
        device=dev,
        seconds=time.perf_counter() - started,
    )


def _work(
    dim: int,
    profile: str,
    truth_seed: int,
    device: str,
    overrides: Mapping[str, Any],
    unit: Unit,
) -> dict[str, Any]:
    p = unit.params
    return simulate_pair(
        p["gate"], p["expert"], dim, profile, unit.seed, truth_seed, device, overrides
    )


def run_atlas(
    out: str | Path,
    *,
    gates: Sequence[str] | None = None,
    experts: Sequence[str] | None = None,
    dim: int = 2,
    profile: str = "default",
    seed: int = 0,
    truth_seed: int = 0,
    device: str = "auto",
    scheduler: str | None = None,
    resume: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> str:
    """Simulate every pair of ``gates`` × ``experts`` (default: all built-ins) into the run
    directory ``out``; returns the Markdown table of measured vs predicted slopes.
    ``overrides`` (e.g. ``sizes``, ``replicates``) apply to every pair's configuration."""
    from functools import partial

    from moetheory.experiments.device import resolve_device
    from moetheory.experiments.rundir import RunDirectory
    from moetheory.experiments.sweep import dask_client, run_sweep
    from moetheory.families.registry import EXPERTS, ROUTERS
    from moetheory.files import write_text_atomic
    from moetheory.present.formats import render

    gate_list = list(gates) if gates else list(ROUTERS)
    expert_list = list(experts) if experts else list(EXPERTS)
    units = [
        Unit(
            f"gate={g}/expert={e}",
            unit_seed(seed, f"gate={g}/expert={e}"),
            {"gate": g, "expert": e},
        )
        for g in gate_list
        for e in expert_list
    ]
    dev = resolve_device(device).type
    config = {
        "gates": gate_list,
        "experts": expert_list,
        "dim": dim,
        "profile": profile,
        "seed": seed,
        "truth_seed": truth_seed,
        "overrides": dict(overrides or {}),
    }
    with ExitStack() as stack:
        client = stack.enter_context(dask_client(scheduler)) if scheduler is not None else None
        run = RunDirectory(
            out, experiment="simulate-atlas", config=config, device=dev, resume=resume
        )
        lines = run_sweep(
            units,
            partial(_work, dim, profile, truth_seed, dev, dict(overrides or {})),
            run,
            client=client,
            desc="pairs",
        )
    done = [line for line in lines if "refused" not in line]
    refused = [line for line in lines if "refused" in line]
    table = render("simulations", "md", done)
    if refused:
        table += "\nRefused pairs:\n\n" + "".join(
            f"- {r['gate']} × {r['expert']}: {r['refused']}\n" for r in refused
        )
    write_text_atomic(run.path / "atlas.md", table)
    write_text_atomic(run.path / "atlas.csv", render("simulations", "csv", done))
    run.write_json("summary.json", {"experiment": ATLAS, "pairs": done, "refused": refused})
    return table
