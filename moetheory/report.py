"""The main job: identify every built-in router–expert pair, match each against the theorem
catalogue and write a report directory.

Files: ``atlas.md``, ``atlas.tex``, ``atlas.csv``, ``atlas.json`` (the atlas, byte-identical
across runs), ``identifiability.json`` (one verdict per pair with its certificate, re-checkable
by ``moetheory verify``), ``identifiability.md`` (verdict table), ``approximation.{md,tex,csv,
json}`` (the default approximation-rate table), ``tradeoff.md`` (experts versus expert size at
fixed budgets), ``bounds.md`` and ``bounds.json`` (parameter counts and VC bounds of example
architectures), ``constructions.{md,json}`` (constructed approximators with measured errors),
``tradeoff_measured.md`` (the trade-off built and measured), ``summary.md`` (environment,
seeds, r̄ values used, timing).

The directory is written atomically (``moetheory.files.atomic_directory``): every file goes
into a hidden temporary sibling, which replaces the directory only when the report is
complete, so an interrupted run leaves the previous report exactly as it was. A directory that
holds files a report does not write is refused before any computation, never overwritten.

Example
-------
A full report takes about a minute (``moetheory report``); a directory of other files is
refused at once:

>>> import shutil, tempfile
>>> out = Path(tempfile.mkdtemp())
>>> _ = (out / "notes.txt").write_text("mine")
>>> try:
...     write_report(out)
... except MoetheoryError as exc:
...     print(str(exc).replace(str(out), "DIR"))
DIR holds files a report does not write (notes.txt): the report replaces the whole \
directory; choose a new or empty one
>>> shutil.rmtree(out)

Reference: README.md (the report).
"""

from __future__ import annotations

import os
import platform
import time
from fractions import Fraction
from pathlib import Path

from moetheory.bounds.approximation import Target, approximation_rows
from moetheory.bounds.architecture import Architecture
from moetheory.bounds.tradeoff import tradeoff_rows
from moetheory.bounds.vc import vc_bounds
from moetheory.construct.measured import construction_rows, measured_tradeoff
from moetheory.errors import MoetheoryError
from moetheory.families import EXPERTS, ROUTERS
from moetheory.files import atomic_directory
from moetheory.present.atlas import EXTENSIONS, render_atlas
from moetheory.present.bounds import (
    approximation_table,
    bounds_json,
    bounds_markdown,
    tradeoff_table,
)
from moetheory.present.construct import constructions_table, measured_tradeoff_table
from moetheory.present.jsonio import dumps
from moetheory.present.markdown import verdict_table
from moetheory.rates.atlas import identify_all, rows_from_verdicts
from moetheory.rates.rbar import rbar_value

REPORT_FILES = tuple(f"{name}.{ext}" for name in ("atlas", "approximation")
                     for ext in EXTENSIONS.values()) + (
    "identifiability.md", "identifiability.json", "tradeoff.md", "bounds.md", "bounds.json",
    "constructions.md", "constructions.json", "tradeoff_measured.md", "summary.md")
"""Every file of a report directory."""


def write_report(out: Path, dim: int = 2, seed: int = 0, workers: int | None = None,
                 gates: list[str] | None = None, experts: list[str] | None = None) -> Path:
    """Write the report directory ``out`` atomically (default: every built-in pair) and
    return it; an existing ``out`` may hold report files only (``MoetheoryError`` otherwise)."""
    if out.is_dir():
        foreign = sorted(set(os.listdir(out)) - set(REPORT_FILES))
        if foreign:
            raise MoetheoryError(f"{out} holds files a report does not write "
                                 f"({', '.join(foreign[:3])}{', …' if len(foreign) > 3 else ''})"
                                 ": the report replaces the whole directory; choose a new or "
                                 "empty one")
    with atomic_directory(out) as tmp:
        _write_report(tmp, dim, seed, workers, gates, experts)
    return out


def _write_report(out: Path, dim: int, seed: int, workers: int | None,
                  gates: list[str] | None, experts: list[str] | None) -> None:
    """The report's files, written into ``out`` (the temporary directory)."""
    import flint
    import numpy
    import sympy

    pairs = [(g, e) for g in (ROUTERS if gates is None else gates)
             for e in (EXPERTS if experts is None else experts)]
    start = time.perf_counter()
    verdicts = identify_all(pairs, dim=dim, seed=seed, workers=workers)
    identify_seconds = time.perf_counter() - start
    rows = rows_from_verdicts(verdicts, dim, rbar=rbar_value)
    for fmt, ext in EXTENSIONS.items():
        (out / f"atlas.{ext}").write_text(render_atlas(rows, fmt))
    (out / "identifiability.md").write_text(
        f"# Identifiability of router–expert pairs (d = {dim}, order 2)\n\n"
        + verdict_table(verdicts))
    (out / "identifiability.json").write_text(dumps([v.to_json() for v in verdicts]) + "\n")
    write_bounds(out)
    write_constructions(out, seed)
    covered = sum(r.prediction.covered for r in rows)
    disagree = sum(r.prediction.agrees_with_paper is False for r in rows)
    incomplete = [f"{v.gate} × {v.expert}" for v in verdicts
                  if v.certificate.get("status") != "complete"]
    used = sorted({(m, val) for r in rows for m, val in r.prediction.rbar.items()})
    (out / "summary.md").write_text(
        "# moetheory report\n\n"
        f"- pairs: {len(rows)} (d = {dim}, order 2, seed {seed}); identify took "
        f"{identify_seconds:.1f} s, whole report {time.perf_counter() - start:.1f} s\n"
        f"- covered by a catalogue theorem: {covered}; no theorem covers: {len(rows) - covered}; "
        f"paper claim and computation disagree: {disagree}\n"
        f"- r̄ values used (r2 system, computed with certificates): "
        f"{', '.join(f'r̄({m}) = {v}' for m, v in used) or 'none'}\n"
        f"- certificates not complete: {', '.join(incomplete) or 'none'}\n"
        f"- python {platform.python_version()}, sympy {sympy.__version__}, numpy "
        f"{numpy.__version__}, python-flint {flint.__version__}, {platform.machine()}\n"
        "- every verdict in identifiability.json carries its certificate: "
        "`moetheory verify` re-checks one saved verdict\n"
        "- approximation.* (d = 1, 2, 3; α = 0.5, 1; ε = 1e-1, 1e-2, 1e-3; λ = 1, ℓ₂), "
        "tradeoff.md and bounds.{md,json}: `moetheory tables` and `moetheory bounds` print "
        "the same\n"
        "- constructions.{md,json}: approximators built as torch modules for the built-in "
        "targets (d = 1, 2, 3; ε = 0.1, 0.01), error found by search; tradeoff_measured.md: "
        "the trade-off tables built and measured; `moetheory construct` builds one\n")


EXAMPLES = (  # architectures in the bounds summary
    Architecture(dim=2, experts=1, hidden=(16, 16), router="none"),
    Architecture(dim=2, experts=8, hidden=(16, 16), router="prototype"),
    Architecture(dim=2, experts=16, hidden=(16, 16), router="grid"),
    Architecture(dim=2, experts=16, hidden=(16, 16), router="tree"),
    Architecture(dim=10, experts=64, hidden=(64, 64, 64), router="linear"),
    Architecture(dim=10, experts=64, hidden=(64, 64, 64), activation="prelu",
                 router="linear", top_k=2),
)


def write_bounds(out: Path) -> None:
    """The approximation-rate table, the trade-off tables and the bounds summary."""
    rows = approximation_rows([1, 2, 3], ["0.5", "1"], ["1e-1", "1e-2", "1e-3"])
    for fmt, ext in EXTENSIONS.items():
        (out / f"approximation.{ext}").write_text(approximation_table(rows, fmt))
    target = Target.of(2, 1)
    (out / "tradeoff.md").write_text(
        tradeoff_table(tradeoff_rows(target, 10**6, "total"), "md") + "\n"
        + tradeoff_table(tradeoff_rows(target, 10**4, "active"), "md"))
    bounds = [(a, vc_bounds(a)) for a in EXAMPLES]
    (out / "bounds.md").write_text("# Parameter counts and VC-dimension bounds\n\n"
                                   + "\n".join(bounds_markdown(a, b) for a, b in bounds))
    (out / "bounds.json").write_text(dumps([bounds_json(a, b) for a, b in bounds]) + "\n")


CONSTRUCTION_CASES = [(name, alpha, d, eps, expert)
                      for name, alpha in (("abs-power", 1), ("sawtooth", Fraction(3, 4)),
                                          ("smooth", 1))
                      for d in (1, 2, 3) for eps in ("0.1", "0.01")
                      for expert in ("constant", "pwl")]


def write_constructions(out: Path, seed: int = 0) -> None:
    """Built approximators with their measured errors (``constructions.md``/``.json``) and
    the measured trade-off at fixed total and active budgets (``tradeoff_measured.md``)."""
    rows = construction_rows(CONSTRUCTION_CASES, seed=seed)
    (out / "constructions.md").write_text(constructions_table(rows, "md"))
    (out / "constructions.json").write_text(dumps(rows) + "\n")
    (out / "tradeoff_measured.md").write_text("\n".join(
        measured_tradeoff_table(measured_tradeoff("abs-power", 1, None, 2, budget, kind,
                                                  seed=seed), "md")
        for budget, kind in ((10**5, "total"), (2000, "active"))))
