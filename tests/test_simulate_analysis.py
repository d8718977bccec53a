"""Simulation analysis: symmetries divided out of the loss, the gauge, the verdict rule."""

from __future__ import annotations

import math

import torch

from moetheory.experiments.simulate.analysis import fit_losses, summarise, verdict
from moetheory.experiments.simulate.run import prepare
from moetheory.experiments.stats import mean_loglog_fit


def _sim(gate: str, expert: str, dim: int, atoms: list[list[float]], **extra):
    cfg = {"gate": gate, "expert": expert, "dim": dim, "atoms": atoms, **extra}
    if "input" not in cfg:
        cfg["input"] = {"low": [-2.0] * dim, "high": [2.0] * dim}
    return prepare(cfg)[0]


def _same_model(sim, other: torch.Tensor) -> None:
    """The two parameter sets define the same mixture (checked on 200 inputs)."""
    x = sim.law.sample(200, torch.Generator().manual_seed(1))
    m = sim.truth.model
    a, b = m.regression(x, sim.truth.theta), m.regression(x, other)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_a_rescaled_cosine_router_has_zero_loss():
    sim = _sim(
        "cosine",
        "scaled-tanh",
        2,
        [[1.0, 0.0, 0.5, 1.5, 1.0, -1.0], [-0.5, 1.0, 0.0, -1.0, 0.5, 1.5]],
        noise=0.1,
    )
    other = sim.truth.theta.clone()
    other[0, :2] *= 3.0  # only the direction of β₁ acts
    other[1, :2] *= 0.2
    _same_model(sim, other)
    raw = sim.truth.model.to_measure(other)
    assert raw is not None  # the raw parameters differ ...
    assert fit_losses(sim, other[None], "D1")[0] < 1e-12  # ... the canonical atoms do not


def test_a_rescaled_temperature_gate_has_zero_loss():
    sim = _sim(
        "temperature-softmax-b0",
        "gaussian-linear",
        1,
        [[2.0, 0.5, 0.5, -2.0, 1.0, 0.05], [-1.0, 1.0, 0.0, 1.0, -1.0, 0.05]],
    )
    other = sim.truth.theta.clone()
    other[0, :3] *= 2.5  # (β₁, τ, β₀) → c (β₁, τ, β₀)
    x = sim.law.sample(200, torch.Generator().manual_seed(1))
    y = torch.linspace(-3, 3, 200, dtype=torch.float64)
    m = sim.truth.model
    torch.testing.assert_close(
        m.log_density(x, y, sim.truth.theta), m.log_density(x, y, other), rtol=1e-12, atol=1e-12
    )
    assert fit_losses(sim, other[None], "D1")[0] < 1e-12


def test_the_perturbed_cosine_gauge_fixes_the_translation_in_gamma_space():
    sim = _sim(
        "perturbed-cosine",
        "scaled-tanh",
        2,
        [[1.0, 0.0, 0.5, 1.5, 1.0, -1.0], [-0.5, 1.0, 0.0, -1.0, 0.5, 1.5]],
        noise=0.1,
    )
    assert sim.gauge[-1].tolist() == [True, True, True, False, False, False]
    cosine = _sim(
        "cosine",
        "scaled-tanh",
        2,
        [[1.0, 0.0, 0.5, 1.5, 1.0, -1.0], [-0.5, 1.0, 0.0, -1.0, 0.5, 1.5]],
        noise=0.1,
    )
    assert cosine.gauge[-1].tolist() == [False, False, True, False, False, False]


def test_the_verdict_rule():
    kw = {"sizes": 6, "converged": 1.0}
    assert verdict(-0.42, (-0.42, -0.42), -0.5, "polynomial", **kw)[0] == "inconclusive"
    assert verdict(2.4, (2.0, 2.8), 0.0, "logarithmic", **kw)[0] == "inconsistent"
    assert verdict(-0.2, (-0.3, 0.1), -0.5, "polynomial", **kw)[0] == "inconsistent"
    assert verdict(-0.5, (-1.5, 1.0), -0.5, "polynomial", **kw)[0] == "inconclusive"  # too wide
    for ci in [(-0.48, -0.42), (-0.7, -0.45), (-0.2, -0.05)]:  # never both consistent
        both = {
            verdict(-0.4, ci, p, kind, **kw)[0]
            for p, kind in ((-0.5, "polynomial"), (0.0, "logarithmic"))
        }
        assert both != {"consistent"}
    assert verdict(-0.15, (-0.2, -0.1), 0.0, "logarithmic", **kw)[0] == "consistent"
    assert verdict(-0.5, (-0.6, -0.4), None, None, **kw)[0] == "empirical"
    assert verdict(-0.5, (-0.6, -0.4), -0.5, "polynomial", sizes=4, converged=1.0)[0] == (
        "inconclusive"
    )


def test_one_replicate_per_size_gives_no_interval():
    fit = mean_loglog_fit([10, 100, 1000], [1.0, 0.3, 0.1])
    assert math.isnan(fit.ci[0]) and math.isnan(fit.ci[1])


def test_summarise_counts_nonfinite_losses_and_keeps_them_out_of_the_means():
    results = [
        {"n": n, "loss": loss, "converged": True}
        for n in (100, 200, 400, 800, 1600)
        for loss in (1 / math.sqrt(n), 1.1 / math.sqrt(n), None if n == 400 else 0.9 / n**0.5)
    ]
    s = summarise(results, {"predicted": -0.5, "predicted_kind": "polynomial"}, seed=0)
    assert s["nonfinite_losses"] == 1
    point = next(p for p in s["points"] if p["n"] == 400)
    assert point["nonfinite"] == 1 and math.isclose(point["mean_loss"], 1.05 / 20)
    assert abs(s["slope"] + 0.5) < 0.02 and s["verdict"] == "consistent"
