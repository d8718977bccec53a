"""The Soft MoE experiment's figure and Markdown summary
(:mod:`moetheory.experiments.softmoe`): held-out relative error against the number of experts
n with 95 % t intervals over seeds, and Algorithm 1 against random expert subsets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from moetheory.present.plots import _grid, _style

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _bars(entries: Sequence[Mapping[str, Any]]) -> tuple[list[float], list[list[float]]]:
    means = [e["mean"] for e in entries]
    low = [e["mean"] - e["ci"][0] if e["ci"][0] is not None else 0.0 for e in entries]
    high = [e["ci"][1] - e["mean"] if e["ci"][1] is not None else 0.0 for e in entries]
    return means, [low, high]


def softmoe_experiment_figure(summary: Mapping[str, Any]) -> Figure:
    """Two panels: relative error vs n (log-scale n, mean and 95 % t interval over seeds);
    Algorithm 1 vs random subsets against the kept fraction f."""
    with _style():
        fig, axes = _grid(2, 2, 4.6, 3.8)
        ax = axes[0]
        points = summary["points"]
        if points:
            ns = [p["experts"] for p in points]
            means, err = _bars([p["test_error"] for p in points])
            ax.errorbar(ns, means, yerr=err, marker="o", capsize=3, label="held-out")
            tmeans, terr = _bars([p["train_error"] for p in points])
            ax.errorbar(ns, tmeans, yerr=terr, marker="s", capsize=3, alpha=0.6, label="train")
            ax.set_xscale("log", base=2)
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.legend(fontsize=8)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("experts n (total expert width fixed)")
        ax.set_ylabel("relative error RMSE / std(t)")
        ax.set_title("t(X) = ‖X‖_F: error vs n", fontsize=10)
        ax = axes[1]
        table = summary["algorithm1"]
        if table:
            fs = [r["fraction"] for r in table]
            means, err = _bars([r["keep_error"] for r in table])
            ax.errorbar(fs, means, yerr=err, marker="o", capsize=3, label="Algorithm 1 (top mass)")
            rmeans, rerr = _bars([r["random_error"] for r in table])
            ax.errorbar(fs, rmeans, yerr=rerr, marker="x", capsize=3, label="random subsets")
            ax.set_xscale("log", base=2)
            ax.set_xticks(fs, [f"{f:g}" for f in fs])
            ax.set_title(f"n = {table[0]['experts']}: experts kept per input", fontsize=10)
            ax.legend(fontsize=8)
        else:
            ax.set_title("no Algorithm 1 data", fontsize=10)
        ax.set_xlabel("fraction f of experts kept")
        ax.set_ylabel("relative error")
        fig.suptitle(
            "Soft MoE at fixed total expert width (95 % t intervals over seeds)", fontsize=10
        )
    return fig


def _num(x: object, fmt: str = ".4f") -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return format(x, fmt)
    return str(x)


def _ci(entry: Mapping[str, Any]) -> str:
    lo, hi = entry["ci"]
    if lo is None or hi is None:
        return "—"
    return f"[{lo:.4f}, {hi:.4f}]"


def softmoe_summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as Markdown: the per-n table, the n = 1 comparison, the Algorithm 1 table,
    then the summary's sentences."""
    lines = [
        "# Soft MoE: single expert vs many at fixed total expert width",
        "",
        f"Task: {summary['task']}; d = {summary['dim']}, m = {summary['tokens']}, "
        f"H = {summary['hidden_total']}. Error: {summary['error']}. Intervals: "
        f"{summary['interval']}.",
        "",
        "| n | h | parameters | seeds | test error | 95 % CI | train error | mass entropy / log n "
        "| argmax varies |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in summary["points"]:
        lines.append(
            f"| {p['experts']} | {p['width']} | {p['parameters']:,} | {p['seeds']} | "
            f"{_num(p['test_error']['mean'])} | {_ci(p['test_error'])} | "
            f"{_num(p['train_error']['mean'])} | {_num(p['mass_entropy'], '.3f')} | "
            f"{_num(p['argmax_varies'], '.3f')} |"
        )
    spread = summary["parameters"]["spread"]
    if spread is not None:
        lines += ["", f"Parameter-count spread across n: {100 * spread:.1f} %."]
    comparison = summary.get("single_vs_many")
    if comparison:
        lines += ["", "## n = 1 vs many experts", "", comparison["statement"]]
    table = summary["algorithm1"]
    if table:
        lines += [
            "",
            f"## Algorithm 1 (n = {table[0]['experts']})",
            "",
            "| f | k | Algorithm 1 | 95 % CI | random | 95 % CI | full | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in table:
            lines.append(
                f"| {r['fraction']:g} | {r['kept']} | {_num(r['keep_error']['mean'])} | "
                f"{_ci(r['keep_error'])} | {_num(r['random_error']['mean'])} | "
                f"{_ci(r['random_error'])} | {_num(r['full_error']['mean'])} | {r['verdict']} |"
            )
    lines += ["", "## Findings", ""] + [f"- {t}" for t in summary["text"]]
    lines += ["", f"Device: {summary.get('device', '—')}."]
    return "\n".join(lines) + "\n"


__all__ = ["softmoe_experiment_figure", "softmoe_summary_markdown"]
