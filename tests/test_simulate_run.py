"""moetheory simulate: configurations refused before work, named configurations, the run
directory contract, resume after SIGKILL, the atlas sweep."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import run_cli

from moetheory.experiments.config import ConfigError
from moetheory.experiments.simulate.named import CONFIG_DIR, load_named, named_configs
from moetheory.experiments.simulate.run import PROFILES, prepare

REPO = Path(__file__).resolve().parents[1]

NAMES = {
    "cosine",
    "perturbed-cosine",
    "softmax-linear",
    "softmax-tanh",
    "temperature-linear",
    "activation-temperature",
    "gaussian-linear-k2",
    "gaussian-linear-k3",
    "gaussian-linear-k4",
}

#: a small Gaussian MoE whose EM runs its whole iteration budget (tol 0): slow enough per chunk
#: to be killed mid-run, fast enough for the default tests.
SMALL = {
    "name": "small",
    "gate": "softmax",
    "expert": "gaussian-linear",
    "dim": 1,
    "k": 2,
    "atoms": [
        {"beta1": 4.0, "beta0": 0.5, "a1": 2.0, "b": 1.0, "nu": 0.05},
        {"beta1": 0.0, "beta0": 0.0, "a1": -2.0, "b": 0.0, "nu": 0.05},
    ],
    "input": {"law": "uniform", "low": [-1.0], "high": [1.0]},
    "sizes": [100, 140, 200, 280, 400],
    "replicates": 3,
    "fit": {"starts": 2, "init_scale": 0.1, "max_iter": 60, "tol": 0.0},
    "chunk_elements": 1,  # every fit its own chunk
}


def _write(tmp_path: Path, data: dict, name: str = "cfg.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_named_configurations_listed_and_valid_in_every_profile(capsys):
    assert NAMES <= set(named_configs())
    for name in named_configs():
        for profile in PROFILES:
            sim, options = prepare(load_named(name), profile, where=name)
            assert options["name"] == name
            assert sim.replicates >= 4 and len(sim.sizes) >= 5
    code, out, err = run_cli(capsys, "simulate", "--list")
    assert code == 0 and not err
    assert {line.split(":")[0] for line in out.splitlines()} == set(named_configs())


def test_full_profiles_are_the_authors_grids():
    k3 = prepare(load_named("gaussian-linear-k3"), "full")[0]
    assert len(k3.sizes) == 200 and k3.sizes[0] == 10000 and k3.sizes[-1] == 100000
    assert k3.replicates == 40 and k3.fit["starts"] == 5 and k3.fit["max_iter"] == 2000
    k2 = prepare(load_named("gaussian-linear-k2"), "full")[0]
    assert len(k2.sizes) == 200 and sum(n < 1000 for n in k2.sizes) == 5


def test_configs_are_also_under_experiments_configs():
    shown = REPO / "experiments" / "configs" / "simulate"
    assert shown.resolve() == CONFIG_DIR.resolve()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"atoms": [{**SMALL["atoms"][0], "nu": -1.0}, SMALL["atoms"][1]]}, "atoms[0].nu"),
        ({"k": 1}, "'k'"),
        ({"input": {"law": "uniform", "low": [-1.0, -1.0], "high": [1.0, 1.0]}}, "'low'"),
        ({"expert": "no-such-expert"}, "'expert'"),
        ({"gate": "no-such-gate"}, "'gate'"),
        ({"atoms": [[1.0, 2.0], SMALL["atoms"][1]]}, "atoms[0]"),
        ({"sizes": [100, 100]}, "sizes"),
        ({"replicates": 0}, "replicates"),
        ({"input": {"law": "uniform", "low": [-1e308], "high": [1.0]}}, "'low'"),
        ({"input": {"law": "gaussian", "mean": [0.0], "sd": [float("inf")]}}, "'sd'"),
        ({"fit": {**SMALL["fit"], "tol": float("nan")}}, "'tol'"),
        ({"fit": {**SMALL["fit"], "tol": -1.0}}, "'tol'"),
        (
            {"gate": {"formula": "exp(b1*x1 + b0)", "params": ["b1", "b0"], "positive": "b1"}},
            "'gate.positive'",
        ),
    ],
)
def test_bad_configuration_exits_2_before_any_work(capsys, tmp_path, change, field):
    cfg = _write(tmp_path, {**SMALL, **change})
    out = tmp_path / "run"
    code, stdout, err = run_cli(capsys, "simulate", str(cfg), "--out", str(out))
    assert code == 2, (stdout, err)
    assert len(err.strip().splitlines()) == 1 and field in err, err
    assert not out.exists()


def test_prepare_names_the_field():
    with pytest.raises(ConfigError, match="dim"):
        prepare({**SMALL, "gate": "cosine"})  # cosine needs d >= 2
    with pytest.raises(ConfigError, match="chunk_elements"):
        prepare({**SMALL, "chunk_elements": 0})


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "moetheory_cli", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def _lines(path: Path) -> dict[str, dict]:
    out = {}
    for line in (path / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        assert r["unit"] not in out, f"unit {r['unit']} recorded twice"
        r.pop("seconds")
        out[r["unit"]] = r
    return out


_TIMING = {"seconds", "wall_seconds", "resumed"}


def test_run_contract_and_resume_after_sigkill(tmp_path):
    from moetheory.experiments.simulate.run import run_simulation

    cfg = _write(tmp_path, SMALL)
    whole = tmp_path / "whole"
    summary = run_simulation(*prepare(SMALL), whole, device="cpu")
    assert json.loads((whole / "summary.json").read_text()) == json.loads(json.dumps(summary))
    for key in ("slope", "ci", "predicted", "verdict", "fits", "seconds", "device"):
        assert key in summary
    assert summary["fits"] == 15 and summary["device"] == "cpu"
    assert summary["predicted"] == -0.5 and len(summary["ci"]) == 2
    lines = _lines(whole)
    assert len(lines) == 15
    for r in lines.values():
        assert {"n", "replicate", "seed", "loss", "converged"} <= set(r)
        assert math.isfinite(r["loss"]) and r["loss"] >= 0
    for name in ("summary.md", "simulation.png", "simulation.pdf"):
        assert (whole / name).stat().st_size > 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moetheory_cli", "simulate", str(cfg), "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = killed / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and results.read_text().count("\n") >= 3:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    recorded = results.read_text().count("\n")
    assert 0 < recorded < 15, f"the kill landed after {recorded} fits"
    assert not (killed / "summary.json").exists()
    again = _run(str(cfg), "--out", str(killed), "--resume", "--device", "cpu")
    assert again.returncode == 0, again.stderr
    assert _lines(killed) == lines
    resumed = json.loads((killed / "summary.json").read_text())
    assert resumed["resumed"] == 1
    strip = {k: v for k, v in summary.items() if k not in _TIMING}
    assert {k: v for k, v in resumed.items() if k not in _TIMING} == strip


def test_atlas_sweep_records_refusals_and_resumes(tmp_path):
    from moetheory.experiments.simulate.atlas import run_atlas

    tiny = {"sizes": [60, 90], "replicates": 2, "fit": {"starts": 1, "max_iter": 20}}
    out = tmp_path / "atlas"
    table = run_atlas(
        out,
        gates=["softmax", "hierarchical-SS"],
        experts=["linear"],
        dim=1,
        profile="quick",
        overrides=tiny,
    )
    assert "softmax" in table and "hierarchical-SS × linear" in table  # refused, with reason
    summary = json.loads((out / "summary.json").read_text())
    assert [p["gate"] for p in summary["pairs"]] == ["softmax"]
    assert "two-level" in summary["refused"][0]["refused"]
    assert summary["pairs"][0]["verdict"] == "inconclusive"  # two sizes: no slope verdict
    again = run_atlas(
        out,
        gates=["softmax", "hierarchical-SS"],
        experts=["linear"],
        dim=1,
        profile="quick",
        overrides=tiny,
        resume=True,
    )
    assert again == table


@pytest.mark.slow
def test_atlas_sweep_on_a_local_cluster(tmp_path):
    from moetheory.experiments.simulate.atlas import run_atlas

    tiny = {"sizes": [60, 90], "replicates": 2, "fit": {"starts": 1, "max_iter": 20}}
    kwargs = {"experts": ["linear"], "dim": 1, "profile": "quick", "overrides": tiny}
    run_atlas(tmp_path / "here", gates=["softmax", "sigmoid"], **kwargs)
    run_atlas(tmp_path / "dask", gates=["softmax", "sigmoid"], scheduler="local", **kwargs)

    def pairs(path):  # every pair's summary but its timing
        data = json.loads((path / "summary.json").read_text())
        return [{k: v for k, v in p.items() if k != "seconds"} for p in data["pairs"]]

    assert pairs(tmp_path / "here") == pairs(tmp_path / "dask")


def test_atlas_shows_measured_slopes_of_recorded_runs(capsys, tmp_path):
    from moetheory.experiments.simulate.atlas import run_atlas

    tiny = {"sizes": [60, 90], "replicates": 2, "fit": {"starts": 1, "max_iter": 20}}
    run_atlas(tmp_path / "sweep", gates=["softmax"], experts=["linear"], dim=1, overrides=tiny)
    code, out, err = run_cli(
        capsys,
        "atlas",
        "--gates",
        "softmax",
        "--experts",
        "linear,scaled-tanh",
        "--dim",
        "1",
        "--workers",
        "1",
        "--measured",
        str(tmp_path / "sweep"),
    )
    assert code == 0, err
    rows = {
        line.split("|")[1].strip() + "×" + line.split("|")[2].strip(): line
        for line in out.splitlines()
        if line.startswith("| softmax")
    }
    assert "inconclusive" in rows["softmax×linear"].split("|")[-2]
    assert rows["softmax×scaled-tanh"].split("|")[-2].strip() == "—"
    code, out, err = run_cli(capsys, "atlas", "--measured", str(tmp_path / "nothing"))
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_a_formula_pair_gets_the_prediction_its_computed_facts_support():
    from moetheory.experiments.simulate.run import prediction_for

    formula = {
        "gate": {"formula": "exp(b1*x1 + b0)", "params": ["b1", "b0"]},
        "expert": {"formula": "c*tanh(a*x1)", "params": ["c", "a"]},
        "dim": 1,
        "k": 3,
        "atoms": [[3.0, 0.5, 2.0, 1.5], [0.0, 0.0, -1.0, 2.0]],
        "noise": 0.1,
    }
    p = prediction_for(prepare(formula)[0])
    assert (p["theorem"], p["predicted"], p["loss"]) == ("softmax-strong", -0.5, "D1")
    linear = {**formula, "expert": {"formula": "a*x1 + c", "params": ["a", "c"]}}
    p = prediction_for(prepare(linear)[0])
    assert (p["theorem"], p["predicted_kind"]) == ("softmax-linear-ls", "logarithmic")


def test_start_noise_shrinks_with_n_as_configured():
    from moetheory.experiments.simulate.truth import simulation_data

    cfg = {**SMALL, "sizes": [100, 400], "replicates": 1}
    cfg["fit"] = {**SMALL["fit"], "starts": 200, "init_decay": 0.5}
    sim = prepare(cfg)[0]
    data = simulation_data(sim)
    spread = (data.starts[..., 2] - sim.truth.theta[:, 2]).std(dim=(1, 2))  # the a₁ column
    assert torch.allclose(spread[1] / spread[0], torch.tensor(0.5, dtype=spread.dtype), rtol=0.2)


def test_random_truths_are_valid_for_every_supported_router():
    from moetheory.experiments.simulate.named import random_config
    from moetheory.families.registry import ROUTERS

    refused = []
    for gate in ROUTERS:
        try:
            prepare(random_config(gate, "scaled-tanh", dim=2), "quick")
        except ConfigError as exc:
            refused.append((gate, str(exc)))
    assert [g for g, _ in refused] == ["hierarchical-SS", "hierarchical-SL", "hierarchical-LL"]
    assert all("two-level" in why for _, why in refused)
    assert random_config("topk-softmax", "linear", dim=1)["top_k"] == 2
