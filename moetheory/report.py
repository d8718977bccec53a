"""The main job: identify every built-in router–expert pair, match each against the theorem
catalogue and write a report directory that explains itself.

Files (:data:`FILES` says what each holds): ``index.md`` and ``index.html`` (every file linked
with one line on what it holds, the plots, the environment, the seeds and the run time of each
part; written last), ``summary.md`` (headline numbers), ``atlas.md``, ``atlas.tex``,
``atlas.csv``, ``atlas.json`` (the atlas, byte-identical across runs; a legend under the
Markdown and LaTeX tables) and ``atlas.png``/``.pdf`` (the gate × expert grid of verdicts),
``identifiability.json`` (one verdict per pair with its certificate, re-checkable by
``moetheory verify``), ``identifiability.md`` (verdict table), ``rbar_r2_m2.json`` and
``rbar_r2_m3.json`` (the certificates of the r̄ values the atlas uses, re-checkable by
``moetheory verify``), ``approximation.{md,tex,csv,json}`` (the default approximation-rate
table) and ``approximation.{png,pdf}`` (its law, log-log), ``tradeoff.md`` (experts versus
expert size at fixed budgets) and ``tradeoff.{png,pdf}`` (the trade-off law, predicted and
measured, log-log), ``bounds.md`` and ``bounds.json`` (parameter counts and VC bounds of
example architectures), ``constructions.{md,json}`` (constructed approximators with measured
errors), ``tradeoff_measured.md`` (the trade-off built and measured).

Each part of the run shows a progress bar on stderr when stderr is a terminal
(``moetheory.present.progress``); the files are the same either way.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from moetheory.bounds.approximation import Target, approximation_rows
from moetheory.bounds.architecture import Architecture
from moetheory.bounds.tradeoff import tradeoff_rows
from moetheory.bounds.vc import vc_bounds
from moetheory.construct.approximate import MAX_PARAMETERS
from moetheory.construct.measured import construction_rows, measured_tradeoff
from moetheory.errors import MoetheoryError
from moetheory.families import EXPERTS, ROUTERS
from moetheory.files import atomic_directory
from moetheory.identify.verdict import Verdict
from moetheory.present.atlas import render_atlas
from moetheory.present.bounds import (
    approximation_table,
    bounds_json,
    bounds_markdown,
    tradeoff_table,
)
from moetheory.present.construct import constructions_table, measured_tradeoff_table
from moetheory.present.formats import FORMATS, formats_for
from moetheory.present.index import Index, index_html, index_markdown
from moetheory.present.jsonio import dumps
from moetheory.present.markdown import verdict_table
from moetheory.present.plots import (
    approximation_figure,
    atlas_figure,
    save_figure,
    tradeoff_figure,
)
from moetheory.present.progress import progress
from moetheory.rates.atlas import SIZES, AtlasRow, identify_all, rows_from_verdicts
from moetheory.rbar import RbarResult, solve_rbar

RBAR_SYSTEM = "r2"
"""The r̄ system of the atlas's r̄-dependent rates (printed t4 variant, as ``rbar_value``)."""


def rbar_file(m: int) -> str:
    """The name of the certificate of r̄(m) in a report directory."""
    return f"rbar_{RBAR_SYSTEM}_m{m}.json"


FILES: dict[str, str] = {
    "index.md": "this index: every file of the report with what it holds, the plots, the "
    "environment, the seeds and the run time of each part",
    "index.html": "the same index as a web page (open it in a browser; no external assets)",
    "summary.md": "headline numbers: pairs, theorem coverage, disagreements with the papers, "
    "r̄ values used, incomplete certificates, environment",
    "atlas.md": "the identifiability atlas: every router × expert pair with its relations, "
    "verdicts, estimation rates, covering theorem and the papers' claims; legend "
    "under the table",
    "atlas.tex": "the atlas as a LaTeX longtable (booktabs), with its legend",
    "atlas.csv": "the atlas as CSV (the columns of atlas.md; legend there)",
    "atlas.json": "the atlas rows as JSON, with each theorem's hypotheses as checked",
    "atlas.png": "the atlas as a gate × expert grid coloured by the strong and weak verdicts",
    "atlas.pdf": "the same plot as PDF",
    "identifiability.md": "one row per pair: strong, strong (literal), weak and "
    "interaction-free verdicts and the classes of the relations found",
    "identifiability.json": "every verdict with its relations and certificate; `moetheory "
    "verify identifiability.json` re-checks them",
    **{
        rbar_file(m): f"the certificate of r̄({m}) ({RBAR_SYSTEM} system): exact witnesses below "
        "it and a proof at it; `moetheory verify` re-checks it"
        for m in SIZES
    },
    "approximation.md": "approximation rates: sizes of each construction for an α-Hölder "
    "target at accuracy ε (d = 1, 2, 3; α = 0.5, 1; ε = 1e-1, 1e-2, "
    "1e-3); also `moetheory tables approximation`",
    "approximation.tex": "the approximation table in LaTeX",
    "approximation.csv": "the approximation table as CSV, every digit",
    "approximation.json": "the approximation rows as JSON, with sources",
    "approximation.png": "the approximation law: dense parameters against ε, log-log, per "
    "(α, d) and method",
    "approximation.pdf": "the same plot as PDF",
    "tradeoff.md": "experts versus expert size at a fixed total and a fixed active budget "
    "(predicted); also `moetheory tables tradeoff`",
    "tradeoff_measured.md": "the trade-off built as torch modules and its error measured by search",
    "tradeoff.png": "the trade-off law: error against the number of experts, log-log, "
    "predicted and measured tables",
    "tradeoff.pdf": "the same plot as PDF",
    "bounds.md": "parameter counts and VC-dimension bounds of six example architectures; "
    "also `moetheory bounds`",
    "bounds.json": "the same bounds as JSON, with the certificates of the VC inversions",
    "constructions.md": "approximators built as torch modules for the built-in targets (d = 1, "
    "2, 3; ε = 0.1, 0.01) with the error their search found; also "
    "`moetheory construct`",
    "constructions.json": "the constructions as JSON",
}
"""Every file of a report directory, in reading order, with what it holds."""

REPORT_FILES = tuple(FILES)
"""Every file of a report directory."""

FIGURES = (
    ("atlas.png", "Verdicts of every router × expert pair (atlas.md)"),
    (
        "approximation.png",
        "Approximation law: parameters needed for sup error ε (approximation.md)",
    ),
    ("tradeoff.png", "Trade-off law at fixed budgets (tradeoff.md, tradeoff_measured.md)"),
)
"""The plots the index shows, with captions."""

CONSTRUCTION_LIMIT = 1 << 22
"""Dense parameters above which the report lists a construction without building it."""
MEASURED_LIMIT = 1 << 24
"""Dense parameters above which the measured trade-off leaves a mixture unbuilt."""


def write_report(
    out: Path,
    dim: int = 2,
    seed: int = 0,
    workers: int | None = None,
    gates: list[str] | None = None,
    experts: list[str] | None = None,
) -> Path:
    """Write the report directory ``out`` atomically (default: every built-in pair) and
    return it; an existing ``out`` may hold report files only (``MoetheoryError`` otherwise)."""
    if out.is_dir():
        foreign = sorted(set(os.listdir(out)) - set(REPORT_FILES))
        if foreign:
            raise MoetheoryError(
                f"{out} holds files a report does not write "
                f"({', '.join(foreign[:3])}{', …' if len(foreign) > 3 else ''})"
                ": the report replaces the whole directory; choose a new or "
                "empty one"
            )
    pairs = [
        (g, e)
        for g in (ROUTERS if gates is None else gates)
        for e in (EXPERTS if experts is None else experts)
    ]
    with atomic_directory(out) as tmp:
        run = _Run(tmp, dim, seed, workers, pairs)
        for name, part in progress(PARTS, desc="report", label=lambda p: p[0]):
            start = time.perf_counter()
            part(run)
            run.seconds[name] = time.perf_counter() - start
    return out


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    """Python, the versions of the packages the results depend on, the platform and the CPU
    count."""
    return {
        "python": platform.python_version(),
        **{
            name: _version(name)
            for name in ("moetheory", "numpy", "sympy", "torch", "python-flint", "matplotlib")
        },
        "platform": platform.platform(),
        "CPUs": str(os.cpu_count()),
    }


@dataclass
class _Run:
    """One report run: its settings, what each part computed for the next, and the time each
    part took."""

    out: Path
    dim: int
    seed: int
    workers: int | None
    pairs: list[tuple[str, str]]
    verdicts: list[Verdict] = field(default_factory=list)
    rbar: dict[int, RbarResult] = field(default_factory=dict)
    rows: list[AtlasRow] = field(default_factory=list)
    approximation: list[dict] = field(default_factory=list)
    tradeoffs: list[list[dict]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def identify(self) -> None:
        self.verdicts = identify_all(
            self.pairs,
            dim=self.dim,
            seed=self.seed,
            workers=self.workers,
            progress=partial(progress, desc="identify"),
        )

    def certify_rbar(self) -> None:
        """r̄(M) for every cell size the atlas evaluates, each with its certificate written."""
        for m in SIZES:
            self.rbar[m] = solve_rbar(RBAR_SYSTEM, m, nontrivial="t4")
            (self.out / rbar_file(m)).write_text(dumps(self.rbar[m].to_json()) + "\n")

    def atlas(self) -> None:
        self.rows = rows_from_verdicts(self.verdicts, self.dim, rbar=lambda m: self.rbar[m].value)
        for fmt in formats_for("atlas", binary=False):  # the figures: plots()
            (self.out / f"atlas.{FORMATS[fmt].extension}").write_text(render_atlas(self.rows, fmt))
        (self.out / "identifiability.md").write_text(
            f"# Identifiability of router–expert pairs (d = {self.dim}, order 2)\n\n"
            + verdict_table(self.verdicts)
        )
        (self.out / "identifiability.json").write_text(
            dumps([v.to_json() for v in self.verdicts]) + "\n"
        )

    def bounds(self) -> None:
        self.approximation, predicted = write_bounds(self.out)
        self.tradeoffs += predicted

    def constructions(self) -> None:
        self.tradeoffs += write_constructions(self.out, self.seed)

    def plots(self) -> None:
        save_figure(atlas_figure(self.rows), self.out / "atlas")
        save_figure(approximation_figure(self.approximation), self.out / "approximation")
        save_figure(tradeoff_figure(self.tradeoffs), self.out / "tradeoff")

    def summary(self) -> None:
        rows, total = self.rows, sum(self.seconds.values())
        covered = sum(r.prediction.covered for r in rows)
        disagree = sum(r.prediction.agrees_with_paper is False for r in rows)
        incomplete = [
            f"{v.gate} × {v.expert}"
            for v in self.verdicts
            if v.certificate.get("status") != "complete"
        ]
        used = sorted({(m, val) for r in rows for m, val in r.prediction.rbar.items()})
        env = ", ".join(f"{k} {v}" for k, v in environment().items())
        (self.out / "summary.md").write_text(
            "# moetheory report\n\n"
            "Start at index.md (or index.html in a browser): every file with what it holds, the "
            "plots, the environment and the run time. The atlas is atlas.md (legend under the "
            "table) and atlas.png (the verdicts as a grid).\n\n"
            f"- pairs: {len(rows)} (d = {self.dim}, order 2, seed {self.seed}); identify took "
            f"{self.seconds['identify pairs']:.1f} s, whole report {total:.1f} s\n"
            f"- covered by a catalogue theorem: {covered}; no theorem covers: "
            f"{len(rows) - covered}; paper claim and computation disagree: {disagree} "
            "(atlas.md, column paper)\n"
            f"- r̄ values used ({RBAR_SYSTEM} system, computed with certificates: "
            f"{', '.join(rbar_file(m) for m in SIZES)}; `moetheory verify FILE` re-checks "
            f"one): {', '.join(f'r̄({m}) = {v}' for m, v in used) or 'none'}\n"
            f"- certificates not complete: {', '.join(incomplete) or 'none'}\n"
            f"- {env}\n"
            "- every verdict in identifiability.json carries its certificate: "
            "`moetheory verify` re-checks one saved verdict\n"
            "- approximation.* (d = 1, 2, 3; α = 0.5, 1; ε = 1e-1, 1e-2, 1e-3; λ = 1, ℓ₂), "
            "tradeoff.md and bounds.{md,json}: `moetheory tables` and `moetheory bounds` print "
            "the same; approximation.png and tradeoff.png plot the laws\n"
            "- constructions.{md,json}: approximators built as torch modules for the built-in "
            "targets (d = 1, 2, 3; ε = 0.1, 0.01), error found by search; tradeoff_measured.md: "
            "the trade-off tables built and measured; `moetheory construct` builds one\n"
        )

    def index(self) -> None:
        """``index.md`` and ``index.html``, listing the files that exist (written last)."""
        present = set(os.listdir(self.out)) | {"index.md", "index.html"}
        workers = self.workers or os.cpu_count() or 1
        index = Index(
            title="moetheory report",
            intro=(
                f"{len(self.pairs)} router × expert pairs identified at d = {self.dim} "
                f"(order 2) with {workers} worker process{'es' if workers > 1 else ''}, "
                "matched against the theorem catalogue, and the bounds and constructions "
                "of the approximation side. Start with `summary.md` and the atlas "
                "(`atlas.md`, `atlas.png`)."
            ),
            files=[(name, what) for name, what in FILES.items() if name in present],
            figures=[(name, caption) for name, caption in FIGURES if name in present],
            environment=environment(),
            seeds=[
                ("identification of every pair (generic points, inputs; `--seed`)", str(self.seed)),
                ("error search of the constructions and of the measured trade-off", str(self.seed)),
                *(
                    (
                        f"r̄({m}) solver (exact certificates; its seed drives only numerical "
                        "evidence, none asked here)",
                        str(r.seed),
                    )
                    for m, r in self.rbar.items()
                ),
            ],
            timings=[
                *self.seconds.items(),
                ("total (before the index)", sum(self.seconds.values())),
            ],
        )
        (self.out / "index.md").write_text(index_markdown(index))
        (self.out / "index.html").write_text(index_html(index))


PARTS: tuple[tuple[str, Callable[[_Run], None]], ...] = (
    ("identify pairs", _Run.identify),
    ("r̄ certificates", _Run.certify_rbar),
    ("atlas and verdict tables", _Run.atlas),
    ("bounds and approximation tables", _Run.bounds),
    ("constructions, built and measured", _Run.constructions),
    ("plots", _Run.plots),
    ("summary", _Run.summary),
    ("index", _Run.index),
)
"""The parts of a report, in order: each reads what the parts before it computed."""


EXAMPLES = (  # architectures in the bounds summary
    Architecture(dim=2, experts=1, hidden=(16, 16), router="none"),
    Architecture(dim=2, experts=8, hidden=(16, 16), router="prototype"),
    Architecture(dim=2, experts=16, hidden=(16, 16), router="grid"),
    Architecture(dim=2, experts=16, hidden=(16, 16), router="tree"),
    Architecture(dim=10, experts=64, hidden=(64, 64, 64), router="linear"),
    Architecture(
        dim=10, experts=64, hidden=(64, 64, 64), activation="prelu", router="linear", top_k=2
    ),
)


def write_bounds(out: Path) -> tuple[list[dict], list[list[dict]]]:
    """The approximation-rate table, the trade-off tables and the bounds summary; returns the
    approximation rows and the trade-off tables (for the plots)."""
    rows = approximation_rows([1, 2, 3], ["0.5", "1"], ["1e-1", "1e-2", "1e-3"])
    for fmt in formats_for("table", binary=False):
        (out / f"approximation.{FORMATS[fmt].extension}").write_text(approximation_table(rows, fmt))
    target = Target.of(2, 1)
    tables = [tradeoff_rows(target, 10**6, "total"), tradeoff_rows(target, 10**4, "active")]
    (out / "tradeoff.md").write_text("\n".join(tradeoff_table(t, "md") for t in tables))
    bounds = [(a, vc_bounds(a)) for a in EXAMPLES]
    (out / "bounds.md").write_text(
        "# Parameter counts and VC-dimension bounds\n\n"
        + "\n".join(bounds_markdown(a, b) for a, b in bounds)
    )
    (out / "bounds.json").write_text(dumps([bounds_json(a, b) for a, b in bounds]) + "\n")
    return rows, tables


CONSTRUCTION_CASES: list[tuple[str, object, int, str, str]] = [
    (name, alpha, d, eps, expert)
    for name, alpha in (("abs-power", 1), ("sawtooth", Fraction(3, 4)), ("smooth", 1))
    for d in (1, 2, 3)
    for eps in ("0.1", "0.01")
    for expert in ("constant", "pwl")
]
"""(target, α, d, ε, expert) of every construction the report builds or lists."""


def write_constructions(out: Path, seed: int = 0) -> list[list[dict]]:
    """Built approximators with their measured errors (``constructions.md``/``.json``) and
    the measured trade-off at fixed total and active budgets (``tradeoff_measured.md``);
    returns the measured trade-off tables (for the plots)."""
    rows = construction_rows(CONSTRUCTION_CASES, seed=seed, max_parameters=CONSTRUCTION_LIMIT)
    (out / "constructions.md").write_text(
        constructions_table(rows, "md", limit=CONSTRUCTION_LIMIT, construct_limit=MAX_PARAMETERS)
    )
    (out / "constructions.json").write_text(dumps(rows) + "\n")
    tables = [
        measured_tradeoff(
            "abs-power", 1, None, 2, budget, kind, seed=seed, max_parameters=MEASURED_LIMIT
        )
        for budget, kind in ((10**5, "total"), (2000, "active"))
    ]
    (out / "tradeoff_measured.md").write_text(
        "\n".join(measured_tradeoff_table(t, "md", limit=MEASURED_LIMIT) for t in tables)
    )
    return tables
