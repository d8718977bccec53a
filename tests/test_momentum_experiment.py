"""The momentum experiment (issue 18 item 3): configuration errors before work, the contract of
results.jsonl and summary.json, resume, and μ = 0 MomentumSMoE training exactly like SMoE."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from moetheory.experiments import momentum
from moetheory.experiments.config import ConfigError

TINY = {
    "dim": 4,
    "experts": 3,
    "top_k": 2,
    "layers": 2,
    "teacher_depth": 2,
    "tokens": 4,
    "train_sequences": 8,
    "test_sequences": 8,
    "noise_sigmas": [0.1, 0.5],
    "steps": 12,
    "seeds": 2,
    "device": "cpu",
}
"""Eight units of 12 steps: well under a second of training."""

LINE_KEYS = ("variant", "replicate", "seed", "unit", "diverged", "final_train_loss",
             "final_balance_loss", "oscillation", "total_variation", "clean_error",
             "shift_error", "noisy", "curve", "curve_every")  # fmt: skip
SUMMARY_KEYS = ("experiment", "task", "measures", "noise_sigmas", "variants", "comparisons",
                "text", "device", "seconds")  # fmt: skip
VARIANT_KEYS = ("label", "replicates", "diverged", "seeds", "measures", "mean_curve")


def _config(**extra) -> dict:
    return momentum.resolve_config(overrides={**TINY, **extra})


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("seconds", "resumed")}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("momentum") / "run"
    return out, momentum.run_experiment(_config(), out)


# ------------------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"mu": 1.5}, "mu"),
        ({"steps": "many"}, "steps"),
        ({"variants": ["smoe", "nesterov"]}, "variants"),
        ({"noise_sigmas": [0.1, -1.0]}, "noise_sigmas"),
        ({"top_k": 5, "experts": 4}, "top_k"),
        ({"device": "tpu"}, "device"),
        ({"scheduler": "nowhere"}, "scheduler"),
        ({"no_such_field": 1}, "no_such_field"),
    ],
)
def test_bad_field_is_named_before_work(tmp_path, overrides, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        momentum.resolve_config(overrides=overrides)
    assert not any(tmp_path.iterdir())


def test_presets_validate():
    assert momentum.resolve_config()["steps"] == momentum.DEFAULT["steps"]
    assert momentum.resolve_config(preset="quick")["seeds"] == momentum.QUICK["seeds"]
    assert momentum.resolve_config(preset="full")["experts"] == 16
    with pytest.raises(ConfigError, match="preset"):
        momentum.resolve_config(preset="huge")


def test_oscillation_measure():
    assert momentum.oscillation([2.0] * 10) == (0.0, 0.0)
    geometric = [math.exp(-0.1 * t) for t in range(20)]
    second, first = momentum.oscillation(geometric)
    assert second == pytest.approx(0.0, abs=1e-12)
    assert first == pytest.approx(0.1)
    assert momentum.oscillation([1.0, math.nan, 1.0, 1.0]) == (None, None)


def test_t_interval():
    r = momentum.t_interval([1.0, 2.0, 3.0])
    assert r["mean"] == 2.0 and r["n"] == 3
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t_{0.975, 2}, s = 1
    assert r["ci"] == pytest.approx([2 - half, 2 + half])
    assert momentum.t_interval([5.0])["ci"] == [None, None]


# ------------------------------------------------------------------------------ runs


def test_tiny_run_contract(tiny_run):
    out, summary = tiny_run
    lines = _lines(out)
    config = _config()
    assert len(lines) == len(momentum.VARIANTS) * config["seeds"]
    assert len({line["unit"] for line in lines}) == len(lines)
    for line in lines:
        for key in LINE_KEYS:
            assert key in line, key
        assert line["seed"] == momentum.training_seed(config["seed"], line["replicate"])
        assert [n["sigma"] for n in line["noisy"]] == config["noise_sigmas"]
        assert len(line["curve"]) == config["steps"]
    for key in SUMMARY_KEYS:
        assert key in summary, key
    assert list(summary["variants"]) == list(momentum.VARIANTS)
    for v in summary["variants"].values():
        for key in VARIANT_KEYS:
            assert key in v, key
        assert v["replicates"] == config["seeds"]
        assert set(v["measures"]) == set(momentum.metric_names(config["noise_sigmas"]))
        for m in v["measures"].values():
            assert set(m) == {"mean", "sd", "ci", "n"}  # stats.t_interval
    assert set(summary["comparisons"]) == {"momentum", "adam", "robust"}
    for entry in summary["comparisons"].values():
        for c in entry.values():
            assert c["verdict"] in ("lower", "higher", "not resolved")
    assert json.loads((out / "summary.json").read_text())["experiment"] == momentum.EXPERIMENT
    assert (out / "summary.md").read_text().startswith("# Momentum experiment")
    assert (out / "momentum.png").stat().st_size > 0 and (out / "momentum.pdf").exists()


def test_resume_after_losing_lines_is_identical(tiny_run, tmp_path):
    out, summary = tiny_run
    copy = tmp_path / "run"
    copy.mkdir()
    for path in out.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    text = (copy / "results.jsonl").read_text().splitlines()
    (copy / "results.jsonl").write_text(
        "\n".join(text[:-3]) + "\n" + text[-3][:10]
    )  # + a torn line
    again = momentum.run_experiment(_config(), copy, resume=True)
    strip = [{k: v for k, v in line.items() if k != "seconds"} for line in _lines(copy)]
    assert strip == [{k: v for k, v in line.items() if k != "seconds"} for line in _lines(out)]
    assert _stable(again) == _stable(summary)
    assert again["resumed"] == 1


def test_resume_with_other_config_is_refused(tiny_run):
    out, _ = tiny_run
    with pytest.raises(ConfigError, match="steps"):
        momentum.run_experiment(_config(steps=13), out, resume=True)


def test_mu_zero_momentum_trains_like_smoe(tmp_path):
    config = _config(mu=0.0, variants=["smoe", "momentum"], seeds=1, steps=15)
    momentum.run_experiment(config, tmp_path / "run")
    lines = {line["variant"]: line for line in _lines(tmp_path / "run")}
    smoe, mom = lines["smoe"], lines["momentum"]
    assert smoe["seed"] == mom["seed"]
    assert smoe["curve"] == mom["curve"]
    for key in ("clean_error", "shift_error", "noisy", "oscillation"):
        assert smoe[key] == mom[key], key


def test_default_momentum_differs_from_smoe(tiny_run):
    out, _ = tiny_run
    lines = {(line["variant"], line["replicate"]): line for line in _lines(out)}
    assert lines[("smoe", 0)]["curve"] != lines[("momentum", 0)]["curve"]
