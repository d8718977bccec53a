"""The momentum experiment: plain SMoE vs MomentumSMoE vs AdamSMoE vs RobustMomentumSMoE stacks
trained on one small synthetic task, compared on training-loss oscillation and on test error
clean, under Gaussian input noise and under a distribution shift.

A small synthetic analogue of the paper's experiments (softmoe_momentum.md §3; WikiText-103 and
ImageNet are out of reach here): **no number of the paper is reproduced or hard-coded**.

Protocol (reference softmoe_momentum.md §3, experiments.md §3 and §5):

1. **Task** (per-token regression by a fixed random teacher). Inputs are sequences of ``tokens``
   tokens x ∈ ℝ^d, every coordinate N(0, 1). The teacher, drawn once from the configuration's
   ``seed`` (the same task for every variant and training seed), is a residual tanh network of
   ``teacher_depth`` layers, ``h_{l+1} = h_l + tanh(A_l h_l + c_l)``, A_l with N(0, s²/d)
   entries (s = ``teacher_scale``), c_l ~ N(0, 0.1²), and the target is y = h_L − x₀ (the
   teacher's residual update, so that the identity carried by the residual stacks is not
   already the answer). Composing ``teacher_depth`` nonlinear layers is what asks for several
   SMoE layers. The SMoE layers act on each token alone (no attention), so the task is per
   token: the sequences only give the stacks their (B, T, d) input shape.
2. **Models**: the four stacks of :mod:`moetheory.layers.momentum` with the same ``dim``,
   ``experts``, ``top_k``, ``layers`` and linear router, mapping x₀ ↦ x_L; the prediction is
   ŷ = x_L − x₀ (the same residual convention as the target). Variants: ``smoe`` =
   ``MomentumSMoE(mu=0, gamma=1)``; ``momentum`` = ``MomentumSMoE(mu, gamma)``; ``adam`` =
   ``AdamSMoE(gamma1=adam_gamma1, mu, gamma)``; ``robust`` = ``RobustMomentumSMoE(kappa)``
   (ρ = 1 − 1/κ, L = 1, the layers module's choice: the adaptation is [open] in the reference).
3. **Units**: one unit = (variant, replicate r); its seed ``unit_seed(seed, "replicate=r")``
   (recorded) initialises the weights, so the four variants of one replicate start from the
   **same** weights (their stacks create the same modules in the same order) and are paired.
4. **Training**: ``steps`` full-batch Adam steps (learning rate ``lr``, constant) on
   ``train_sequences`` sequences, minimising MSE(ŷ, y) + ``balance_weight`` · Σ_layers
   balance_loss (the Switch load-balancing loss, 1 when balanced; default weight 0.01). Full
   batch, so that the loss curve's oscillation comes from the optimisation of the model and not
   from sampling minibatches.
5. **Measures** (per unit):

   - training-loss **oscillation**: with ℓ_t = ln(task MSE at step t) over the last half of the
     training steps (t ≥ ⌊steps/2⌋), the mean absolute second difference
     mean_t |ℓ_{t+1} − 2ℓ_t + ℓ_{t−1}|; and the **total variation** per step
     mean_t |ℓ_{t+1} − ℓ_t| over the same window (both 0 for a straight line in ln loss);
   - **test error**: the relative MSE Σ(ŷ − y)² / Σ(y − ȳ)² on ``test_sequences`` fresh
     sequences (1 = predicting the mean); **noisy** test error: the same with Gaussian noise
     N(0, σ²) added to the inputs at test time (the target stays the clean y), for each σ of
     ``noise_sigmas``; **degradation** = noisy − clean; **shift** error: inputs drawn with
     standard deviation ``shift_scale`` instead of 1 (targets from the teacher on those
     inputs). Test inputs and noise come from the configuration's seed: the same for all units.

6. **Analysis**: per variant the mean over replicates of each measure with a **95 % Student-t
   interval** (mean ± t_{0.975, n−1} · s/√n); per variant other than ``smoe`` the **paired**
   difference variant − smoe over replicates (same initial weights) with its 95 % t interval.
   A comparison is stated only where that interval excludes 0 ("lower"/"higher"), else "not
   resolved"; whether the two per-variant intervals overlap is reported beside it. A unit whose
   loss became non-finite is recorded as diverged and left out of the means (counted).

Example (configuration only; no training in a doctest)::

    >>> resolve_config(preset="quick")["steps"] < resolve_config()["steps"]
    True
    >>> t_interval([1.0, 2.0, 3.0])["mean"]
    2.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moetheory.experiments.config import (
    RUN_OPTIONS,
    ConfigError,
    Field,
    list_of,
    resolve_preset,
    within,
)
from moetheory.experiments.stats import t_interval
from moetheory.experiments.sweep import Unit, unit_seed

EXPERIMENT = "momentum-experiment"
VARIANTS = ("smoe", "momentum", "adam", "robust")
"""The four stacks, in the order of the summary (``smoe`` is the baseline of comparisons)."""
VARIANT_LABELS = {
    "smoe": "SMoE",
    "momentum": "MomentumSMoE",
    "adam": "AdamSMoE",
    "robust": "RobustMomentumSMoE",
}
OSCILLATION = (
    "mean |ℓ_{t+1} − 2ℓ_t + ℓ_{t−1}| of ℓ_t = ln(training MSE) over the last half of the steps"
)
TOTAL_VARIATION = "mean |ℓ_{t+1} − ℓ_t| of ℓ_t = ln(training MSE) over the last half of the steps"
TEST_ERROR = "relative MSE Σ(ŷ − y)² / Σ(y − ȳ)² on fresh test sequences"
INTERVAL = "95 % Student-t interval over replicates (mean ± t_{0.975, n−1}·s/√n)"
CURVE_POINTS = 200
"""At most this many points of each training curve are recorded (every ⌈steps/200⌉-th step)."""
MAX_TOKENS = 10**7


def _sigmas(value: object) -> None:
    list_of((int, float))(value)
    assert isinstance(value, list)
    for v in value:
        if isinstance(v, bool) or not math.isfinite(v) or not 0 < v <= 100:
            raise ValueError(f"{v} is outside (0, 100]")
    if len(set(value)) != len(value):
        raise ValueError("values must be distinct")


def _variants(value: object) -> None:
    list_of(str)(value)
    assert isinstance(value, list)
    for v in value:
        if v not in VARIANTS:
            raise ValueError(f"{v!r} is not one of {', '.join(VARIANTS)}")
    if len(set(value)) != len(value):
        raise ValueError("values must be distinct")


FIELDS: tuple[Field, ...] = (
    Field("variants", list, list(VARIANTS), "stacks compared", check=_variants),
    Field("dim", int, 8, "token dimension d (model width)", check=within(1, 4096)),
    Field("experts", int, 4, "experts per SMoE layer", check=within(1, 1024)),
    Field("top_k", int, 2, "experts per token (top-K)", check=within(1, 1024)),
    Field("layers", int, 6, "SMoE layers per stack", check=within(1, 256)),
    Field("mu", float, 0.7, "heavy-ball μ (momentum and adam)", check=within(0, 0.999)),
    Field("gamma", float, 1.0, "heavy-ball step γ", check=within(0, 10, open_low=True)),
    Field("adam_gamma1", float, 1.0, "AdamSMoE first-layer step γ₁", check=within(0, 10)),
    Field("kappa", float, 4.0, "robust momentum κ (ρ = 1 − 1/κ, L = 1)", check=within(1.001, 1e6)),
    Field("teacher_depth", int, 4, "teacher's residual tanh layers", check=within(1, 256)),
    Field(
        "teacher_scale", float, 1.5, "teacher weight scale s", check=within(0, 100, open_low=True)
    ),
    Field("tokens", int, 8, "tokens per sequence", check=within(1, 4096)),
    Field("train_sequences", int, 64, "training sequences", check=within(1, MAX_TOKENS)),
    Field("test_sequences", int, 256, "test sequences", check=within(1, MAX_TOKENS)),
    Field("noise_sigmas", list, [0.1, 0.3, 0.5], "test input noise σ", check=_sigmas),
    Field(
        "shift_scale",
        float,
        1.5,
        "std of the shifted test inputs",
        check=within(0, 100, open_low=True),
    ),
    Field("steps", int, 600, "full-batch Adam steps", check=within(2, 10**7)),
    Field("lr", float, 3e-3, "Adam learning rate", check=within(0, 10, open_low=True)),
    Field("balance_weight", float, 0.01, "weight of the balancing loss", check=within(0, 100)),
    Field("seeds", int, 5, "training replicates per variant", check=within(1, 1000)),
    Field(
        "seed", int, 0, "base seed (task, test data, replicate seeds)", check=within(0, 2**32 - 1)
    ),
    Field("dtype", str, "float32", "training precision", choices=("float32", "float64")),
    *RUN_OPTIONS,
)
"""The experiment's configuration fields (validated by
:func:`moetheory.experiments.config.validate`)."""

DEFAULT: dict[str, Any] = {f.name: f.default for f in FIELDS}
"""The default configuration: d = 8, 4 experts (top-2), 6 layers, a 4-layer teacher, 64 × 8
training tokens, 600 full-batch steps, 5 replicates of 4 variants; a few minutes on 2 CPU
cores."""

QUICK: dict[str, Any] = {**DEFAULT, "layers": 4, "steps": 200, "seeds": 3, "test_sequences": 128}
"""The quick configuration: 4 layers, 200 steps, 3 replicates; under a minute on 2 CPU cores."""

FULL: dict[str, Any] = {
    **DEFAULT,
    "dim": 32,
    "experts": 16,
    "top_k": 2,
    "layers": 12,
    "teacher_depth": 8,
    "tokens": 32,
    "train_sequences": 512,
    "test_sequences": 2048,
    "noise_sigmas": [0.05, 0.1, 0.2, 0.3, 0.5, 1.0],
    "steps": 3000,
    "lr": 1e-3,
    "seeds": 10,
    "threads": 0,
}
"""The full configuration: d = 32, 16 experts (top-2, as the reference's K = 2 of 16), 12
layers, 3000 steps, 10 replicates; meant for one GPU."""

PRESETS = {"default": DEFAULT, "quick": QUICK, "full": FULL}
RUN_FIELDS = ("scheduler",)
"""Fields that say where a run executes, not what it computes: left out of the configuration a
resumed run must match."""


def resolve_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> dict:
    """The validated configuration: a file (``path``), else a preset (``default`` when None,
    ``quick`` or ``full``), with ``overrides`` (command-line options) on top. Raises
    :class:`~moetheory.experiments.config.ConfigError` naming the bad field before any work.

    >>> resolve_config(preset="full")["experts"]
    16
    >>> try:
    ...     resolve_config(overrides={"top_k": 9})
    ... except ConfigError as exc:
    ...     print(exc)
    built-in default configuration with command-line options: field 'top_k' = 9: exceeds experts = 4
    """
    config, where = resolve_preset(FIELDS, PRESETS, path, preset, overrides, "default")
    _cross_check(config, where)
    return config


def _cross_check(config: dict, where: str) -> None:
    if config["top_k"] > config["experts"]:
        raise ConfigError(
            f"{where}: field 'top_k' = {config['top_k']}: exceeds experts = {config['experts']}"
        )
    if config["tokens"] * max(config["train_sequences"], config["test_sequences"]) > MAX_TOKENS:
        raise ConfigError(
            f"{where}: field 'tokens' = {config['tokens']}: more than {MAX_TOKENS:,} tokens"
        )
    scheduler = config["scheduler"]
    if scheduler not in ("none", "local") and not re.fullmatch(
        r"(tcp|tls|ucx|inproc)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(:\d{1,5})?/?", scheduler
    ):
        raise ConfigError(
            f"{where}: field 'scheduler' = {scheduler!r}: expected none, local or a Dask "
            "scheduler address such as tcp://HOST:8786"
        )


# ------------------------------------------------------------------------------------ task


def training_seed(base: int, replicate: int) -> int:
    """The initialisation seed of replicate r, shared by the variants:
    ``unit_seed(base, "replicate=r")``."""
    return unit_seed(base, f"replicate={replicate}")


def teacher(setup: Mapping[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The teacher's layers (A_l, c_l), drawn from ``seed`` (module docstring, item 1)."""
    rng = np.random.default_rng([setup["seed"], 1])
    d, s = setup["dim"], setup["teacher_scale"]
    return [
        (rng.normal(0, s / math.sqrt(d), (d, d)), rng.normal(0, 0.1, d))
        for _ in range(setup["teacher_depth"])
    ]


def target(layers: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """y = h_L − x for h₀ = x, h_{l+1} = h_l + tanh(A_l h_l + c_l) (float64)."""
    h = x
    for a, c in layers:
        h = h + np.tanh(h @ a.T + c)
    return h - x


def data(setup: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Training and test inputs and targets, the noise of each σ and the shifted test set, all
    from ``seed`` (shapes (n, T, d))."""
    rng = np.random.default_rng([setup["seed"], 2])
    layers = teacher(setup)
    shape = (setup["tokens"], setup["dim"])
    x_train = rng.normal(0, 1, (setup["train_sequences"], *shape))
    x_test = rng.normal(0, 1, (setup["test_sequences"], *shape))
    x_shift = rng.normal(0, setup["shift_scale"], (setup["test_sequences"], *shape))
    out = {
        "x_train": x_train,
        "y_train": target(layers, x_train),
        "x_test": x_test,
        "y_test": target(layers, x_test),
        "x_shift": x_shift,
        "y_shift": target(layers, x_shift),
    }
    for i, _ in enumerate(setup["noise_sigmas"]):
        out[f"noise_{i}"] = rng.normal(0, 1, x_test.shape)
    return out


def build(setup: Mapping[str, Any], variant: str):  # -> SMoEStack
    """The stack of ``variant`` (module docstring, item 2)."""
    from moetheory.layers.momentum import AdamSMoE, MomentumSMoE, RobustMomentumSMoE

    shape = (setup["dim"], setup["experts"], setup["top_k"], setup["layers"])
    if variant == "smoe":
        return MomentumSMoE(*shape, mu=0.0, gamma=1.0)
    if variant == "momentum":
        return MomentumSMoE(*shape, mu=setup["mu"], gamma=setup["gamma"])
    if variant == "adam":
        return AdamSMoE(*shape, gamma1=setup["adam_gamma1"], mu=setup["mu"], gamma=setup["gamma"])
    if variant == "robust":
        return RobustMomentumSMoE(*shape, kappa=setup["kappa"])
    raise ValueError(f"unknown variant {variant!r}")


def oscillation(losses: Sequence[float]) -> tuple[float | None, float | None]:
    """(mean |Δ² ln L|, mean |Δ ln L|) over the last half of ``losses`` (module docstring,
    item 5); None where the window is too short or a loss is not positive and finite.

    >>> oscillation([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    (0.0, 0.0)
    >>> [round(v, 6) for v in oscillation([1, 1, 1, math.e, 1, math.e, 1, math.e])]
    [2.0, 1.0]
    """
    window = np.asarray(losses[len(losses) // 2 :], dtype=float)
    if window.size < 3 or not np.all(np.isfinite(window)) or np.any(window <= 0):
        return None, None
    ell = np.log(window)
    return float(np.mean(np.abs(np.diff(ell, 2)))), float(np.mean(np.abs(np.diff(ell))))


def units(config: Mapping[str, Any], device: str) -> list[Unit]:
    """One unit per (variant, replicate); the seed depends on the replicate only."""
    setup = {k: v for k, v in config.items() if k not in ("scheduler", "device")}
    setup["device"] = device
    return [
        Unit(
            f"variant={v}/replicate={r}",
            training_seed(config["seed"], r),
            {"variant": v, "replicate": r, "setup": setup},
        )
        for v in config["variants"]
        for r in range(config["seeds"])
    ]


def _relative(pred: Any, y: Any) -> float:
    return float(((pred - y) ** 2).sum() / ((y - y.mean(dim=(0, 1))) ** 2).sum())


def train_unit(unit: Unit) -> dict:
    """Train and measure one (variant, replicate): the ``work`` of
    :func:`~moetheory.experiments.sweep.run_sweep` (a pure function of the unit)."""
    import torch

    from moetheory.experiments.batched import cpu_training

    setup = unit.params["setup"]
    variant = unit.params["variant"]
    device = torch.device(setup["device"])
    dtype = torch.float64 if setup["dtype"] == "float64" else torch.float32
    arrays = {k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in data(setup).items()}
    steps = setup["steps"]
    every = max(1, math.ceil(steps / CURVE_POINTS))
    with cpu_training(setup["threads"] or None), torch.random.fork_rng(devices=[]):
        torch.manual_seed(unit.seed)
        model = build(setup, variant).to(device=device, dtype=dtype)
        optimiser = torch.optim.Adam(model.parameters(), lr=setup["lr"])
        x, y = arrays["x_train"], arrays["y_train"]
        losses: list[float] = []
        balance = math.nan
        diverged = False
        for _ in range(steps):
            out, aux = model(x)
            task = torch.mean((out - x - y) ** 2)
            loss = task + setup["balance_weight"] * aux["balance_loss"]
            value = float(task.detach())
            losses.append(value)
            balance = float(aux["balance_loss"].detach())
            if not math.isfinite(float(loss.detach())):
                diverged = True
                break
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        errors: dict[str, Any] = {"clean_error": None, "shift_error": None, "noisy": []}
        if not diverged:
            with torch.no_grad():

                def error(inputs: Any, targets: Any) -> float:
                    return _relative(model(inputs)[0] - inputs, targets)

                clean = error(arrays["x_test"], arrays["y_test"])
                noisy = []
                for i, sigma in enumerate(setup["noise_sigmas"]):
                    e = error(arrays["x_test"] + sigma * arrays[f"noise_{i}"], arrays["y_test"])
                    noisy.append({"sigma": sigma, "error": e, "degradation": e - clean})
                errors = {
                    "clean_error": clean,
                    "shift_error": error(arrays["x_shift"], arrays["y_shift"]),
                    "noisy": noisy,
                }
    if not all(math.isfinite(v) for v in errors_values(errors)):
        diverged = True
        errors = {"clean_error": None, "shift_error": None, "noisy": []}
    osc, tv = oscillation(losses)
    return {
        "variant": variant,
        "replicate": unit.params["replicate"],
        "diverged": diverged,
        "final_train_loss": losses[-1] if losses and math.isfinite(losses[-1]) else None,
        "final_balance_loss": balance if math.isfinite(balance) else None,
        "oscillation": osc,
        "total_variation": tv,
        **errors,
        "curve_every": every,
        "curve": [v if math.isfinite(v) else None for v in losses[::every]],
    }


def errors_values(errors: Mapping[str, Any]) -> list[float]:
    """The measured test errors of a unit (empty when it diverged)."""
    out = [errors[k] for k in ("clean_error", "shift_error") if errors[k] is not None]
    return out + [n["error"] for n in errors["noisy"]]


# ------------------------------------------------------------------------------------ analysis


def _metrics(line: Mapping[str, Any], sigmas: Sequence[float]) -> dict[str, float | None]:
    """The measures of one unit by name (``noisy_error@σ``, ``degradation@σ``, …)."""
    out: dict[str, float | None] = {
        "final_train_loss": line["final_train_loss"],
        "oscillation": line["oscillation"],
        "total_variation": line["total_variation"],
        "clean_error": line["clean_error"],
        "shift_error": line["shift_error"],
    }
    if line["shift_error"] is not None and line["clean_error"] is not None:
        out["shift_degradation"] = line["shift_error"] - line["clean_error"]
    else:
        out["shift_degradation"] = None
    noisy = {n["sigma"]: n for n in line["noisy"]}
    for s in sigmas:
        n = noisy.get(s)
        out[f"noisy_error@{s:g}"] = None if n is None else n["error"]
        out[f"degradation@{s:g}"] = None if n is None else n["degradation"]
    return out


def metric_names(sigmas: Sequence[float]) -> list[str]:
    """The measures of the summary, in order."""
    names = ["final_train_loss", "oscillation", "total_variation", "clean_error"]
    names += [f"noisy_error@{s:g}" for s in sigmas] + [f"degradation@{s:g}" for s in sigmas]
    return names + ["shift_error", "shift_degradation"]


def _verdict(ci: Sequence[float | None]) -> str:
    lo, hi = ci
    if lo is None or hi is None:
        return "not resolved"
    if hi < 0:
        return "lower"
    if lo > 0:
        return "higher"
    return "not resolved"


def _overlap(a: Sequence[float | None], b: Sequence[float | None]) -> bool | None:
    if None in (*a, *b):
        return None
    assert a[0] is not None and a[1] is not None and b[0] is not None and b[1] is not None
    return not (a[1] < b[0] or b[1] < a[0])


def analyse(config: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> dict:
    """The summary (everything but device and timings): per variant the measures (mean and 95 %
    t interval over replicates, the seeds, the diverged count, the mean training curve), per
    variant the paired comparison with ``smoe``, and ``text``."""
    sigmas = list(config["noise_sigmas"])
    names = metric_names(sigmas)
    by_variant: dict[str, list[Mapping[str, Any]]] = {
        v: sorted((r for r in lines if r["variant"] == v), key=lambda r: r["replicate"])
        for v in config["variants"]
    }
    variants: dict[str, Any] = {}
    for v, rows in by_variant.items():
        kept = [r for r in rows if not r["diverged"]]
        measures = {name: t_interval([_metrics(r, sigmas)[name] for r in kept]) for name in names}
        curves = [r["curve"] for r in kept if all(c is not None for c in r["curve"])]
        mean_curve = (
            np.exp(np.mean(np.log(np.asarray(curves, dtype=float)), axis=0)).tolist()
            if curves
            else []
        )
        variants[v] = {
            "label": VARIANT_LABELS[v],
            "replicates": len(rows),
            "diverged": len(rows) - len(kept),
            "seeds": [r["seed"] for r in rows],
            "measures": measures,
            "curve_every": rows[0]["curve_every"] if rows else None,
            "mean_curve": mean_curve,
        }
    comparisons: dict[str, Any] = {}
    text = [
        "Synthetic analogue (not the paper's tasks): per-token regression of a fixed random "
        f"{config['teacher_depth']}-layer residual tanh teacher in d = {config['dim']}; stacks "
        f"of {config['layers']} SMoE layers, {config['experts']} experts (top-{config['top_k']})"
        f"; {config['steps']} full-batch Adam steps (lr {config['lr']:g}) on the MSE plus "
        f"{config['balance_weight']:g} × balancing loss; {config['seeds']} replicates per "
        "variant, paired by initial weights.",
        f"Intervals: {INTERVAL}; comparisons use the paired difference variant − SMoE and are "
        "stated only where its interval excludes 0; each is a separate 95 % interval, with no "
        "correction for the several measures and variants compared.",
    ]
    base = by_variant.get("smoe")
    for v, rows in by_variant.items():
        if v == "smoe" or base is None:
            continue
        ref = {r["replicate"]: r for r in base if not r["diverged"]}
        pairs = [
            (r, ref[r["replicate"]]) for r in rows if not r["diverged"] and r["replicate"] in ref
        ]
        entry = {}
        for name in names:
            diffs = []
            for a, b in pairs:
                x, y = _metrics(a, sigmas)[name], _metrics(b, sigmas)[name]
                if x is not None and y is not None:
                    diffs.append(x - y)
            diff = t_interval(diffs)
            entry[name] = {
                "difference": diff["mean"],
                "ci": diff["ci"],
                "pairs": diff["n"],
                "verdict": _verdict(diff["ci"]),
                "intervals_overlap": _overlap(
                    variants[v]["measures"][name]["ci"], variants["smoe"]["measures"][name]["ci"]
                ),
            }
        comparisons[v] = entry
        text.append(_comparison_sentence(v, entry, sigmas))
    for data_ in variants.values():
        if data_["diverged"]:
            text.append(
                f"{data_['label']}: {data_['diverged']} of {data_['replicates']} replicates "
                "diverged (non-finite loss) and are left out of the means."
            )
    return {
        "experiment": EXPERIMENT,
        "task": "per-token regression of a random residual tanh teacher (synthetic analogue)",
        "measures": {
            "oscillation": OSCILLATION,
            "total_variation": TOTAL_VARIATION,
            "test_error": TEST_ERROR,
            "degradation": "noisy (or shifted) test error − clean test error",
            "interval": INTERVAL,
        },
        "noise_sigmas": sigmas,
        "shift_scale": config["shift_scale"],
        "balance_weight": config["balance_weight"],
        "variants": variants,
        "comparisons": comparisons,
        "text": text,
    }


def _comparison_sentence(v: str, entry: Mapping[str, Any], sigmas: Sequence[float]) -> str:
    label = VARIANT_LABELS[v]
    keys = ["oscillation", "clean_error", *(f"degradation@{s:g}" for s in sigmas), "shift_error"]
    resolved = []
    unresolved = []
    for k in keys:
        c = entry[k]
        if c["verdict"] == "not resolved":
            unresolved.append(k)
        else:
            lo, hi = c["ci"]
            resolved.append(
                f"{k} {c['verdict']} than SMoE's (paired difference {c['difference']:+.3g}, "
                f"interval [{lo:+.3g}, {hi:+.3g}], {c['pairs']} pairs"
                f"{'' if c['intervals_overlap'] else '; the per-variant intervals do not overlap'})"
            )
    parts = resolved[:]
    if unresolved:
        parts.append(f"no difference resolved at this size in {', '.join(unresolved)}")
    return f"{label} vs SMoE: " + "; ".join(parts) + "."


# ------------------------------------------------------------------------------------ run


def run_experiment(config: Mapping[str, Any], out: str | Path, *, resume: bool = False) -> dict:
    """Run (or resume) the experiment into the run directory ``out``: ``results.jsonl`` (one
    line per (variant, replicate)), ``summary.json``, ``summary.md`` and the figure
    ``momentum.png`` / ``momentum.pdf``. Returns the summary."""
    from moetheory.experiments.study import Study, run_study
    from moetheory.present.momentum_experiment import (
        momentum_experiment_figure,
        momentum_summary_markdown,
    )

    study = Study(
        EXPERIMENT,
        RUN_FIELDS,
        units,
        train_unit,
        analyse,
        momentum_experiment_figure,
        momentum_summary_markdown,
        "momentum",
    )
    return run_study(study, config, out, resume=resume)


__all__ = [
    "DEFAULT",
    "FIELDS",
    "FULL",
    "QUICK",
    "analyse",
    "oscillation",
    "resolve_config",
    "run_experiment",
    "t_interval",
    "train_unit",
]
