"""The construct command: contract fields, the saved module, formula targets, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import run_cli as run

from moetheory.bounds.kuhn import kuhn_parameters
from moetheory.construct import load_module


def test_json_contract_and_saved_module(capsys, tmp_path):
    path = tmp_path / "moe.pt"
    code, out, _ = run(
        capsys,
        "construct",
        "--target",
        "abs-power",
        "--alpha",
        "1",
        "--holder-constant",
        "1",
        "--dim",
        "2",
        "--eps",
        "0.1",
        "--points",
        "4000",
        "--save",
        str(path),
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    for key in ("num_experts", "parameters", "max_error_found", "check_points", "eps"):
        assert key in data
    k, m = data["cells_per_axis"], data["sub_cells"]
    assert data["num_experts"] == k**2
    # grid router 2(K − 1) thresholds, ⌈log₂K⌉ read per axis; Kuhn experts of the bounds formula
    per = kuhn_parameters(2, m)[0]
    assert data["parameters"]["total"] == 2 * (k - 1) + k**2 * per
    assert data["parameters"]["active"] == 2 * (k - 1).bit_length() + per
    assert data["max_error_found"] <= data["eps"] == 0.1
    assert data["check_points"] >= 4000
    # the single network of the same guarantee: one Kuhn network with M = the full resolution
    base = data["baseline"]
    assert (
        base["sub_cells"] == k * m
        and base["total"] == base["active"] == kuhn_parameters(2, k * m)[0]
    )
    module = load_module(path)
    x = np.random.default_rng(7).random((500, 2))
    out = module(torch.from_numpy(x).float())
    assert out.shape in ((500,), (500, 1))
    err = np.abs(np.linalg.norm(x - 1 / 3, axis=1) - out.detach().numpy().reshape(-1))
    assert err.max() <= 0.1
    assert sum(p.numel() for p in module.parameters()) == data["parameters"]["total"]


def test_formula_target_markdown(capsys):
    code, out, _ = run(
        capsys,
        "construct",
        "--target-formula",
        "x1*x2",
        "--alpha",
        "1",
        "--holder-constant",
        "1.5",
        "--dim",
        "2",
        "--eps",
        "0.1",
        "--expert",
        "constant",
        "--router",
        "prototype",
        "--points",
        "2000",
    )
    assert code == 0
    assert "max error" in out and "not a proof" in out and "prototype" in out


def test_d1_reports_the_proof(capsys):
    code, out, _ = run(
        capsys,
        "construct",
        "--target",
        "sawtooth",
        "--alpha",
        "0.5",
        "--dim",
        "1",
        "--eps",
        "0.1",
        "--points",
        "5000",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["exact_sup_1d"]["complete"]
    assert data["exact_sup_1d"]["lower"] <= data["max_error_found"] <= data["exact_sup_1d"]["upper"]
    assert "proved" in data["exact_sup_1d"]["statement"]


def test_violated_declaration_exits_1(capsys):
    code, out, _ = run(
        capsys,
        "construct",
        "--target-formula",
        "sin(60*x1)",
        "--alpha",
        "1",
        "--holder-constant",
        "1",
        "--dim",
        "1",
        "--eps",
        "0.1",
        "--points",
        "2000",
        "--json",
    )
    data = json.loads(out)
    assert code == 1 and not data["within_eps"] and not data["holder_check"]["consistent"]


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--target", "abs-power", "--alpha", "0"], "alpha"),
        (["--target", "abs-power", "--alpha", "2"], "alpha"),
        (["--target", "abs-power", "--alpha", "1", "--eps", "0"], "eps"),
        (["--target", "abs-power", "--alpha", "1", "--eps", "-0.1"], "eps"),
        (["--target", "abs-power", "--alpha", "1", "--dim", "0"], "dim"),
        (["--target", "nope", "--alpha", "1"], "abs-power"),
        (["--target-formula", "x1 + y", "--alpha", "1", "--holder-constant", "1"], "y"),
        (["--target-formula", "log(x1 - 2)", "--alpha", "1", "--holder-constant", "1"], "nan"),
        (["--target-formula", "x1", "--alpha", "1"], "Hölder constant"),
        (["--target", "smooth", "--target-formula", "x1", "--alpha", "1"], "exactly one"),
        (["--alpha", "1"], "exactly one"),
        (["--target", "smooth", "--alpha", "1", "--points", "1.5"], "whole number"),
        (["--target", "smooth", "--alpha", "1", "--max-parameters", "5"], "limit"),
        (["--target", "sawtooth", "--alpha", "1"], "Takagi"),
        (["--target", "smooth", "--alpha", "1", "--holder-constant", "1"], "below"),
        (["--target", "smooth", "--alpha", "1", "--save", "/nonexistent/dir/m.pt"], "cannot write"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    base = {"--dim": "1", "--eps": "0.1", "--points": "1000"}
    for i in range(0, len(argv) - 1):
        if argv[i] in base:
            base.pop(argv[i])
    extra = [t for kv in base.items() for t in kv]
    code, out, err = run(capsys, "construct", *argv, *extra)
    assert code == 2, err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_refit_reports_fit_and_holdout(capsys):
    code, out, _ = run(
        capsys,
        "construct",
        "--target",
        "smooth",
        "--alpha",
        "1",
        "--dim",
        "1",
        "--eps",
        "0.1",
        "--points",
        "2000",
        "--refit",
        "--refit-points",
        "2000",
        "--json",
    )
    data = json.loads(out)  # nothing but JSON on stdout (no solver banner)
    refit = data["refit"]
    assert code == 0 and refit["status"].startswith("optimal")
    assert refit["refit_fit"] <= refit["construction_fit"] + 1e-9
    assert "not a sup" in refit["statement"]
