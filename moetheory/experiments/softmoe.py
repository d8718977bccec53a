"""The Soft MoE implicit-bias experiment (issue 18 item 3): a norm-type target learned by one
Soft MoE layer with n experts at a fixed total expert width, and Algorithm 1 (best expert
subset) against random subsets.

Protocol (reference softmoe_momentum.md §1–§2, experiments.md §3, §5):

1. **Task** (synthetic, generated here from ``SeedSequence([seed, 1])`` for the training sample
   and ``SeedSequence([seed, 2])`` for the held-out one): a sequence X ∈ ℝ^{m×d} is
   s·Z, Z with i.i.d. N(0, 1) entries and a per-sequence scale s log-uniform on
   [``scale_low``, ``scale_high``] (so the norm varies); the target is t(X) = ‖X‖_F.
2. **Model**: one :class:`~moetheory.layers.SoftMoE` layer (p = 1 slot per expert, normalised
   logits, slots from the un-normalised tokens) → mean over the m tokens → a linear read-out
   d → 1. Expert e is an MLP d → h → d with ReLU, h = ⌊H/n⌋ (``hidden_total`` H: n·h is held
   constant, as in the reference's MNIST sweep). The parameter count of every model is counted
   (``numel``) and recorded; with n | H it is H·(2d + 1) + 2n·d + d + 2 — it grows by 2d per
   expert (router column and expert output bias), so it is fixed across n only up to the
   spread ``parameter_spread`` that the summary reports (``max/min − 1``; the quick and
   default configurations stay under 10 %).
3. **Training**: Adam (``lr``) on mini-batches of ``batch_size`` sequences of the fixed
   training sample, ``steps`` steps, mean squared error. One unit = (n, replicate); its seed
   (recorded) sets the initialisation and the mini-batch order; a unit depends on nothing else
   (the samples come from the configuration's ``seed``), so a resumed run equals an
   uninterrupted one.
4. **Measures** on the held-out sample: relative error RMSE / std(t); specialisation from the
   per-input expert mass s_e = Σ_tokens C (divided by m, a distribution over experts): the mean
   entropy of that distribution divided by log n (1 = uniform mixing, 0 = one expert), the
   share of inputs whose argmax expert differs from the most common one, and the number of
   distinct argmax experts.
5. **Algorithm 1** (units with the largest n only): for each fraction f of ``fractions``,
   k = max(1, round(f·n)) experts are kept per input by
   :meth:`~moetheory.layers.SoftMoE.keep_experts` (largest combine mass) and, as the baseline,
   ``random_draws`` draws of a uniformly random k-subset per input (seeded by the unit's seed);
   each gives a held-out relative error.
6. **Analysis** (``summary.json``): per n the mean relative error over seeds with a 95 %
   Student-t interval (mean ± t_{0.975, s−1}·sd/√s); the n = 1 error against the largest n's
   (Welch t interval for the difference of means); the Algorithm 1 table (means and t intervals
   over seeds; the random baseline is first averaged over its draws within a seed). The text
   states what the intervals show and nothing more.

Example (no training in a doctest)::

    >>> config = resolve_config(overrides={"experts": [1, 4], "hidden_total": 64})
    >>> [expert_width(config, n) for n in config["experts"]]
    [64, 16]
    >>> kept_experts(16, 0.125), kept_experts(2, 0.125)
    (2, 1)

Reference: Puigcerver et al. 2308.00951 (Soft MoE); Chung et al. 2409.00879 (single-expert
limitation; Algorithm 1); shared/reference/softmoe_momentum.md §1–§2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import torch
    from torch import nn

EXPERIMENT = "softmoe-experiment"
INTERVAL = "95 % Student-t interval over seeds: mean ± t_{0.975, s-1}·sd/√s"
DIFFERENCE_INTERVAL = "95 % Welch t interval for the difference of mean errors over seeds"
MAX_EXPERTS = 1024
MAX_POINTS = 10**7


def _experts(value: object) -> None:
    list_of(int)(value)
    assert isinstance(value, list)
    for v in value:
        if not 1 <= v <= MAX_EXPERTS:
            raise ValueError(f"{v} is outside 1..{MAX_EXPERTS}")
    if len(set(value)) != len(value):
        raise ValueError("values must be distinct")


def _fractions(value: object) -> None:
    list_of(float)(value)
    assert isinstance(value, list)
    for v in value:
        if not 0 < v <= 1:
            raise ValueError(f"{v} is outside (0, 1]")
    if len(set(value)) != len(value):
        raise ValueError("values must be distinct")


FIELDS: tuple[Field, ...] = (
    Field("dim", int, 8, "token dimension d", check=within(1, 4096)),
    Field("tokens", int, 8, "tokens m per sequence", check=within(2, 4096)),
    Field("experts", list, [1, 2, 4, 8, 16], "numbers of experts n", check=_experts),
    Field(
        "hidden_total",
        int,
        256,
        "total expert hidden width H (h = ⌊H/n⌋)",
        check=within(1, 10**7),
    ),
    Field("scale_low", float, 0.5, "smallest sequence scale", check=within(0, 1e6, open_low=True)),
    Field("scale_high", float, 2.0, "largest sequence scale", check=within(0, 1e6, open_low=True)),
    Field("seeds", int, 5, "training seeds per n", check=within(1, 1000)),
    Field("seed", int, 0, "base seed", check=within(0, 2**32 - 1)),
    Field("steps", int, 1500, "Adam steps", check=within(1, 10**7)),
    Field("lr", float, 3e-3, "Adam learning rate", check=within(0, 10, open_low=True)),
    Field("batch_size", int, 128, "sequences per Adam step", check=within(1, MAX_POINTS)),
    Field("train_points", int, 4096, "training sequences", check=within(1, MAX_POINTS)),
    Field("test_points", int, 4096, "held-out sequences", check=within(2, MAX_POINTS)),
    Field(
        "fractions",
        list,
        [1.0, 0.5, 0.25, 0.125],
        "Algorithm 1: fractions f of the experts kept",
        check=_fractions,
    ),
    Field("random_draws", int, 10, "random subsets per fraction", check=within(1, 10_000)),
    Field("normalize_tokens", bool, False, "slots from normalised tokens (Chung et al. variant)"),
    *RUN_OPTIONS,
)
"""The experiment's configuration fields (validated by
:func:`moetheory.experiments.config.validate`)."""

DEFAULT: dict[str, Any] = {f.name: f.default for f in FIELDS}
"""The default configuration: d = 8, m = 8, n = 1 … 16, H = 256, 5 seeds, 1500 Adam steps;
a few minutes on 2 CPU cores."""

QUICK: dict[str, Any] = {
    **DEFAULT,
    "dim": 4,
    "tokens": 4,
    "experts": [1, 4, 16],
    "hidden_total": 256,
    "seeds": 3,
    "steps": 500,
    "train_points": 1024,
    "test_points": 1024,
}
"""The quick configuration: d = m = 4, n ∈ {1, 4, 16}, H = 256, 3 seeds, 500 steps; well under
a minute on 2 CPU cores."""

FULL: dict[str, Any] = {
    **DEFAULT,
    "dim": 16,
    "tokens": 16,
    "experts": [1, 2, 4, 8, 16, 32, 64],
    "hidden_total": 1024,
    "seeds": 10,
    "steps": 10000,
    "lr": 1e-3,
    "batch_size": 256,
    "train_points": 65536,
    "test_points": 16384,
    "threads": 0,
}
"""The full configuration, meant for one GPU: d = m = 16, n = 1 … 64, H = 1024, 10 seeds."""

PRESETS = {"quick": QUICK, "default": DEFAULT, "full": FULL}
RUN_FIELDS = ("scheduler",)
"""Fields that say where a run executes, not what it computes."""


def resolve_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> dict:
    """The validated configuration: a file (``path``), else a preset (``default`` when none
    is named, ``quick`` or ``full``), with ``overrides`` on top. Raises
    :class:`~moetheory.experiments.config.ConfigError` naming the bad field before any work.

    >>> resolve_config(preset="full")["dim"]
    16
    >>> try:
    ...     resolve_config(overrides={"fractions": [0.5, 2]})
    ... except ConfigError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    command line: field 'fractions' = [0.5, 2]...
    """
    config, where = resolve_preset(FIELDS, PRESETS, path, preset, overrides, "default")
    _cross_check(config, where)
    return config


def _cross_check(config: dict, where: str) -> None:
    if config["scale_low"] > config["scale_high"]:
        raise ConfigError(
            f"{where}: field 'scale_low' = {config['scale_low']!r} exceeds scale_high = "
            f"{config['scale_high']!r}"
        )
    largest = max(config["experts"])
    if config["hidden_total"] < largest:
        raise ConfigError(
            f"{where}: field 'hidden_total' = {config['hidden_total']}: h = ⌊H/n⌋ is 0 for "
            f"n = {largest}"
        )
    if config["batch_size"] > config["train_points"]:
        raise ConfigError(
            f"{where}: field 'batch_size' = {config['batch_size']} exceeds train_points = "
            f"{config['train_points']}"
        )
    scheduler = config["scheduler"]
    if scheduler not in ("none", "local") and not re.fullmatch(
        r"(tcp|tls|ucx|inproc)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(:\d{1,5})?/?", scheduler
    ):
        raise ConfigError(
            f"{where}: field 'scheduler' = {scheduler!r}: expected none, local or a Dask "
            "scheduler address such as tcp://HOST:8786"
        )


# ------------------------------------------------------------------------------------ plan


def expert_width(config: Mapping[str, Any], n: int) -> int:
    """h = ⌊H/n⌋: the hidden width of each of n experts."""
    return int(config["hidden_total"]) // n


def kept_experts(n: int, fraction: float) -> int:
    """k = max(1, round(f·n)) experts kept by Algorithm 1 at fraction f."""
    return max(1, min(n, round(fraction * n)))


def training_seed(base: int, replicate: int) -> int:
    """The seed of replicate r (< 2^32), shared by every n (common random numbers).

    >>> training_seed(0, 1) == training_seed(0, 1) != training_seed(0, 2)
    True
    """
    return unit_seed(base, f"replicate={replicate}") % 2**32


SETUP_KEYS = (
    "dim",
    "tokens",
    "hidden_total",
    "scale_low",
    "scale_high",
    "seed",
    "steps",
    "lr",
    "batch_size",
    "train_points",
    "test_points",
    "fractions",
    "random_draws",
    "normalize_tokens",
    "threads",
)


def units(config: Mapping[str, Any], device: str) -> list[Unit]:
    """One unit per (n, replicate): id ``n=N/replicate=r``, seed :func:`training_seed`;
    Algorithm 1 is measured in the units of the largest n (``algorithm1`` true)."""
    setup = {k: config[k] for k in SETUP_KEYS} | {"device": device}
    largest = max(config["experts"])
    out = []
    for n in config["experts"]:
        for r in range(config["seeds"]):
            params = {
                "experts": n,
                "width": expert_width(config, n),
                "replicate": r,
                "algorithm1": n == largest,
                "setup": setup,
            }
            out.append(Unit(f"n={n}/replicate={r}", training_seed(config["seed"], r), params))
    return out


# ------------------------------------------------------------------------------------ work


def sample(setup: Mapping[str, Any], which: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, t(X)): ``count`` sequences s·Z (Z standard normal (m, d), s log-uniform on
    [scale_low, scale_high]) from ``SeedSequence([seed, which])``, and ‖X‖_F.

    >>> x, t = sample({"seed": 0, "dim": 3, "tokens": 2, "scale_low": 1.0,
    ...                "scale_high": 1.0}, 1, 5)
    >>> x.shape, bool(np.allclose(t, np.sqrt((x**2).sum(axis=(1, 2)))))
    ((5, 2, 3), True)
    """
    rng = np.random.default_rng(np.random.SeedSequence([setup["seed"], which]))
    z = rng.standard_normal((count, setup["tokens"], setup["dim"]))
    lo, hi = math.log(setup["scale_low"]), math.log(setup["scale_high"])
    s = np.exp(rng.uniform(lo, hi, size=(count, 1, 1)))
    x = s * z
    return x, np.sqrt((x**2).sum(axis=(1, 2)))


def samples(setup: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, t_train, x_test, t_test): the fixed training and held-out samples."""
    x_train, t_train = sample(setup, 1, setup["train_points"])
    x_test, t_test = sample(setup, 2, setup["test_points"])
    return x_train, t_train, x_test, t_test


def build_model(dim: int, n: int, width: int, normalize_tokens: bool = False) -> nn.Module:
    """SoftMoE(d, n, p = 1, experts d → h → d ReLU) → mean over tokens → Linear(d, 1)
    (built with torch's global generator: seed it first)."""
    from torch import nn

    from moetheory.layers import SoftMoE

    def expert(d: int) -> nn.Module:
        return nn.Sequential(nn.Linear(d, width), nn.ReLU(), nn.Linear(width, d))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.moe = SoftMoE(
                dim, n, 1, expert=expert, normalize=True, normalize_tokens=normalize_tokens
            )
            self.readout = nn.Linear(dim, 1)

        def forward(
            self, x: torch.Tensor, keep: int | None = None, mask: torch.Tensor | None = None
        ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            if keep is not None:
                y, aux = self.moe.keep_experts(x, keep)
            else:
                y, aux = self.moe(x, experts_mask=mask)
            return self.readout(y.mean(dim=1)).squeeze(-1), aux

    return Model()


def parameter_count(model: nn.Module) -> int:
    """The number of trainable parameters (Σ numel)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def _relative_error(pred: torch.Tensor, target: torch.Tensor) -> float:
    residual = (pred.double() - target.double()).square().mean().sqrt()
    return float(residual / target.double().std())


def specialisation(mass: np.ndarray) -> dict[str, Any]:
    """Specialisation measures from the expert mass (B, n) (rows sum to m): mean normalised
    entropy of s/m (None for n = 1), the share of inputs whose argmax expert is not the most
    common one, the number of distinct argmax experts, and the normalised entropy of the mean
    mass (load balance).

    >>> out = specialisation(np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    >>> round(out["mass_entropy"], 3), out["argmax_distinct"]
    (0.333, 2)
    """
    b, n = mass.shape
    p = mass / mass.sum(axis=1, keepdims=True)
    top = p.argmax(axis=1)
    counts = np.bincount(top, minlength=n)
    out: dict[str, Any] = {
        "argmax_varies": float(1 - counts.max() / b),
        "argmax_distinct": int((counts > 0).sum()),
        "mass_entropy": None,
        "load_entropy": None,
    }
    if n > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
        mean = p.mean(axis=0)
        load = -np.where(mean > 0, mean * np.log(np.where(mean > 0, mean, 1)), 0.0).sum()
        out["mass_entropy"] = float(ent.mean() / math.log(n))
        out["load_entropy"] = float(load / math.log(n))
    return out


def _random_masks(b: int, n: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """A (b, n) boolean mask with a uniformly random k-subset per row."""
    import torch

    order = torch.rand(b, n, generator=generator).argsort(dim=1)[:, :k]
    return torch.zeros(b, n, dtype=torch.bool).scatter(1, order, True)


def train_unit(unit: Unit) -> dict:
    """Train and measure one unit (a pure function of the unit: the ``work`` of
    :func:`~moetheory.experiments.sweep.run_sweep`)."""
    import torch

    from moetheory.experiments.batched import cpu_training

    setup = unit.params["setup"]
    n, width = unit.params["experts"], unit.params["width"]
    device = torch.device(setup["device"])
    with cpu_training(setup["threads"] or None), torch.random.fork_rng(devices=[]):
        torch.manual_seed(unit.seed)
        x_tr, t_tr, x_te, t_te = (
            torch.as_tensor(a, dtype=torch.float32, device=device) for a in samples(setup)
        )
        model = build_model(setup["dim"], n, width, setup["normalize_tokens"]).to(device)
        count = parameter_count(model)
        generator = torch.Generator().manual_seed(unit.seed)
        optimiser = torch.optim.Adam(model.parameters(), lr=setup["lr"])
        size, batch = setup["train_points"], setup["batch_size"]
        order = torch.randperm(size, generator=generator)
        cursor, loss_value = 0, math.nan
        model.train()
        for _ in range(setup["steps"]):
            if cursor + batch > size:
                order, cursor = torch.randperm(size, generator=generator), 0
            idx = order[cursor : cursor + batch].to(device)
            cursor += batch
            pred, _ = model(x_tr[idx])
            loss = (pred - t_tr[idx]).square().mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            loss_value = float(loss.detach())
        model.eval()
        with torch.no_grad():
            pred_tr, _ = model(x_tr)
            pred_te, aux = model(x_te)
            full = _relative_error(pred_te, t_te)
            out: dict[str, Any] = {
                "experts": n,
                "width": width,
                "replicate": unit.params["replicate"],
                "parameters": count,
                "expert_parameters": parameter_count(model.get_submodule("moe.experts")),
                "test_error": full,
                "train_error": _relative_error(pred_tr, t_tr),
                "final_batch_loss": loss_value,
                **specialisation(aux["expert_mass"].double().cpu().numpy()),
                "steps": setup["steps"],
                "device": device.type,
            }
            if unit.params["algorithm1"]:
                out["algorithm1"] = _algorithm1(model, x_te, t_te, n, setup, unit.seed, full)
    return out


def _algorithm1(
    model: nn.Module,
    x: torch.Tensor,
    t: torch.Tensor,
    n: int,
    setup: Mapping[str, Any],
    seed: int,
    full: float,
) -> list[dict]:
    """Per fraction: Algorithm 1's held-out error and ``random_draws`` random-subset errors."""
    import torch

    generator = torch.Generator().manual_seed(seed + 1)
    rows = []
    for f in setup["fractions"]:
        k = kept_experts(n, f)
        pred, _ = model(x, keep=k)
        randoms = []
        for _ in range(setup["random_draws"]):
            mask = _random_masks(x.shape[0], n, k, generator).to(x.device)
            rpred, _ = model(x, mask=mask)
            randoms.append(_relative_error(rpred, t))
        rows.append(
            {
                "fraction": f,
                "kept": k,
                "keep_error": _relative_error(pred, t),
                "random_errors": randoms,
                "random_error": float(np.mean(randoms)),
                "full_error": full,
            }
        )
    return rows


# ------------------------------------------------------------------------------------ analysis


def welch_interval(a: Sequence[float], b: Sequence[float]) -> list[float | None]:
    """95 % Welch t interval for mean(a) − mean(b) (None when either has < 2 values)."""
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size < 2 or y.size < 2:
        return [None, None]
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    diff = float(x.mean() - y.mean())
    se = math.sqrt(vx + vy)
    if se == 0:
        return [diff, diff]
    dof = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return [diff - half, diff + half]


def _mean_of(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def analyse(config: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> dict:
    """The summary (everything but device and timings): ``points`` per n, ``parameters``
    (counts and spread), ``single_vs_many``, ``algorithm1`` and ``text``."""
    points = []
    for n in sorted(config["experts"]):
        mine = [r for r in lines if r["experts"] == n]
        if not mine:
            continue
        points.append(
            {
                "experts": n,
                "width": mine[0]["width"],
                "parameters": mine[0]["parameters"],
                "expert_parameters": mine[0]["expert_parameters"],
                "seeds": len(mine),
                "test_error": t_interval([r["test_error"] for r in mine]),
                "train_error": t_interval([r["train_error"] for r in mine]),
                "mass_entropy": _mean_of([r["mass_entropy"] for r in mine]),
                "load_entropy": _mean_of([r["load_entropy"] for r in mine]),
                "argmax_varies": _mean_of([r["argmax_varies"] for r in mine]),
                "argmax_distinct": _mean_of([r["argmax_distinct"] for r in mine]),
            }
        )
    counts = [p["parameters"] for p in points]
    spread = max(counts) / min(counts) - 1 if counts else None
    text = [
        f"Task: t(X) = ‖X‖_F for X = s·Z, Z ∈ ℝ^({config['tokens']}×{config['dim']}) standard "
        f"normal, s log-uniform on [{config['scale_low']:g}, {config['scale_high']:g}]; "
        f"{config['train_points']:,} training and {config['test_points']:,} held-out "
        "sequences. Model: one Soft MoE layer (p = 1) → mean over tokens → linear read-out; "
        f"experts d → ⌊{config['hidden_total']}/n⌋ → d; {config['steps']:,} Adam steps; "
        f"{config['seeds']} seeds per n. Error: held-out RMSE / std(t).",
    ]
    if spread is not None:
        text.append(
            f"Parameter counts (numel) range from {min(counts):,} to {max(counts):,} "
            f"(spread {100 * spread:.1f} %)."
        )
    for p in points:
        lo, hi = p["test_error"]["ci"]
        text.append(
            f"n = {p['experts']}: relative error {p['test_error']['mean']:.4f}"
            + (f" (95 % t interval [{lo:.4f}, {hi:.4f}])" if lo is not None else "")
            + (
                f"; mass entropy / log n {p['mass_entropy']:.3f}, argmax varies on "
                f"{100 * p['argmax_varies']:.1f} % of inputs"
                if p["mass_entropy"] is not None
                else ""
            )
            + "."
        )
    comparison = _single_vs_many(lines, points)
    if comparison is not None:
        text.append(comparison["statement"])
    table = _algorithm1_table(lines)
    for row in table:
        text.append(
            f"Algorithm 1, f = {row['fraction']:g} (k = {row['kept']} of "
            f"{row['experts']}): keep {row['keep_error']['mean']:.4f} vs random "
            f"{row['random_error']['mean']:.4f}; {row['verdict']}."
        )
    return {
        "experiment": EXPERIMENT,
        "task": "t(X) = ‖X‖_F, Gaussian tokens with a random per-sequence scale",
        "error": "held-out RMSE / std(t)",
        "interval": INTERVAL,
        "difference_interval": DIFFERENCE_INTERVAL,
        "dim": config["dim"],
        "tokens": config["tokens"],
        "hidden_total": config["hidden_total"],
        "normalize_tokens": config["normalize_tokens"],
        "points": points,
        "parameters": {"counts": counts, "spread": spread},
        "single_vs_many": comparison,
        "algorithm1": table,
        "text": text,
    }


def _single_vs_many(
    lines: Sequence[Mapping[str, Any]], points: Sequence[Mapping[str, Any]]
) -> dict | None:
    if len(points) < 2 or points[0]["experts"] != 1:
        return None
    many = points[-1]["experts"]
    one = [r["test_error"] for r in lines if r["experts"] == 1]
    other = [r["test_error"] for r in lines if r["experts"] == many]
    diff = welch_interval(one, other)
    a, b = points[0]["test_error"], points[-1]["test_error"]
    if diff[0] is None:
        verdict = "inconclusive (fewer than 2 seeds)"
    elif diff[0] > 0:
        verdict = "the single expert's error is higher (the difference interval excludes 0)"
    elif diff[1] is not None and diff[1] < 0:
        verdict = "the single expert's error is lower (the difference interval excludes 0)"
    else:
        verdict = "no difference resolved (the difference interval contains 0)"
    lo = a["ci"][0]
    bounded = None if lo is None else lo > 0
    statement = (
        f"n = 1 vs n = {many}: mean error {a['mean']:.4f} vs {b['mean']:.4f}"
        + (f", ratio {a['mean'] / b['mean']:.2f}" if b["mean"] else "")
        + (
            f"; difference interval [{diff[0]:.4f}, {diff[1]:.4f}]: {verdict}"
            if diff[0] is not None
            else f": {verdict}"
        )
        + (
            f"; the single expert's error stays at or above {lo:.4f} (the lower end of its "
            f"interval) while {many} experts reach {b['mean']:.4f}: an observation at this size "
            "and training budget, not a proof of a lower bound"
            if bounded and diff[0] is not None and diff[0] > 0
            else ""
        )
        + "."
    )
    return {
        "single": 1,
        "many": many,
        "single_error": a,
        "many_error": b,
        "ratio": a["mean"] / b["mean"] if b["mean"] else None,
        "difference_ci": diff,
        "verdict": verdict,
        "single_interval_above_zero": bounded,
        "statement": statement,
    }


def _algorithm1_table(lines: Sequence[Mapping[str, Any]]) -> list[dict]:
    rows = [r for r in lines if r.get("algorithm1")]
    if not rows:
        return []
    n = rows[0]["experts"]
    out = []
    for i, first in enumerate(rows[0]["algorithm1"]):
        keep = [r["algorithm1"][i]["keep_error"] for r in rows]
        rand = [r["algorithm1"][i]["random_error"] for r in rows]
        diff = welch_interval(keep, rand)
        paired = t_interval([k - q for k, q in zip(keep, rand, strict=True)])
        lo, hi = paired["ci"]
        if all(k == q for k, q in zip(keep, rand, strict=True)):
            verdict = "identical (the same errors in every seed)"
        elif lo is None:
            verdict = "inconclusive (fewer than 2 seeds)"
        elif hi < 0:
            verdict = "Algorithm 1 lower than random (paired interval below 0)"
        elif lo > 0:
            verdict = "Algorithm 1 higher than random (paired interval above 0)"
        else:
            verdict = "no difference resolved (paired interval contains 0)"
        out.append(
            {
                "experts": n,
                "fraction": first["fraction"],
                "kept": first["kept"],
                "keep_error": t_interval(keep),
                "random_error": t_interval(rand),
                "full_error": t_interval([r["algorithm1"][i]["full_error"] for r in rows]),
                "paired_difference": paired,
                "welch_difference_ci": diff,
                "verdict": verdict,
            }
        )
    return out


# ------------------------------------------------------------------------------------ run


def run_experiment(config: Mapping[str, Any], out: str | Path, *, resume: bool = False) -> dict:
    """Run (or resume) the experiment into the run directory ``out``: ``results.jsonl`` (one
    line per (n, replicate)), ``summary.json``, ``summary.md`` and the figure
    ``softmoe.png`` / ``softmoe.pdf``. Returns the summary."""
    from moetheory.experiments.study import Study, run_study
    from moetheory.present.softmoe_experiment import (
        softmoe_experiment_figure,
        softmoe_summary_markdown,
    )

    study = Study(
        EXPERIMENT,
        RUN_FIELDS,
        units,
        train_unit,
        analyse,
        softmoe_experiment_figure,
        softmoe_summary_markdown,
        "softmoe",
    )
    return run_study(study, config, out, resume=resume)


__all__ = [
    "DEFAULT",
    "FIELDS",
    "FULL",
    "QUICK",
    "analyse",
    "build_model",
    "resolve_config",
    "run_experiment",
    "train_unit",
]
