"""The approximation trade-off experiment (issue 16 item 3): budget matching, the contract of
results.jsonl and summary.json, resume, configuration errors, and the predicted slopes derived
again with sympy."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from moetheory.bounds.architecture import Architecture
from moetheory.cli import main
from moetheory.experiments import approx
from moetheory.experiments.budgets import architecture, budget_grid, counted, match_width
from moetheory.experiments.config import ConfigError, load_config, validate
from moetheory.layers.moe import count_parameters, realise

ROOT = Path(__file__).resolve().parent.parent

TINY = {
    "budgets": [60, 200],
    "cells": [1, 2, 4],
    "steps": 60,
    "seeds": 2,
    "train_points": 128,
    "test_points": 500,
    "sup_points": 500,
    "sup_starts": 1,
    "sup_iterations": 3,
    "device": "cpu",
}
"""A configuration that trains 10 models in about a second."""

CONTRACT_LINE = ("budget", "experts", "width", "depth", "seed", "parameters", "sup_error",
                 "l2_error", "converged", "router", "target", "dim", "train_loss")  # fmt: skip


def _config(**extra) -> dict:
    return approx.resolve_config(overrides={**TINY, **extra})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("approx") / "run"
    return out, approx.run_experiment(_config(), out)


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _stable(summary: dict) -> dict:
    """The summary without timings and the resume count (they differ between runs)."""
    return {k: v for k, v in summary.items() if k not in ("seconds", "resumed")}


# ---------------------------------------------------------------------------- budget matching


@pytest.mark.parametrize("router", ["grid", "prototype", "learned"])
@pytest.mark.parametrize(("dim", "kind"), [(1, "total"), (2, "total"), (2, "active"), (3, "total")])
def test_budget_matching_within_tolerance_and_equal_to_realised_numel(router, dim, kind):
    experts = [k**dim for k in (1, 2, 3, 4)]
    for budget in (300, 2000):
        kept, dropped = budget_grid(budget, kind, dim, experts, [1, 2], router)
        assert len(kept) + len(dropped) == 2 * len(experts)
        for m in kept:
            count = counted(m.architecture, kind)
            assert abs(count - budget) <= 0.1 * budget
            # the closest width: neither neighbour comes nearer to the budget
            for w in (m.width - 1, m.width + 1):
                if w >= 1:
                    other = counted(architecture(dim, m.experts, m.depth, w, router), kind)
                    assert abs(other - budget) >= abs(count - budget)
            module = realise(m.architecture)
            numbers = count_parameters(module)
            assert numbers["total"] == sum(p.numel() for p in module.parameters())
            assert (numbers["total"], numbers["active"]) == (m.counts["total"], m.counts["active"])


def test_match_width_drops_an_unreachable_budget():
    assert match_width(50, "total", 1, 64, 1, "grid") is None
    m = match_width(1000, "active", 2, 16, 2, "prototype")
    assert m is not None and m.architecture == Architecture(
        dim=2, experts=16, hidden=(m.width,) * 2, router="prototype"
    )
    assert abs(m.deviation) <= 0.1


def test_trained_modules_have_the_planned_counts(tiny_run):
    out, _ = tiny_run
    for line in _lines(out):
        assert line["counts_equal_numel"] is True
        arch = architecture(1, line["experts"], line["depth"], line["width"], "grid")
        assert line["parameters"]["total"] == arch.counts().total
        assert abs(line["parameters"]["total"] - line["budget"]) <= 0.1 * line["budget"]


# ---------------------------------------------------------------------------- run contract


def test_results_jsonl_has_the_contract_fields(tiny_run):
    out, _ = tiny_run
    lines = _lines(out)
    plan, _ = approx.plan(_config())
    assert len(lines) == sum(len(v) for v in plan.values()) * TINY["seeds"]
    assert len({line["unit"] for line in lines}) == len(lines)
    for line in lines:
        assert set(CONTRACT_LINE) <= set(line)
        assert set(line["parameters"]) >= {"total", "active"}
        assert line["sup_error"] > 0 and line["l2_error"] > 0
        assert line["sup_error"] >= line["l2_error"]  # sup ≥ RMS on the same function
        assert isinstance(line["converged"], bool)
        assert line["router"] == "grid" and line["objective"] == "mse"
        assert line["target"] == "abs-power" and line["dim"] == 1


def test_summary_has_the_contract_fields(tiny_run):
    out, summary = tiny_run
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert on_disk["device"] == "cpu"
    assert on_disk["seconds"]["this_invocation"] > 0
    assert isinstance(on_disk["fits"], list) and on_disk["fits"]
    assert [b["budget"] for b in on_disk["budgets"]] == TINY["budgets"]
    for entry in on_disk["budgets"]:
        assert entry["rows"]
        assert set(entry["laws"]) == {"shallow", "deep"}
        for law in entry["laws"].values():
            assert {"slope", "ci", "predicted", "verdict"} <= set(law)
            assert law["verdict"] in ("consistent", "inconsistent", "inconclusive")
        assert entry["laws"]["shallow"]["predicted"] == 0.0
        assert entry["laws"]["deep"]["predicted"] == 0.5
        if entry["laws"]["shallow"]["slope"] is not None:
            assert entry["laws"]["shallow"]["n_groups"] == TINY["seeds"]  # bootstrap over seeds
    assert any("construction" in t or "training" in t for t in on_disk["text"])
    for name in (
        "approx.png",
        "approx.pdf",
        "summary.md",
        "constructions.json",
        "environment.json",
    ):
        assert (out / name).stat().st_size > 0
    assert (out / "approx.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| law | predicted |" in (out / "summary.md").read_text()


def test_resume_after_an_interrupted_run_gives_the_same_summary(tiny_run, tmp_path, monkeypatch):
    reference_out, reference = tiny_run
    calls = []
    real = approx.train_batch

    def crash_on_second_budget(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(batch)

    monkeypatch.setattr(approx, "train_batch", crash_on_second_budget)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        approx.run_experiment(_config(), out)
    first = _lines(out)
    assert first and {line["budget"] for line in first} == {60}
    assert not (out / "summary.json").exists()
    monkeypatch.setattr(approx, "train_batch", real)
    resumed = approx.run_experiment(_config(), out, resume=True)
    lines = _lines(out)
    assert [line["unit"] for line in lines[: len(first)]] == [line["unit"] for line in first]
    assert sorted(line["unit"] for line in lines) == sorted(
        line["unit"] for line in _lines(reference_out)
    )
    assert resumed["resumed"] == 1
    assert _stable(resumed) == _stable(reference)
    assert (out / "approx.png").read_bytes() == (reference_out / "approx.png").read_bytes()


# ---------------------------------------------------------------------------- configuration


def test_bad_config_field_exits_2_naming_it(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("budgets = [100]\nsteps = -5\n")
    out = tmp_path / "out"
    assert main(["approx-experiment", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'steps'" in err and "-5" in err
    assert not out.exists()
    bad.write_text("budgets = [100]\nstepz = 5\n")
    assert main(["approx-experiment", str(bad), "--out", str(out)]) == 2
    assert "'stepz'" in capsys.readouterr().err
    assert main(["approx-experiment", "--router", "softmax", "--out", str(out)]) == 2
    assert "'router'" in capsys.readouterr().err
    assert main(["approx-experiment", "--target", "sawtooth", "--alpha", "1"]) == 2
    assert "'alpha'" in capsys.readouterr().err
    assert main(["approx-experiment", str(bad), "--quick"]) == 2
    assert not out.exists()


def test_command_line_options_override_the_configuration():
    config = approx.resolve_config(
        preset="full", overrides={"dim": 2, "budgets": [500], "budget_kind": "active"}
    )
    assert (config["dim"], config["budgets"], config["budget_kind"]) == (2, [500], "active")
    assert config["steps"] == approx.FULL["steps"]
    with pytest.raises(ConfigError, match="'budgets'"):
        approx.resolve_config(overrides={"budgets": [100, 100]})


@pytest.mark.parametrize("name", ["quick", "full"])
def test_config_files_equal_the_built_in_presets(name):
    data = load_config(ROOT / "experiments" / "configs" / f"approx-{name}.toml")
    preset = approx.PRESETS[name]
    assert validate(data, approx.FIELDS, name) == validate(preset, approx.FIELDS, name)
    assert approx.resolve_config(preset="quick") == approx.resolve_config()


# ---------------------------------------------------------------------------- predicted slopes


@pytest.mark.parametrize(("alpha", "dim"), [("1/2", 1), (1, 1), (1, 2), ("1/3", 3)])
def test_predicted_slopes_follow_from_the_laws_by_sympy(alpha, dim):
    """log ε = c − (α/d)·log(E·P^q); at a fixed total budget P = N/E, at a fixed active budget
    P = A; the slope is the derivative of log ε in log E (E = e^t), and along the budget at a
    fixed E the derivative in log N."""
    t, n_log, a_sym, d_sym = sp.symbols("t n a d", real=True)
    E, N = sp.exp(t), sp.exp(n_log)
    a = Fraction(alpha)
    values = {a_sym: sp.Rational(a.numerator, a.denominator), d_sym: dim}
    total = approx.predicted_slopes(alpha, dim, "total")
    active = approx.predicted_slopes(alpha, dim, "active")
    along = approx.budget_slopes(alpha, dim)
    for law, q in approx.LAWS.items():

        def log_eps(p, q=q):
            return sp.expand_log(-(a_sym / d_sym) * sp.log(E * p**q), force=True)

        slope_total = sp.simplify(sp.diff(log_eps(N / E), t).subs(values))
        slope_active = sp.simplify(sp.diff(log_eps(N), t).subs(values))
        slope_budget = sp.simplify(sp.diff(log_eps(N / E), n_log).subs(values))
        assert slope_total == sp.Rational(total[law].numerator, total[law].denominator)
        assert slope_active == sp.Rational(active[law].numerator, active[law].denominator)
        assert slope_budget == sp.Rational(along[law].numerator, along[law].denominator)
    assert total["shallow"] == 0 and total["deep"] == a / dim  # the docstring's statement


def test_realised_slope_includes_the_router_and_rounding():
    kept, _ = budget_grid(4000, "total", 1, [1, 2, 4, 8, 16, 32], [2], "grid")
    rows = [{"experts": m.experts, "parameters": m.counts} for m in kept]
    shallow = approx.realised_slope(rows, "1/2", 1, 1)
    deep = approx.realised_slope(rows, "1/2", 1, 2)
    assert abs(shallow) < 0.05 and abs(deep - 0.5) < 0.05


@pytest.mark.parametrize(
    ("router", "described", "construction"),
    [
        ("prototype", "kmeans-prototype", "prototype"),
        ("learned", "learned-top1 (trained soft, evaluated hard)", "grid"),
    ],
)
def test_other_routers_are_stated_in_every_result(tmp_path, router, described, construction):
    config = _config(router=router, budgets=[200], cells=[1, 2])
    summary = approx.run_experiment(config, tmp_path / "run")
    lines = _lines(tmp_path / "run")
    assert lines and {line["router"] for line in lines} == {described}
    assert summary["construction_router"] == construction
    for line in lines:
        arch = architecture(1, line["experts"], line["depth"], line["width"], router)
        assert line["parameters"]["total"] == arch.counts().total


@pytest.mark.slow
def test_a_dask_local_cluster_gives_the_in_process_summary(tiny_run, tmp_path):
    _, reference = tiny_run
    summary = approx.run_experiment(_config(scheduler="local"), tmp_path / "run")
    assert summary["scheduler"] == "local"
    strip = ("seconds", "resumed", "scheduler")
    assert {k: v for k, v in summary.items() if k not in strip} == {
        k: v for k, v in reference.items() if k not in strip
    }
