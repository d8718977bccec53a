"""Figures and tables of the estimation-rate simulations (``moetheory simulate``): the numbers of
a run's ``summary.json`` laid out, nothing computed.

* :func:`simulation_figure` — mean loss against the sample size n, log-log: the points with
  bars of ± 2 standard errors (hollow where some fits did not converge), the fitted line
  exp(intercept)·n^slope, the predicted slope and the authors' slope drawn through the points'
  geometric centre;
* :func:`simulation_figure_many` — one such panel per run, side by side (comparison runs);
* renderers of the format registry (:mod:`moetheory.present.formats`): kind ``"simulation"``
  (one summary) in md, latex, json, png and pdf; kind ``"simulations"`` (a list of summaries,
  one row per run) in md, latex, csv, png and pdf.

A summary is the dict written to ``summary.json`` by the simulate experiment: the settings
(``gate``, ``expert``, ``model``, ``k_true``, ``k``, ``dim``, ``loss``), one entry of
``points`` per sample size (``n``, ``fits``, ``converged``, ``mean_loss``, ``se_loss``,
``median_loss``), the least-squares ``slope`` and ``intercept`` of log loss on log n with its
interval ``ci`` at ``level``, the ``predicted`` slope (``None``: no theorem covers the pair)
with ``predicted_kind`` and ``predicted_text``, the ``verdict`` with its reason, and the
authors' slope where one is stored. A ``None`` slope, interval or prediction is shown as such
("—", no line), never replaced by a number.

Example
-------
>>> s = {"experiment": "simulate", "name": "cosine", "gate": "cosine", "expert": "scaled-tanh",
...      "model": "regression", "k_true": 2, "k": 3, "dim": 2, "loss": "D1",
...      "loss_note": "infimum over the softmax translation",
...      "points": [{"n": 100, "fits": 20, "converged": 20, "mean_loss": 0.31, "se_loss": 0.02,
...                  "median_loss": 0.29},
...                 {"n": 400, "fits": 20, "converged": 19, "mean_loss": 0.16, "se_loss": 0.01,
...                  "median_loss": 0.15}],
...      "slope": -0.48, "intercept": 1.04, "ci": [-0.55, -0.41], "level": 0.95,
...      "predicted": -0.5, "predicted_kind": "polynomial", "predicted_text": "n^{-1/2}",
...      "theorem": None, "source": None, "verdict": "consistent", "verdict_reason": "ok",
...      "tolerance": 0.1, "authors_slope": None, "authors_source": None, "fits": 40,
...      "converged_fraction": 0.975, "seconds": 3.5, "device": "cpu", "seed": 0}
>>> print(simulation_markdown(s).splitlines()[4])
| n | fits | converged | mean loss | se of the mean | median loss |
>>> simulations_markdown([s]).splitlines()[4].split(" | ")[2:8]
['2/3', 'D1', '-0.48 [-0.55, -0.41]', '—', '-0.5', 'consistent']
>>> simulation_figure(s).axes[0].get_title()
'cosine: cosine × scaled-tanh\\nk*/k = 2/3, D1 loss: consistent'

Reference: experiments.md §5 (estimation-rate simulations); identifiability.md §6 (rates).
"""

from __future__ import annotations

import csv
import io
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from moetheory.present.formats import renders
from moetheory.present.jsonio import dumps
from moetheory.present.plots import METADATA, _positive, _style, figure_bytes
from moetheory.present.tables import latex_escape

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Summary = Mapping[str, Any]
"""One run's ``summary.json`` (module docstring)."""

BAR_FLOOR = 0.1
"""A bar of mean − 2·se that would reach zero or below stops at BAR_FLOOR·mean: a log axis
cannot show it, and such a lower end says only that the mean is not resolved from zero."""

STYLES: dict[str, dict[str, Any]] = {
    "points": {"color": "C0"},
    "fit": {"color": "black", "linewidth": 1},
    "predicted": {"color": "C2", "linestyle": "--"},
    "authors": {"color": "C3", "linestyle": ":"},
}
"""How each element of a panel is drawn."""


# -- numbers as text -------------------------------------------------------------------------


def _g(x: object, digits: int = 4) -> str:
    """A number with ``digits`` significant digits ('—' for None); integers as they are."""
    if x is None:
        return "—"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return format(x, f".{digits}g")


def _ci(summary: Summary) -> tuple[float | None, float | None]:
    ci = summary.get("ci") or (None, None)
    return ci[0], ci[1]


def _level(summary: Summary) -> str:
    level = summary.get("level")
    return "—" if level is None else f"{100 * level:g} %"


def _slope_ci(summary: Summary, digits: int = 4, prefix: str = "") -> str:
    """'-0.48 [-0.55, -0.41]', the slope alone when there is no interval, '—' with no slope
    (``prefix="median_"``: the median's slope and interval)."""
    slope = summary.get(f"{prefix}slope")
    if slope is None:
        return "—"
    ci = summary.get("median_ci" if prefix else "ci") or (None, None)
    lo, hi = ci[0], ci[1]
    text = _g(slope, digits)
    if lo is not None and hi is not None:
        text += f" [{_g(lo, digits)}, {_g(hi, digits)}]"
    return text


def _predicted(summary: Summary) -> str:
    """The predicted slope as a table cell: the number, 'slope → 0' for a logarithmic rate,
    '—' when no theorem covers the pair."""
    p = summary.get("predicted")
    if p is None:
        return "—"
    if summary.get("predicted_kind") == "logarithmic":
        return "→ 0 (logarithmic)"
    return _g(p)


def _pair(summary: Summary) -> str:
    return f"{summary.get('gate')} × {summary.get('expert')}"


def _ks(summary: Summary) -> str:
    return f"{summary.get('k_true')}/{summary.get('k')}"


def _converged_percent(summary: Summary) -> str:
    f = summary.get("converged_fraction")
    return "—" if f is None else f"{100 * f:.4g} %"


_TEX = {
    "→": r"$\to$",
    "≤": r"$\leq$",
    "≈": r"$\approx$",
    "±": r"$\pm$",
    "∞": r"$\infty$",
    "−": "-",
    "√": r"$\surd$",
}
"""Characters of the summaries' sentences that :func:`latex_escape` leaves as they are."""


def _symbols(tex: str) -> str:
    """LaTeX with the symbols of :data:`_TEX` typeset (all non-ASCII, so never part of a
    command)."""
    return "".join(_TEX.get(ch, ch) for ch in tex)


def _tex(text: str) -> str:
    """Plain text → LaTeX (:func:`latex_escape`, then :func:`_symbols`)."""
    return _symbols(latex_escape(text))


# -- figures ---------------------------------------------------------------------------------


def _label(text: str, width: int = 46) -> str:
    """Legend text: '$' escaped (no mathtext), wrapped."""
    return textwrap.fill(text.replace("$", r"\$"), width)


def _drawn_points(summary: Summary) -> list[Mapping[str, Any]]:
    """The points a log axis can show (positive n and mean loss), sorted by n."""
    return sorted(
        (
            p
            for p in summary.get("points", [])
            if _positive(p.get("n")) and _positive(p.get("mean_loss"))
        ),
        key=lambda p: float(p["n"]),
    )


def _through_centre(
    ax: Axes, ns: Sequence[float], centre: tuple[float, float], slope: float, **style: Any
) -> None:
    cx, cy = centre
    ends = [min(ns), max(ns)]
    ax.loglog(ends, [cy * (x / cx) ** slope for x in ends], **style)


def _panel(ax: Axes, summary: Summary) -> None:
    """One run on ``ax`` (module docstring)."""
    points = _drawn_points(summary)
    ns = [float(p["n"]) for p in points]
    means = [float(p["mean_loss"]) for p in points]
    below, above = [], []
    for p, m in zip(points, means, strict=True):
        half = 2 * float(p["se_loss"]) if _positive(p.get("se_loss")) else 0.0
        below.append(m - max(m - half, BAR_FLOOR * m))
        above.append(half)
    level = _level(summary)
    colour = STYLES["points"]["color"]
    if points:
        ax.errorbar(ns, means, yerr=[below, above], fmt="none", ecolor=colour, capsize=3)
        full = [p.get("converged") == p.get("fits") for p in points]
        for all_converged, label in (
            (True, "mean loss ± 2 se"),
            (False, "mean loss ± 2 se (some fits not converged)"),
        ):
            xs = [x for x, f in zip(ns, full, strict=True) if f == all_converged]
            ys = [y for y, f in zip(means, full, strict=True) if f == all_converged]
            if xs:
                ax.loglog(
                    xs,
                    ys,
                    linestyle="none",
                    marker="o",
                    color=colour,
                    markerfacecolor=colour if all_converged else "white",
                    label=label,
                )
    slope, intercept = summary.get("slope"), summary.get("intercept")
    if points and slope is not None and intercept is not None:
        lo, hi = _ci(summary)
        interval = f" [{lo:+.3g}, {hi:+.3g}] ({level})" if lo is not None and hi is not None else ""
        ends = [min(ns), max(ns)]
        logs = [intercept + slope * math.log(x) for x in ends]
        if all(abs(v) < 700 for v in logs):  # a line exp() can draw
            ax.loglog(
                ends,
                [math.exp(v) for v in logs],
                label=f"fit: slope {slope:+.3g}{interval}",
                **STYLES["fit"],
            )
    if len(set(ns)) > 1:
        centre = (
            math.exp(sum(map(math.log, ns)) / len(ns)),
            math.exp(sum(map(math.log, means)) / len(means)),
        )
        predicted = summary.get("predicted")
        if predicted is not None:
            text = summary.get("predicted_text") or ""
            if summary.get("predicted_kind") == "logarithmic":
                label, drawn = f"predicted: {text} (drawn as slope 0)", 0.0
            else:
                label, drawn = f"predicted slope {predicted:+.3g}: {text}", float(predicted)
            _through_centre(ax, ns, centre, drawn, label=_label(label), **STYLES["predicted"])
        authors = summary.get("authors_slope")
        if authors is not None:
            source = summary.get("authors_source")
            label = f"authors' slope {authors:+.3g}" + (f" ({source})" if source else "")
            _through_centre(
                ax, ns, centre, float(authors), label=_label(label), **STYLES["authors"]
            )
    if points:
        from matplotlib.ticker import NullFormatter

        shown = sorted(set(ns))
        if len(shown) > 7:  # label about six of them, ends included, so the labels stay apart
            step = -(-len(shown) // 6)
            shown = sorted(set(shown[::step]) | {shown[-1]})
            if len(shown) > 2 and shown[-1] / shown[-2] < 1.6:
                shown.pop(-2)
        ax.set_xticks(shown, [_g(int(x) if x.is_integer() else x) for x in shown])
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.text(0.5, 0.5, "no point to show", transform=ax.transAxes, ha="center")
    ax.set_title(
        f"{summary.get('name')}: {_pair(summary)}\n"
        f"k*/k = {_ks(summary)}, {summary.get('loss')} loss: {summary.get('verdict')}",
        fontsize=9,
    )
    ax.set_xlabel("sample size n")
    ax.set_ylabel(f"mean {summary.get('loss')} loss")
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)


def simulation_figure(summary: Summary) -> Figure:
    """Mean loss against n, log-log, for one run (module docstring): bars of ± 2·se_loss
    (the lower end cut at :data:`BAR_FLOOR` · mean when it would not be positive), filled
    markers where every fit converged and hollow ones otherwise, the fitted line with its
    slope and interval, the predicted slope dashed and the authors' slope dotted through the
    geometric centre of the points (a logarithmic prediction is drawn as slope 0 and labelled
    so; no line when there is no prediction, slope or authors' slope)."""
    from matplotlib.figure import Figure

    with _style():
        fig = Figure(figsize=(5.6, 4.4), layout="constrained")
        _panel(fig.subplots(), summary)
    return fig


def simulation_figure_many(summaries: Sequence[Summary], columns: int = 3) -> Figure:
    """One panel per run (as :func:`simulation_figure`), in rows of ``columns``.

    Panels rather than an overlay: each run carries its own bars, fitted line, predicted and
    authors' lines, and on one axis those of two runs (cosine and perturbed cosine: nearly
    equal losses at small n) would cover each other. The panels share both log axes when every
    run reports the same loss, so levels and slopes compare by eye across panels; with
    different losses (D1 beside D2) the y axes are left free, the numbers not being comparable.

    >>> fig = simulation_figure_many([])
    >>> [ax.get_title() for ax in fig.axes]
    ['no run']
    """
    from matplotlib.figure import Figure

    n = len(summaries)
    cols = min(columns, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    same_loss = len({s.get("loss") for s in summaries}) <= 1
    with _style():
        fig = Figure(figsize=(4.8 * cols, 4.0 * rows), layout="constrained")
        axes = list(
            fig.subplots(
                rows, cols, squeeze=False, sharex="all", sharey="all" if same_loss else "none"
            ).flat
        )
        for ax in axes[max(n, 1) :]:
            ax.remove()
        if not summaries:
            axes[0].set_title("no run")
        for ax, summary in zip(axes, summaries, strict=False):
            _panel(ax, summary)
        if n > 1:
            fig.suptitle(
                "Estimation-rate simulations: "
                + " vs ".join(str(s.get("name")) for s in summaries),
                fontsize=10,
            )
    return fig


# -- one run ---------------------------------------------------------------------------------

POINT_COLUMNS = ("n", "fits", "converged", "mean loss", "se of the mean", "median loss")
POINT_KEYS = ("n", "fits", "converged", "mean_loss", "se_loss", "median_loss")


def _statements(summary: Summary) -> list[tuple[str, str]]:
    """(term, text) lines under the points table, plain text (escaped by each format)."""
    slope = summary.get("slope")
    lo, hi = _ci(summary)
    if slope is None:
        fitted = "no fitted slope"
    else:
        fitted = f"{_g(slope)}"
        if lo is not None and hi is not None:
            fitted += f", {_level(summary)} interval [{_g(lo)}, {_g(hi)}]"
        else:
            fitted += ", no interval"
        if summary.get("intercept") is not None:
            fitted += f" (intercept {_g(summary['intercept'])})"
    p = summary.get("predicted")
    if p is None:
        predicted = summary.get("predicted_text") or "no theorem covers this pair"
    else:
        kind = summary.get("predicted_kind") or "polynomial"
        shown = "→ 0" if kind == "logarithmic" else _g(p)
        predicted = f"{shown} ({kind}): {summary.get('predicted_text')}"
    if summary.get("theorem"):
        predicted += f"; theorem {summary['theorem']}"
    if summary.get("source"):
        predicted += f", {summary['source']}"
    verdict = f"{summary.get('verdict')}"
    if summary.get("verdict_reason"):
        verdict += f": {summary['verdict_reason']}"
    if summary.get("tolerance") is not None:
        verdict += f" (tolerance {_g(summary['tolerance'])})"
    lines = [
        ("fitted slope of log loss on log n", fitted),
        ("predicted slope", predicted),
        ("verdict", verdict),
    ]
    if summary.get("authors_slope") is not None:
        authors = _g(summary["authors_slope"])
        if summary.get("authors_source"):
            authors += f" ({summary['authors_source']})"
        lines.append(("authors' slope", authors))
    lines.append(
        (
            "run",
            f"{_g(summary.get('fits'))} fits, {_converged_percent(summary)} converged, "
            f"{_g(summary.get('seconds'))} s on {summary.get('device')}, "
            f"seed {summary.get('seed')}",
        )
    )
    return lines


def _setting(summary: Summary) -> str:
    text = (
        f"{_pair(summary)}, {summary.get('model')} model, k* = {summary.get('k_true')} true "
        f"atoms, k = {summary.get('k')} fitted, d = {summary.get('dim')}; "
        f"loss {summary.get('loss')}"
    )
    note = summary.get("loss_note")
    return text + (f" ({note})." if note else ".")


@renders("simulation", "md")
def simulation_markdown(summary: Summary) -> str:
    """One run as Markdown: the setting, a table of the points, the fitted and predicted slopes,
    the verdict, the authors' slope where stored, and the run's size and time."""

    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [
        f"# Estimation-rate simulation: {summary.get('name')}",
        "",
        _setting(summary),
        "",
        "| " + " | ".join(POINT_COLUMNS) + " |",
        "|" + "---|" * len(POINT_COLUMNS),
    ]
    for p in summary.get("points", []):
        lines.append("| " + " | ".join(esc(_g(p.get(k))) for k in POINT_KEYS) + " |")
    lines.append("")
    lines += [f"- {term}: {text}" for term, text in _statements(summary)]
    return "\n".join(lines) + "\n"


@renders("simulation", "latex")
def simulation_latex(summary: Summary) -> str:
    """One run in LaTeX: a booktabs table of the points, then the slopes and verdict as a
    description list."""
    lines = [
        r"% requires \usepackage{booktabs}",
        rf"\paragraph{{{_tex('Estimation-rate simulation: ' + str(summary.get('name')))}}}",
        _tex(_setting(summary)),
        "",
        r"\begin{tabular}{" + "r" * len(POINT_COLUMNS) + "}",
        r"\toprule",
        " & ".join(["$n$", *(_tex(c) for c in POINT_COLUMNS[1:])]) + r" \\",
        r"\midrule",
    ]
    for p in summary.get("points", []):
        lines.append(" & ".join(_tex(_g(p.get(k))) for k in POINT_KEYS) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", "", r"\begin{description}"]
    lines += [rf"\item[{_tex(term)}] {_tex(text)}" for term, text in _statements(summary)]
    lines.append(r"\end{description}")
    return "\n".join(lines) + "\n"


@renders("simulation", "json")
def simulation_json(summary: Summary) -> str:
    """The summary as it is, every field and digit (sorted keys)."""
    return dumps(dict(summary)) + "\n"


# -- several runs ----------------------------------------------------------------------------

RUN_COLUMNS = (
    "name",
    "gate × expert",
    "k*/k",
    "loss",
    "slope [CI]",
    "median slope [CI]",
    "predicted",
    "verdict",
    "authors' slope",
    "fits",
    "converged",
    "seconds",
    "device",
)
"""The Markdown and LaTeX columns of :func:`simulations_markdown`."""

RUN_KEYS = (
    "name",
    "gate",
    "expert",
    "model",
    "k_true",
    "k",
    "dim",
    "loss",
    "slope",
    "ci_low",
    "ci_high",
    "median_slope",
    "level",
    "predicted",
    "predicted_kind",
    "verdict",
    "authors_slope",
    "fits",
    "converged_fraction",
    "seconds",
    "device",
    "seed",
)
"""The CSV columns: the same runs as data, one field per column, every digit kept."""

RUN_LEGEND: tuple[tuple[str, str], ...] = (
    ("k*/k", "true atoms / fitted atoms (k > k*: over-specified)"),
    (
        "slope [CI]",
        "the run's fitted slope of log loss on log n, with its interval at the run's level "
        "(the level, and how the slope was fitted, are in each run's summary)",
    ),
    (
        "predicted",
        "the slope the covering theorem predicts; → 0: a logarithmic rate (slower than any "
        "polynomial); —: no theorem covers the pair",
    ),
    (
        "median slope [CI]",
        "the same fit to log(median loss), robust to a few diverging fits (not used by the "
        "verdict)",
    ),
    ("verdict", "the run's own verdict (its reason is in the run's summary)"),
    ("authors' slope", "the slope from the authors' stored results, where there are some"),
    ("converged", "share of the fits that converged"),
)
"""What the columns of the runs table mean (under the Markdown and LaTeX tables)."""


def _run_cells(summary: Summary) -> list[str]:
    return [
        str(summary.get("name")),
        _pair(summary),
        _ks(summary),
        str(summary.get("loss")),
        _slope_ci(summary),
        _slope_ci(summary, prefix="median_"),
        _predicted(summary),
        str(summary.get("verdict")),
        _g(summary.get("authors_slope")),
        _g(summary.get("fits")),
        _converged_percent(summary),
        _g(summary.get("seconds")),
        str(summary.get("device")),
    ]


@renders("simulations", "md")
def simulations_markdown(summaries: Sequence[Summary]) -> str:
    """Several runs as one Markdown table, one row per run, with a legend."""
    from moetheory.present.tables import legend_markdown

    lines = [
        "# Estimation-rate simulations",
        "",
        "| " + " | ".join(RUN_COLUMNS) + " |",
        "|" + "---|" * len(RUN_COLUMNS),
    ]
    lines += [
        "| " + " | ".join(c.replace("|", "\\|") for c in _run_cells(s)) + " |" for s in summaries
    ]
    return "\n".join(lines) + "\n\n" + legend_markdown(RUN_LEGEND)


@renders("simulations", "latex")
def simulations_latex(summaries: Sequence[Summary]) -> str:
    """Several runs as one booktabs longtable, one row per run, with a legend."""
    from moetheory.present.tables import legend_latex

    lines = [
        r"% requires \usepackage{booktabs,longtable}",
        r"\begin{longtable}{" + "l" * len(RUN_COLUMNS) + "}",
        r"\toprule",
        " & ".join(_tex(c) for c in RUN_COLUMNS) + r" \\",
        r"\midrule",
        r"\endhead",
    ]
    lines += [" & ".join(_tex(c) for c in _run_cells(s)) + r" \\" for s in summaries]
    lines += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(lines) + "\n" + _symbols(legend_latex(RUN_LEGEND))


def _exact(value: object) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


@renders("simulations", "csv")
def simulations_csv(summaries: Sequence[Summary]) -> str:
    """Several runs as data: one row per run, the fields of :data:`RUN_KEYS` one per column
    (the interval split into ``ci_low`` and ``ci_high``), every digit kept, empty for None."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(RUN_KEYS)
    for s in summaries:
        lo, hi = _ci(s)
        row = {**s, "ci_low": lo, "ci_high": hi}
        writer.writerow([_exact(row.get(k)) for k in RUN_KEYS])
    return buf.getvalue()


def _figure_as(fmt: str, draw: Callable[[Any], Figure], what: str) -> Callable[[Any], bytes]:
    def simulation_figure_bytes(data: Any) -> bytes:
        return figure_bytes(draw(data), fmt)

    simulation_figure_bytes.__doc__ = f"{what} as {fmt} bytes."
    return simulation_figure_bytes


for _fmt in METADATA:
    renders("simulation", _fmt)(_figure_as(_fmt, simulation_figure, "simulation_figure"))
    renders("simulations", _fmt)(_figure_as(_fmt, simulation_figure_many, "simulation_figure_many"))
