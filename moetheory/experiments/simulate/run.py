"""``moetheory simulate``: fit every (n, replicate) of a simulation in batches, score each fit,
and compare the measured slope with the predicted one.

A configuration (plain data: a named one from :mod:`.named`, a TOML/JSON file, or a random
truth for any built-in pair) is validated by :func:`prepare` before any work: the profile
(``quick``, default or ``full``) is merged in, the run options split off, and the rest checked by
:func:`~moetheory.experiments.simulate.truth.load_simulation`. The fits then run on the shared
experiment runtime — a :class:`~moetheory.experiments.rundir.RunDirectory` and
:func:`~moetheory.experiments.sweep.run_sweep` — as chunks of units: the units of one sample
size, cut so that one chunk's padded tensors hold at most ``chunk_elements`` numbers
(S starts × k atoms × n per fit), each chunk one batched fit (:func:`fit_chunk`: EM for a
Gaussian MoE, Levenberg–Marquardt for regression) and one Dask task. A chunk is a pure function
of the configuration and its units' seeds, so a resumed run records what an uninterrupted one
would. The summary (``summary.json``: slope, interval, prediction, verdict; schema in
:func:`run_simulation`) is written last, with ``summary.md`` and the figure
``simulation.png`` / ``.pdf``.

Reference: ``shared/reference/identifiability.md`` §7, ``experiments.md`` §3, §5.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Mapping
from contextlib import ExitStack
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import torch

from moetheory.experiments.config import ConfigError
from moetheory.experiments.simulate.analysis import (
    fit_losses,
    loss_ceiling,
    predicted_slope,
    summarise,
    translates,
)
from moetheory.experiments.simulate.truth import Simulation, load_simulation, simulation_data
from moetheory.experiments.sweep import Unit, grid_units

__all__ = [
    "EXPERIMENT",
    "PROFILES",
    "RUN_KEYS",
    "fit_all",
    "fit_chunk",
    "prediction_for",
    "prepare",
    "run_simulation",
    "simulation_units",
    "summary_of",
]

EXPERIMENT = "simulate"

PROFILES = ("quick", "default", "full")
"""``--quick`` (under a minute on 2 cores), the default (minutes), ``--full`` (paper scale)."""

RUN_KEYS = (
    "name",
    "description",
    "reference",
    "quick",
    "full",
    "chunk_elements",
    "dtype",
    "threads",
)
"""Keys of a configuration file that are not part of the simulation itself."""

CHUNK_ELEMENTS = 2**23
"""Default bound on one chunk's S·k·n·(fits): about 64 MB per float64 tensor of that shape."""


def _merge(base: dict, over: Mapping[str, Any]) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def prepare(
    data: Mapping[str, Any],
    profile: str = "default",
    overrides: Mapping[str, Any] | None = None,
    where: str = "config",
) -> tuple[Simulation, dict[str, Any]]:
    """The validated simulation and its run options (name, description, reference slope,
    chunk size, dtype) of a configuration in the given profile, with ``overrides`` (e.g. the
    CLI's ``--seed``) applied last. Raises :class:`ConfigError` naming the field."""
    if profile not in PROFILES:
        raise ConfigError(f"profile {profile!r}: expected one of {', '.join(PROFILES)}")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of fields")
    base = {k: v for k, v in data.items() if k not in RUN_KEYS}
    if profile != "default":
        section = data.get(profile, {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"{where}: field {profile!r}: expected a table")
        base = _merge(base, {k: v for k, v in section.items() if k not in RUN_KEYS})
    base = _merge(base, overrides or {})
    sim = load_simulation(base, where)
    reference = data.get("reference", {})
    if not isinstance(reference, Mapping):
        raise ConfigError(f"{where}: field 'reference': expected a table")
    chunk = data.get("chunk_elements", CHUNK_ELEMENTS)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ConfigError(f"{where}: field 'chunk_elements' = {chunk!r}: expected an integer >= 1")
    dtype = data.get("dtype", "float64")
    if dtype not in ("float64", "float32"):
        raise ConfigError(f"{where}: field 'dtype' = {dtype!r}: expected float64 or float32")
    threads = data.get("threads", 1)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"{where}: field 'threads' = {threads!r}: expected an integer >= 1")
    options = {
        "threads": threads,
        "name": str(data.get("name", "simulation")),
        "description": str(data.get("description", "")),
        "reference": dict(reference),
        "chunk_elements": chunk,
        "dtype": dtype,
        "profile": profile,
    }
    return sim, options


def simulation_units(sim: Simulation) -> list[Unit]:
    """The (n, replicate) units, ids ``"n=…/replicate=…"``, seeds as in
    :func:`~moetheory.experiments.simulate.truth.simulation_data`."""
    return grid_units({"n": list(sim.sizes), "replicate": list(range(sim.replicates))}, sim.seed)


def _chunk_key(sim: Simulation, chunk_elements: int, unit: Unit) -> tuple[int, int]:
    n = unit.params["n"]
    per_chunk = max(1, chunk_elements // (sim.fit["starts"] * sim.k * n))
    return n, unit.params["replicate"] // per_chunk


@lru_cache(maxsize=8)
def _simulation(config_json: str) -> Simulation:
    return load_simulation(json.loads(config_json))


def fit_chunk(
    config_json: str, device: str, dtype: str, loss: str, threads: int, units: list[Unit]
) -> list[dict[str, Any]]:
    """Fit the given units of the simulation (its validated configuration as JSON) in one
    batch on ``device`` (torch intra-op ``threads`` on a CPU: the many small tensor operations
    of a fit are slower with threads competing for 2 cores), and score each fit by the Voronoi
    ``loss``. Pure: the result depends on the configuration and the units only."""
    from moetheory.experiments.batched import cpu_training

    with cpu_training(threads if device == "cpu" else None):
        return _fit_chunk(config_json, device, dtype, loss, units)


def _fit_chunk(
    config_json: str, device: str, dtype: str, loss: str, units: list[Unit]
) -> list[dict[str, Any]]:
    from moetheory.experiments.simulate.fit_em import EM_STATUS, fit_em
    from moetheory.experiments.simulate.fit_ls import STATUS, fit_least_squares

    sim = _simulation(config_json)
    data = simulation_data(sim, [u.id for u in units])
    dev, dt = torch.device(device), getattr(torch, dtype)
    starts = data.starts.to(dev, dt)
    fixed = sim.gauge
    model, fit = sim.truth.model, sim.fit
    kwargs = {"max_iter": fit["max_iter"], "tol": fit["tol"], "fixed": fixed}
    names: tuple[str, ...]
    if sim.truth.likelihood:
        em = fit_em(model, data.x, data.y, data.n, starts, **kwargs)
        fitted, objective, names, statuses = em.theta, em.loglik, EM_STATUS, em.status
        converged, iterations, best = em.converged, em.iterations, em.best_start
    else:
        ls = fit_least_squares(model, data.x, data.y, data.n, starts, **kwargs)
        fitted, objective, names, statuses = ls.theta, ls.cost, STATUS, ls.status
        converged, iterations, best = ls.converged, ls.iterations, ls.best_start
    theta = fitted.to("cpu", torch.float64)
    losses = fit_losses(sim, theta, loss)
    by_id = {uid: i for i, uid in enumerate(data.ids)}
    out = []
    for u in units:
        b = by_id[u.id]
        value = float(objective[b])
        loss_b = float(losses[b])
        out.append(
            {
                "n": u.params["n"],
                "replicate": u.params["replicate"],
                "loss": loss_b if math.isfinite(loss_b) else None,
                "converged": bool(converged[b]),
                "status": names[int(statuses[b])],
                "iterations": int(iterations[b]),
                "objective": value if math.isfinite(value) else None,
                "start": int(best[b]),
                "theta": theta[b].tolist(),
            }
        )
    return out


def prediction_for(sim: Simulation) -> dict[str, Any]:
    """The predicted slope of the simulation's pair and setting (exact- or over-specified):
    :func:`~moetheory.experiments.simulate.analysis.predicted_slope`, or for a formula pair
    :func:`~moetheory.experiments.simulate.analysis.formula_prediction`."""
    from moetheory.experiments.simulate.analysis import formula_prediction, slope_of

    model = sim.truth.model
    over = sim.k > sim.truth.k
    if model.gate_name == "formula" or model.expert_name == "formula":
        return slope_of(formula_prediction(sim), over=over)
    return predicted_slope(model.gate_name, model.expert_name, dim=model.dim, over=over)


def run_simulation(
    sim: Simulation,
    options: Mapping[str, Any],
    out: str | Path,
    *,
    device: str = "auto",
    scheduler: str | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Run (or resume) a prepared simulation into the run directory ``out``.

    Writes ``results.jsonl`` (one line per fit: ``unit``, ``seed``, ``n``, ``replicate``,
    ``loss``, ``converged``, ``status``, ``iterations``, ``objective`` — log-likelihood for EM,
    cost ½Σr² for least squares —, ``start``, ``theta``, ``seconds``), then ``summary.json``:
    the keys of :func:`~moetheory.experiments.simulate.analysis.summarise` plus ``experiment``,
    ``name``, ``gate``, ``expert``, ``model``, ``dim``, ``k_true``, ``k``, ``loss``,
    ``loss_note``, ``sizes``, ``replicates``, ``authors_slope``, ``authors_source``,
    ``seconds``, ``device``, ``seed``, ``profile``; ``summary.md``; ``simulation.png`` /
    ``.pdf``. Returns the summary."""
    from moetheory.experiments.device import resolve_device
    from moetheory.experiments.rundir import RunDirectory
    from moetheory.experiments.sweep import dask_client, run_sweep

    started = time.perf_counter()
    dev = resolve_device(device)
    prediction = prediction_for(sim)
    loss = prediction["loss"]
    config_json = json.dumps(sim.config, sort_keys=True)
    science = {
        "simulation": sim.config,
        "dtype": options["dtype"],
        "threads": options["threads"],
        "loss": loss,
        "chunk_elements": options["chunk_elements"],
    }
    units = simulation_units(sim)
    with ExitStack() as stack:
        client = stack.enter_context(dask_client(scheduler)) if scheduler is not None else None
        run = RunDirectory(
            out, experiment=EXPERIMENT, config=science, device=dev.type, resume=resume
        )
        lines = run_sweep(
            units,
            None,
            run,
            client=client,
            desc="fits",
            batch=partial(
                fit_chunk, config_json, dev.type, options["dtype"], loss, options["threads"]
            ),
            chunk_key=partial(_chunk_key, sim, options["chunk_elements"]),
        )
    seconds = float(run.run_info().get("seconds", {}).get("fits", 0.0))
    summary = summary_of(sim, options, lines, prediction, device=dev.type, seconds=seconds)
    summary["resumed"] = len(run.run_info().get("resumed", []))
    summary["wall_seconds"] = round(time.perf_counter() - started, 3)
    _present(summary, run.path)
    run.write_json("summary.json", summary)  # last: its presence marks a finished run
    return summary


def summary_of(
    sim: Simulation,
    options: Mapping[str, Any],
    lines: list[dict],
    prediction: dict[str, Any],
    *,
    device: str,
    seconds: float,
) -> dict[str, Any]:
    """The summary of a finished simulation (schema: :func:`run_simulation`) from its per-fit
    result lines."""
    model = sim.truth.model
    reference = options["reference"]
    stats = summarise(lines, prediction, seed=sim.seed, ceiling=loss_ceiling(sim))
    return {
        "experiment": EXPERIMENT,
        "name": options["name"],
        "description": options["description"],
        "gate": _label(sim.config["gate"]),
        "expert": _label(sim.config["expert"]),
        "model": "gaussian" if sim.truth.likelihood else "regression",
        "dim": model.dim,
        "k_true": sim.truth.k,
        "k": sim.k,
        "loss": prediction["loss"],
        "loss_note": _loss_note(sim),
        "sizes": list(sim.sizes),
        "replicates": sim.replicates,
        "starts": sim.fit["starts"],
        "init": f"{sim.fit['init']} (scale {sim.fit['init_scale']})",
        "noise": None if sim.truth.likelihood else sim.truth.noise,
        "truth": {"names": list(model.param_names), "atoms": sim.truth.theta.tolist()},
        **stats,
        "authors_slope": reference.get("slope"),
        "authors_source": reference.get("source"),
        "seconds": round(seconds, 3),
        "device": device,
        "dtype": options["dtype"],
        "seed": sim.seed,
        "profile": options["profile"],
    }


def _label(side: object) -> str:
    """A side's name, or its formula for a formula side."""
    return str(side["formula"]) if isinstance(side, dict) else str(side)


def _loss_note(sim: Simulation) -> str:
    from moetheory.experiments.simulate.symmetry import scale_symmetry

    gauge = sim.gauge
    parts = []
    if gauge is not None:
        names = sim.truth.model.param_names
        held = ", ".join(n for n, f in zip(names, gauge[-1].tolist(), strict=True) if f)
        parts.append(
            f"fits hold the last atom's {held} at the truth's values (a mass shared by c "
            "atoms: less log c)"
        )
    if translates(sim):
        parts.append(
            f"loss: infimum over the softmax translation (numerical search; at most "
            f"{loss_ceiling(sim):.4g}, the value of a fit no translation brings near the truth)"
        )
    found = scale_symmetry(sim.truth.model)
    if found is not None and sim.config.get("rescaling") == "keep":
        parts.append(f"raw parameters: the rescaling of ({', '.join(found[0])}) kept in the loss")
    elif found is not None:
        cols, by = found
        parts.append(
            f"atoms compared with ({', '.join(cols)}) divided by "
            + (by if by is not None else "their norm")
            + " (a rescaling the gate cannot see)"
        )
    return "; ".join(parts) or "raw parameters (no gauge, no rescaling symmetry)"


def fit_all(sim: Simulation, options: Mapping[str, Any], device: str) -> list[dict[str, Any]]:
    """Every unit's fit, in this process and without a run directory (the chunks of
    :func:`run_simulation`, one after the other): what one ``--atlas`` task runs."""
    prediction = prediction_for(sim)
    units = simulation_units(sim)
    config_json = json.dumps(sim.config, sort_keys=True)
    chunks: dict[tuple[int, int], list[Unit]] = {}
    for u in units:
        chunks.setdefault(_chunk_key(sim, options["chunk_elements"], u), []).append(u)
    lines = []
    for chunk in chunks.values():
        lines += fit_chunk(
            config_json, device, options["dtype"], prediction["loss"], options["threads"], chunk
        )
    return lines


def _present(summary: dict[str, Any], path: Path) -> None:
    from moetheory.files import atomic_file, write_text_atomic
    from moetheory.present.formats import render

    write_text_atomic(path / "summary.md", render("simulation", "md", summary))
    for fmt in ("png", "pdf"):
        with atomic_file(path / f"simulation.{fmt}") as handle:
            handle.write(render("simulation", fmt, summary))
