"""Run a study on the shared runtime: one unit of work per seed, results streamed, analysed,
presented — the ``run_experiment`` of the Soft MoE and MomentumSMoE studies.

:func:`run_study` resolves the device, connects to a Dask scheduler when one is named (before
the run directory exists, so an unreachable one leaves nothing behind), opens (or resumes) the
run directory with the configuration's science fields, runs the units through
:func:`~moetheory.experiments.sweep.run_sweep`, analyses the lines, adds device, scheduler,
timings and resume count, writes the figure (PNG and PDF) and ``summary.md``, and writes
``summary.json`` last (its presence marks a finished run).

Reference: ``shared/reference/experiments.md`` §5.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moetheory.experiments.sweep import Unit

__all__ = ["Study", "run_study"]


@dataclass(frozen=True)
class Study:
    """What a study declares: its name (``run.json``'s experiment), the configuration fields
    that only say how to run (left out of the science configuration), how to make its units
    from a configuration and a device, the pure work of one unit, the analysis of the lines,
    and its figure and Markdown renderers with the figure's file stem."""

    experiment: str
    run_fields: Sequence[str]
    units: Callable[[Mapping[str, Any], str], list[Unit]]
    work: Callable[[Unit], dict]
    analyse: Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], dict]
    figure: Callable[[Mapping[str, Any]], Any]
    markdown: Callable[[Mapping[str, Any]], str]
    stem: str


def run_study(
    study: Study, config: Mapping[str, Any], out: str | Path, *, resume: bool = False
) -> dict:
    """Run (or resume) ``study`` with ``config`` into the run directory ``out``; returns the
    summary (module docstring)."""
    from moetheory.experiments.device import resolve_device
    from moetheory.experiments.rundir import RunDirectory
    from moetheory.experiments.sweep import dask_client, run_sweep
    from moetheory.files import write_text_atomic
    from moetheory.present.plots import save_figure

    started = time.perf_counter()
    config = dict(config)
    device = resolve_device(config["device"])
    scheduler = None if config["scheduler"] == "none" else config["scheduler"]
    science = {k: v for k, v in config.items() if k not in study.run_fields}
    science["device"] = device.type
    with ExitStack() as stack:
        client = stack.enter_context(dask_client(scheduler)) if scheduler is not None else None
        run = RunDirectory(
            out, experiment=study.experiment, config=science, device=device.type, resume=resume
        )
        lines = run_sweep(
            study.units(config, device.type), study.work, run, client=client, desc="train"
        )
    summary = study.analyse(config, lines)
    info = run.run_info()
    summary["device"] = device.type
    summary["scheduler"] = config["scheduler"]
    summary["seconds"] = {
        **{k: round(v, 3) for k, v in info.get("seconds", {}).items()},
        "this_invocation": round(time.perf_counter() - started, 3),
    }
    summary["resumed"] = len(info.get("resumed", []))
    save_figure(study.figure(summary), run.path / study.stem)
    write_text_atomic(run.path / "summary.md", study.markdown(summary))
    summary["seconds"]["this_invocation"] = round(time.perf_counter() - started, 3)
    run.write_json("summary.json", summary)  # last: its presence marks a finished run
    return summary
