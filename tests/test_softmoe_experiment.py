"""The Soft MoE experiment (issue 18 item 3): configuration errors before work, the contract of
results.jsonl and summary.json, resume equal to an uninterrupted run, the parameter count
across n, and Algorithm 1 at f = 1 equal to the full model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from moetheory.experiments import softmoe
from moetheory.experiments.config import ConfigError
from moetheory.experiments.sweep import Unit

TINY = {
    "dim": 3,
    "tokens": 3,
    "experts": [1, 2, 4],
    "hidden_total": 64,
    "seeds": 2,
    "steps": 15,
    "batch_size": 32,
    "train_points": 64,
    "test_points": 64,
    "random_draws": 2,
    "device": "cpu",
}
"""A configuration that trains 6 small models in about a second."""

PARAMETER_TOLERANCE = 0.10
"""The stated tolerance on the parameter count across n: max/min − 1 ≤ 10 % (the count grows by
2d per expert, router column and expert output bias, beside the constant n·h part)."""

LINE_KEYS = ("unit", "seed", "experts", "width", "replicate", "parameters", "test_error",
             "train_error", "mass_entropy", "argmax_varies", "argmax_distinct")  # fmt: skip
SUMMARY_KEYS = ("experiment", "points", "parameters", "single_vs_many", "algorithm1", "text",
                "interval", "device", "seconds")  # fmt: skip


def _config(**extra) -> dict:
    return softmoe.resolve_config(overrides={**TINY, **extra})


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _stable(line: dict) -> dict:
    return {k: v for k, v in line.items() if k != "seconds"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("softmoe") / "run"
    return out, softmoe.run_experiment(_config(), out)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"experts": [1, 0]}, "experts"),
        ({"fractions": [0.5, 1.5]}, "fractions"),
        ({"steps": "many"}, "steps"),
        ({"device": "tpu"}, "device"),
        ({"hidden_total": 8, "experts": [1, 16]}, "hidden_total"),
        ({"scale_low": 3.0, "scale_high": 2.0}, "scale_low"),
    ],
)
def test_bad_field_is_a_config_error_naming_it_before_work(tmp_path, overrides, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        softmoe.run_experiment(softmoe.resolve_config(overrides={**TINY, **overrides}), tmp_path)
    assert not any(tmp_path.iterdir())  # nothing written: the error came before any work


def test_unknown_field_is_a_config_error():
    with pytest.raises(ConfigError, match="colour"):
        softmoe.resolve_config(overrides={"colour": 1})


def test_presets_validate():
    for name in ("quick", "default", "full"):
        assert softmoe.resolve_config(preset=name)["threads"] in (0, 1)


def test_tiny_run_writes_one_line_per_unit_and_the_summary(tiny_run):
    out, summary = tiny_run
    lines = _lines(out)
    config = _config()
    assert len(lines) == len(config["experts"]) * config["seeds"]
    assert sorted(line["unit"] for line in lines) == sorted(
        f"n={n}/replicate={r}" for n in config["experts"] for r in range(config["seeds"])
    )
    for line in lines:
        for key in LINE_KEYS:
            assert key in line, key
        assert ("algorithm1" in line) == (line["experts"] == max(config["experts"]))
    for key in SUMMARY_KEYS:
        assert key in summary, key
    assert json.loads((out / "summary.json").read_text())["points"] == summary["points"]
    assert [p["experts"] for p in summary["points"]] == sorted(config["experts"])
    for p in summary["points"]:
        lo, hi = p["test_error"]["ci"]
        assert lo <= p["test_error"]["mean"] <= hi
    assert summary["single_vs_many"]["many"] == max(config["experts"])
    assert [r["fraction"] for r in summary["algorithm1"]] == config["fractions"]
    assert (out / "summary.md").read_text().startswith("# Soft MoE")
    assert (out / "softmoe.png").stat().st_size > 0
    assert (out / "softmoe.pdf").stat().st_size > 0


def test_resume_after_losing_lines_gives_identical_results(tiny_run, tmp_path):
    out, _ = tiny_run
    full = _lines(out)
    copy = tmp_path / "run"
    copy.mkdir()
    for f in out.iterdir():
        if f.name not in ("summary.json", "results.jsonl") and f.is_file():
            (copy / f.name).write_bytes(f.read_bytes())
    kept = (out / "results.jsonl").read_text().splitlines()[:-3]
    (copy / "results.jsonl").write_text("\n".join(kept) + "\n")
    summary = softmoe.run_experiment(_config(), copy, resume=True)
    again = _lines(copy)
    assert [_stable(x) for x in again] == [_stable(x) for x in full]
    assert summary["resumed"] >= 1


def test_parameter_count_is_fixed_across_n_within_tolerance(tiny_run):
    _, summary = tiny_run
    counts = summary["parameters"]["counts"]
    assert max(counts) / min(counts) - 1 <= PARAMETER_TOLERANCE
    for preset in ("quick", "default", "full"):
        config = softmoe.resolve_config(preset=preset)
        numel = []
        for n in config["experts"]:
            model = softmoe.build_model(config["dim"], n, softmoe.expert_width(config, n))
            count = softmoe.parameter_count(model)
            h, d = softmoe.expert_width(config, n), config["dim"]
            assert count == n * (2 * d * h + h + d) + n * d + 1 + d + 1  # the counted layout
            numel.append(count)
        assert max(numel) / min(numel) - 1 <= PARAMETER_TOLERANCE, preset


def test_algorithm1_at_f_1_equals_the_full_model(tiny_run):
    out, _ = tiny_run
    for line in _lines(out):
        for row in line.get("algorithm1", []):
            if row["fraction"] == 1.0:
                assert row["kept"] == line["experts"]
                assert row["keep_error"] == row["full_error"] == line["test_error"]
                assert row["random_errors"] == [line["test_error"]] * len(row["random_errors"])


def test_unit_is_pure() -> None:
    config = _config(experts=[2], seeds=1, steps=5)
    unit: Unit = softmoe.units(config, "cpu")[0]
    torch.manual_seed(123)
    a = softmoe.train_unit(unit)
    torch.manual_seed(456)
    b = softmoe.train_unit(unit)
    assert a == b
