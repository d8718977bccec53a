"""Figures and tables of the trained-network experiments (computed data in, text or figures
out; nothing is computed here).

* :func:`approx_experiment_figure` — the trade-off experiment: sup error against the number of
  experts E at each fixed budget, log-log: one dot per trained model, the median over seeds with
  a bar from the smallest to the largest error, the fitted line, both predicted slopes drawn
  through the data's centre, and the explicit construction at equal parameters;
* :func:`approx_summary_markdown` — the same summary as Markdown tables: the points per budget,
  the slopes against both laws with their verdicts, the construction comparison and the
  summary's sentences.

Both read the dict written to ``summary.json`` by
:func:`moetheory.experiments.approx.run_experiment`.

Example
-------
>>> s = {"target": "smooth", "alpha": "1", "dim": 1, "router": "grid", "budget_kind": "total",
...      "objective": "mse", "laws": {"shallow": {"formula": "ε ∝ (E·P)^(−α/d)",
...      "predicted_slope": 0.0}}, "budgets": [], "fits": [], "text": ["No budgets."]}
>>> print(approx_summary_markdown(s).splitlines()[0])
# Approximation trade-off: smooth, α = 1, d = 1, grid router, total budgets
>>> approx_experiment_figure(s).axes[0].get_title()
'no budget'

Reference: experiments.md §4 (the trade-off experiment); approximation_vc.md §4 (the laws).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from moetheory.present.plots import _grid, _style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LAW_STYLES = {
    "shallow": {"linestyle": "--", "color": "C2"},
    "deep": {"linestyle": ":", "color": "C3"},
}
"""How each predicted slope is drawn."""


def _laws(laws: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The laws in the order of :data:`LAW_STYLES` (shallow, deep), then any other
    (``summary.json`` stores them with sorted keys)."""
    order = list(LAW_STYLES)
    return sorted(
        laws.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])
    )


def _geo_centre(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    return (
        math.exp(sum(map(math.log, xs)) / len(xs)),
        math.exp(sum(map(math.log, ys)) / len(ys)),
    )


def _slope_line(
    ax: Axes, xs: Sequence[float], centre: tuple[float, float], slope: float, **style: Any
) -> None:
    lo, hi = min(xs), max(xs)
    cx, cy = centre
    ends = [lo, hi]
    ax.loglog(ends, [cy * (x / cx) ** slope for x in ends], **style)


def _panel(ax: Axes, entry: Mapping[str, Any], summary: Mapping[str, Any]) -> None:
    rows = [r for r in entry["rows"] if (r.get("sup_error") or 0) > 0]
    depths = sorted({r["depth"] for r in rows})
    markers = "os^Dv<>"
    for i, depth in enumerate(depths):
        mine = [r for r in rows if r["depth"] == depth]
        ax.loglog(
            [r["experts"] for r in mine],
            [r["sup_error"] for r in mine],
            linestyle="none",
            marker=".",
            color=f"C{i}",
            alpha=0.35,
        )
        points = [p for p in entry["points"] if p["depth"] == depth and p["sup_error"]["median"]]
        xs = [p["experts"] for p in points]
        med = [p["sup_error"]["median"] for p in points]
        low = [m - p["sup_error"]["min"] for m, p in zip(med, points, strict=True)]
        high = [p["sup_error"]["max"] - m for m, p in zip(med, points, strict=True)]
        ax.errorbar(
            xs,
            med,
            yerr=[low, high],
            linestyle="none",
            marker=markers[i % 7],
            color=f"C{i}",
            capsize=3,
            label=f"trained J = {depth} (median, min–max)",
        )
    laws = entry["laws"]
    first = next(iter(laws.values()), None)
    xs_all = [r["experts"] for r in rows]
    if first is not None and first["slope"] is not None and len(set(xs_all)) > 1:
        ends = [min(xs_all), max(xs_all)]
        ax.loglog(
            ends,
            [math.exp(first["intercept"]) * x ** first["slope"] for x in ends],
            color="black",
            linewidth=1,
            label=f"fit: slope {first['slope']:+.2f} [{first['ci'][0]:+.2f}, {first['ci'][1]:+.2f}]"
            if first["ci"][0] is not None
            else f"fit: slope {first['slope']:+.2f}",
        )
        centre = _geo_centre(xs_all, [r["sup_error"] for r in rows])
        for law, data in _laws(laws):
            _slope_line(
                ax,
                xs_all,
                centre,
                data["predicted"],
                label=f"{law} law: slope {data['predicted']:+.2f} ({data['verdict']})",
                **LAW_STYLES.get(law, {}),
            )
    cons = [
        c for c in entry.get("construction", []) if c.get("sup_error") and c.get("within_tolerance")
    ]
    if cons:
        ax.loglog(
            [c["experts"] for c in cons],
            [c["sup_error"] for c in cons],
            marker="x",
            color="C7",
            linestyle="-",
            linewidth=0.8,
            label="construction at equal parameters",
        )
    shown = sorted({r["experts"] for r in rows} | {c["experts"] for c in cons})
    if shown:
        from matplotlib.ticker import NullFormatter

        ax.set_xticks(shown, [str(e) for e in shown])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(f"{summary['budget_kind']} budget {entry['budget']:,}", fontsize=9)
    ax.set_xlabel("experts E")
    ax.set_ylabel("sup error (searched)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=6)


def approx_experiment_figure(summary: Mapping[str, Any]) -> Figure:
    """Sup error against E, log-log, one panel per budget of ``summary`` (module docstring)."""
    entries = list(summary["budgets"])
    with _style():
        fig, axes = _grid(max(len(entries), 1), 3, 4.6, 3.8)
        if not entries:
            axes[0].set_title("no budget")
        for ax, entry in zip(axes, entries, strict=False):
            _panel(ax, entry, summary)
        fig.suptitle(
            f"{summary['target']} (α = {summary['alpha']}, d = {summary['dim']}), "
            f"{summary['router']} router: trained (L2 objective) vs laws and construction",
            fontsize=10,
        )
    return fig


def _num(x: object, fmt: str = ".3g") -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return format(x, fmt)
    return str(x)


def _interval(ci: Sequence[float | None]) -> str:
    if ci[0] is None or ci[1] is None:
        return "—"
    return f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def approx_summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as Markdown: per budget the points (median and range over seeds), the slope
    against both laws with verdicts, the construction at equal parameters; then the sentences.
    """
    lines = [
        f"# Approximation trade-off: {summary['target']}, α = {summary['alpha']}, "
        f"d = {summary['dim']}, {summary['router']} router, {summary['budget_kind']} budgets",
        "",
        f"Training objective: {summary['objective']}.",
        "",
        "| law | predicted slope of log ε on log E at a fixed budget |",
        "|---|---|",
    ]
    for law, data in _laws(summary["laws"]):
        lines.append(f"| {law}: {data['formula']} | {data['predicted_slope']:+.4g} |")
    for entry in summary["budgets"]:
        lines += [
            "",
            f"## {summary['budget_kind']} budget {entry['budget']:,}",
            "",
            "| J | E | W | total | active | sup error median [min, max] | L2 error median | "
            "converged | construction sup error |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        cons = {c["experts"]: c for c in entry.get("construction", [])}
        for p in entry["points"]:
            s = p["sup_error"]
            c = cons.get(p["experts"])
            shown = "—"
            if c is not None and c.get("sup_error") is not None:
                shown = f"{c['sup_error']:.3g} (M = {c['sub_cells']}, {c['parameters']['total']:,})"
                if not c.get("within_tolerance"):
                    shown += " off-budget"
            lines.append(
                f"| {p['depth']} | {p['experts']} | {p['width']} | {p['parameters']['total']:,} "
                f"| {p['parameters']['active']:,} | {_num(s['median'])} [{_num(s['min'])}, "
                f"{_num(s['max'])}] | {_num(p['l2_error']['median'])} | "
                f"{p['converged']}/{p['seeds']} | {shown} |"
            )
        lines += [
            "",
            "| law | predicted | predicted (realised E, P) | fitted slope | 95 % interval | "
            "verdict |",
            "|---|---|---|---|---|---|",
        ]
        for law, data in _laws(entry["laws"]):
            lines.append(
                f"| {law} | {data['predicted']:+.3f} | {_num(data['predicted_realised'], '+.3f')} "
                f"| {_num(data['slope'], '+.3f')} | {_interval(data['ci'])} | "
                f"**{data['verdict']}** |"
            )
        if entry.get("dropped"):
            lines += [
                "",
                "Dropped: "
                + "; ".join(
                    f"J = {x['depth']}, E = {x['experts']}: {x['reason']}" for x in entry["dropped"]
                ),
            ]
    lines += ["", "## Findings", ""]
    lines += [f"- {t}" for t in summary["text"]]
    fits = [f for f in summary.get("fits", []) if f.get("x") == "budget"]
    if fits:
        lines += [
            "",
            "## Error against the budget at a fixed (J, E)",
            "",
            "| J | E | fitted slope of log sup error on log N | 95 % interval | shallow "
            "(predicted) | deep (predicted) |",
            "|---|---|---|---|---|---|",
        ]
        for f in fits:
            lines.append(
                f"| {f['depth']} | {f['experts']} | {_num(f['slope'], '+.3f')} | "
                f"{_interval(f['ci'])} | {f['verdicts']['shallow']} "
                f"({f['predicted']['shallow']:+.3f}) | {f['verdicts']['deep']} "
                f"({f['predicted']['deep']:+.3f}) |"
            )
    seconds = summary.get("seconds")
    if seconds:
        lines += ["", "Seconds: " + ", ".join(f"{k} {v:g}" for k, v in seconds.items()) + "."]
    return "\n".join(lines) + "\n"
