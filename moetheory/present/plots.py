"""Plots of computed results (matplotlib, written as PNG and PDF).

* :func:`atlas_figure` — the atlas as a gate × expert grid, one panel per verdict (strong,
  weak), each cell coloured yes / no / unknown;
* :func:`approximation_figure` — the approximation law: dense parameters needed for a sup
  error ε, log-log, one panel per (α, d), one line per method;
* :func:`tradeoff_figure` — the trade-off law: error against the number of experts at a fixed
  budget, log-log, the guaranteed error beside the reference's laws (and the error measured on
  built mixtures where the table has it).

The functions receive computed data only and compute nothing. matplotlib is imported inside
them (importing the package stays fast); figures are plain ``matplotlib.figure.Figure``
objects (no pyplot state), drawn in matplotlib's default style whatever the user's matplotlibrc
says, and :func:`save_figure` writes them without dates or version strings in the metadata,
so equal data give byte-identical files.

Example
-------
>>> import tempfile
>>> from moetheory.bounds.approximation import approximation_rows
>>> fig = approximation_figure(approximation_rows([1, 2], ["1"], ["1e-1", "1e-2"]))
>>> [ax.get_title() for ax in fig.axes]
['α = 1, d = 1', 'α = 1, d = 2']
>>> with tempfile.TemporaryDirectory() as tmp:
...     [p.name for p in save_figure(fig, Path(tmp) / "approximation")]
['approximation.png', 'approximation.pdf']
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from moetheory.present.formats import FORMATS, renders

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from moetheory.rates.atlas import AtlasRow

VERDICT_COLOURS = {"yes": "#0072B2", "no": "#E69F00", "unknown": "#BBBBBB"}
"""Verdict → colour (Okabe–Ito blue and orange, grey: readable with colour-blindness)."""

PANELS = ("strong", "weak")
"""The verdicts the atlas plot shows, one panel each."""

METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}
"""Metadata left out of the files (dates and version strings), so the bytes depend on the data
only."""


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib's default style, whatever the user's matplotlibrc says."""
    import matplotlib.style

    with matplotlib.style.context("default"):
        yield


def atlas_figure(rows: Sequence[AtlasRow]) -> Figure:
    """The atlas as a gate × expert grid per verdict of :data:`PANELS`, coloured by
    :data:`VERDICT_COLOURS`; a pair the rows do not hold is left white.

    >>> from moetheory.rates.atlas import atlas_rows
    >>> fig = atlas_figure(atlas_rows(gates=["softmax"], experts=["linear", "scaled-tanh"],
    ...                               workers=1))
    >>> [ax.get_title() for ax in fig.axes]
    ['strong identifiability', 'weak identifiability']
    """
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    gates = list(dict.fromkeys(r.gate for r in rows))
    experts = list(dict.fromkeys(r.expert for r in rows))
    code = {verdict: i for i, verdict in enumerate(VERDICT_COLOURS)}
    colours = ListedColormap([*VERDICT_COLOURS.values(), "white"])
    with _style():
        fig = Figure(
            figsize=(2 * 0.32 * len(experts) + 3.5, 0.32 * len(gates) + 2.6), layout="constrained"
        )
        axes = fig.subplots(1, len(PANELS), sharey=True, squeeze=False)[0]
        for ax, verdict in zip(axes, PANELS, strict=True):
            grid = np.full((len(gates), len(experts)), len(code))
            for r in rows:
                grid[gates.index(r.gate), experts.index(r.expert)] = code.get(
                    r.verdicts.get(verdict, "unknown"), code["unknown"]
                )
            ax.pcolormesh(
                grid,
                cmap=colours,
                vmin=-0.5,
                vmax=len(code) + 0.5,
                edgecolors="white",
                linewidth=0.5,
            )
            ax.set_aspect("equal")
            ax.set_xticks(
                [i + 0.5 for i in range(len(experts))],
                experts,
                rotation=60,
                ha="right",
                rotation_mode="anchor",
                fontsize=8,
            )
            ax.set_yticks([i + 0.5 for i in range(len(gates))], gates, fontsize=8)
            ax.tick_params(length=0)
            ax.set_title(f"{verdict} identifiability")
            ax.set_xlabel("expert")
        axes[0].set_ylabel("gate (router)")
        axes[0].invert_yaxis()  # the first gate on top (the panels share this axis)
        fig.legend(
            handles=[Patch(color=c, label=v) for v, c in VERDICT_COLOURS.items()],
            loc="outside lower center",
            ncols=len(VERDICT_COLOURS),
            frameon=False,
        )
    return fig


def _positive(value: object) -> float | None:
    """A value for a log axis: a positive finite float, else None (not drawn)."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return x if x > 0 and math.isfinite(x) else None


def _line(ax: Axes, xs: Sequence[object], ys: Sequence[object], **style: object) -> None:
    """Draw the points of (xs, ys) that a log-log axis can show."""
    points = [
        (x, y)
        for x, y in zip(map(_positive, xs), map(_positive, ys), strict=True)
        if x is not None and y is not None
    ]
    if points:
        ax.loglog(*zip(*sorted(points), strict=True), **style)


def _grid(n: int, columns: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``n`` panels in rows of ``columns``; spare panels
    removed."""
    from matplotlib.figure import Figure

    rows = max(1, math.ceil(n / columns))
    columns = min(columns, max(n, 1))
    fig = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = list(fig.subplots(rows, columns, squeeze=False).flat)
    for ax in axes[n:]:
        ax.remove()
    return fig, axes[:n]


def approximation_figure(rows: Sequence[dict]) -> Figure:
    """Dense total parameters against the sup error ε of each method's construction, log-log,
    one panel per (α, d) of the rows of ``moetheory.bounds.approximation.approximation_rows``
    (solid: total parameters; dashed: active per input)."""
    keys = sorted({(Fraction(str(r["alpha"])), r["dim"]) for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    with _style():
        fig, axes = _grid(len(keys), 3, 4.2, 3.4)
        for ax, (alpha, dim) in zip(axes, keys, strict=True):
            for i, method in enumerate(methods):
                mine = [
                    r
                    for r in rows
                    if (Fraction(str(r["alpha"])), r["dim"]) == (alpha, dim)
                    and r["method"] == method
                ]
                eps = [r["eps"] for r in mine]
                colour = f"C{i}"
                _line(
                    ax,
                    eps,
                    [r["total_parameters"] for r in mine],
                    color=colour,
                    marker="o",
                    label=method,
                )
                _line(
                    ax,
                    eps,
                    [r["active_parameters"] for r in mine],
                    color=colour,
                    linestyle="--",
                    marker=".",
                )
            ax.invert_xaxis()
            ax.set_title(f"α = {alpha}, d = {dim}")
            ax.set_xlabel("sup error ε")
            ax.set_ylabel("dense parameters")
            ax.grid(True, which="major", alpha=0.3)
        labelled = {
            label: handle
            for ax in axes
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)
        }
        fig.legend(
            labelled.values(),
            labelled.keys(),
            loc="outside lower center",
            ncols=len(methods),
            frameon=False,
            title="solid: total; dashed: active per input",
        )
    return fig


def tradeoff_figure(tables: Sequence[Sequence[dict]]) -> Figure:
    """Error against the number of experts E at a fixed budget, log-log, one panel per table
    (rows of ``moetheory.bounds.tradeoff.tradeoff_rows`` or of
    ``moetheory.construct.measured.measured_tradeoff``)."""
    series = (
        ("guaranteed_error", "guaranteed error", {"marker": "o"}),
        ("law_shallow", "(E·P)^(−α/d) law", {"linestyle": "--"}),
        ("law_deep", "(E·P²)^(−α/d) law", {"linestyle": ":"}),
        ("measured_error", "max error found (search)", {"marker": "x"}),
    )
    with _style():
        fig, axes = _grid(len(tables), 2, 5.0, 3.6)
        for ax, table in zip(axes, tables, strict=True):
            first = table[0]
            experts = [r["experts"] for r in table]
            for i, (key, label, style) in enumerate(series):
                if key in first:
                    _line(ax, experts, [r[key] for r in table], color=f"C{i}", label=label, **style)
            built = "built and measured" if "measured_error" in first else "predicted"
            ax.set_title(
                f"{first['budget_kind']} budget {first['budget']:,} ({built}), "
                f"d = {first['dim']}, α = {first['alpha']}",
                fontsize=9,
            )
            ax.set_xlabel("experts E")
            ax.set_ylabel("sup error")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=7)
    return fig


def figure_formats() -> tuple[str, ...]:
    """The figure formats: the binary ones of :data:`moetheory.present.formats.FORMATS`."""
    return tuple(name for name, f in FORMATS.items() if f.binary)


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """``fig`` in the figure format ``fmt``, with no dates or version strings in its metadata
    (:data:`METADATA`), so the bytes depend on the data only."""
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format=fmt, dpi=110, metadata=METADATA[fmt])
    return buf.getvalue()


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """Write ``fig`` as ``stem``.png and ``stem``.pdf (every figure format) through
    :func:`moetheory.files.atomic_file`; return the paths."""
    from moetheory.files import atomic_file

    paths = []
    for fmt in figure_formats():
        path = stem.with_name(f"{stem.name}.{FORMATS[fmt].extension}")
        with atomic_file(path) as handle:
            handle.write(figure_bytes(fig, fmt))
        paths.append(path)
    return paths


def _atlas_as(fmt: str) -> Callable[[list[AtlasRow]], bytes]:
    def atlas_figure_bytes(rows: list[AtlasRow]) -> bytes:
        """The atlas grid (:func:`atlas_figure`) as figure bytes."""
        return figure_bytes(atlas_figure(rows), fmt)

    return atlas_figure_bytes


for _fmt in METADATA:
    renders("atlas", _fmt)(_atlas_as(_fmt))
