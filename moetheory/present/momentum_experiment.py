"""Figure and Markdown of the momentum experiment (computed data in, figures or text out;
nothing is computed here).

* :func:`momentum_experiment_figure` — two panels: the training curves (geometric mean over
  replicates of the training MSE against the step, log scale, one line per variant) and the test
  error against the input-noise σ (σ = 0 is the clean error; mean over replicates with its 95 %
  interval as error bars);
* :func:`momentum_summary_markdown` — per variant the measures (mean, 95 % interval, replicates,
  seeds), the paired comparisons with SMoE and the summary's sentences.

Both read the dict written to ``summary.json`` by
:func:`moetheory.experiments.momentum.run_experiment`.

Example
-------
>>> s = {"variants": {}, "comparisons": {}, "noise_sigmas": [0.1], "text": ["Nothing."],
...      "measures": {"interval": "95 %"}, "task": "t", "balance_weight": 0.01,
...      "shift_scale": 1.5}
>>> print(momentum_summary_markdown(s).splitlines()[0])
# Momentum experiment: SMoE vs MomentumSMoE vs AdamSMoE vs RobustMomentumSMoE
>>> [ax.get_title() for ax in momentum_experiment_figure(s).axes]
['training loss (mean over replicates)', 'test error vs input noise']

Reference: softmoe_momentum.md §3; experiments.md §3 and §5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from moetheory.present.plots import _grid, _style

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def momentum_experiment_figure(summary: Mapping[str, Any]) -> Figure:
    """Training curves per variant, and test error against the noise σ (module docstring)."""
    sigmas = list(summary["noise_sigmas"])
    with _style():
        fig, (curves, noise) = _grid(2, 2, 5.0, 3.8)
        curves.set_title("training loss (mean over replicates)")
        noise.set_title("test error vs input noise")
        for i, (_, v) in enumerate(summary["variants"].items()):
            colour = f"C{i}"
            mean = v.get("mean_curve") or []
            every = v.get("curve_every") or 1
            if mean:
                curves.semilogy([k * every for k in range(len(mean))], mean, color=colour,
                                label=v["label"])  # fmt: skip
            m = v["measures"]
            keys = ["clean_error", *(f"noisy_error@{s:g}" for s in sigmas)]
            xs, ys, lo, hi = [], [], [], []
            for x, k in zip([0.0, *sigmas], keys, strict=True):
                entry = m.get(k, {})
                if entry.get("mean") is None:
                    continue
                xs.append(x)
                ys.append(entry["mean"])
                a, b = entry["ci"]
                lo.append(entry["mean"] - a if a is not None else 0.0)
                hi.append(b - entry["mean"] if b is not None else 0.0)
            if xs:
                noise.errorbar(xs, ys, yerr=[lo, hi], color=colour, marker="o", capsize=3,
                               label=v["label"])  # fmt: skip
        curves.set_xlabel("Adam step")
        curves.set_ylabel("training MSE")
        noise.set_xlabel("input noise σ at test time (0: clean)")
        noise.set_ylabel("relative test MSE")
        for ax in (curves, noise):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        fig.suptitle(
            "Synthetic momentum experiment; bars: " + summary["measures"]["interval"], fontsize=9
        )
    return fig


def _num(x: object) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _ci(ci: Sequence[float | None]) -> str:
    if ci[0] is None or ci[1] is None:
        return "—"
    return f"[{ci[0]:.4g}, {ci[1]:.4g}]"


def momentum_summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as Markdown (module docstring)."""
    lines = [
        "# Momentum experiment: SMoE vs MomentumSMoE vs AdamSMoE vs RobustMomentumSMoE",
        "",
        f"Task: {summary['task']}. Balancing-loss weight {summary['balance_weight']:g}; "
        f"shifted inputs have standard deviation {summary['shift_scale']:g}.",
        "",
    ]
    for name, text in summary["measures"].items():
        lines.append(f"- {name}: {text}")
    for key, v in summary["variants"].items():
        lines += [
            "",
            f"## {v['label']} ({key})",
            "",
            f"{v['replicates']} replicates, {v['diverged']} diverged; seeds "
            f"{', '.join(map(str, v['seeds']))}.",
            "",
            "| measure | mean | 95 % interval | n |",
            "|---|---|---|---|",
        ]
        for name, m in v["measures"].items():
            lines.append(f"| {name} | {_num(m['mean'])} | {_ci(m['ci'])} | {m['n']} |")
    for key, entry in summary["comparisons"].items():
        label = summary["variants"].get(key, {}).get("label", key)
        lines += [
            "",
            f"## {label} − SMoE (paired by replicate)",
            "",
            "| measure | mean difference | 95 % interval | pairs | verdict | intervals overlap |",
            "|---|---|---|---|---|---|",
        ]
        for name, c in entry.items():
            lines.append(
                f"| {name} | {_num(c['difference'])} | {_ci(c['ci'])} | {c['pairs']} | "
                f"{c['verdict']} | {_num(c['intervals_overlap'])} |"
            )
    lines += ["", "## Findings", ""]
    lines += [f"- {t}" for t in summary["text"]]
    return "\n".join(lines) + "\n"


__all__ = ["momentum_experiment_figure", "momentum_summary_markdown"]
