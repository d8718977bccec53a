"""CLI contract: JSON fields, verify exit codes, exit 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from moetheory.cli import main


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_identify_formula_json_contract(capsys):
    code, out, _ = run(
        [
            "identify",
            "--gate-formula",
            "exp(p1*x1 + p2*x2)",
            "--gate-params",
            "p1,p2",
            "--expert-formula",
            "q1*x1 + q2*x2 + q0",
            "--expert-params",
            "q1,q2,q0",
            "--inputs",
            "x1,x2",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert set(data["verdicts"]) >= {"strong", "strong_literal", "weak"}
    assert data["verdicts"]["strong"] == "no"
    assert {"certificate", "seed", "seconds", "relations"} <= set(data)
    rel = next(r for r in data["relations"] if r["class"] == "gate-expert")
    assert set(rel) >= {"expression", "class", "parameters", "verified"}
    assert rel["verified"] == "symbolic"


def test_identify_gaussian_formula(capsys):
    code, out, _ = run(
        [
            "identify",
            "--gate-formula",
            "exp(p1*x1)",
            "--gate-params",
            "p1",
            "--expert-formula",
            "q1*x1 + q0",
            "--expert-params",
            "q1,q0",
            "--inputs",
            "x1",
            "--gaussian-output",
            "y",
            "--variance-param",
            "v",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert any(r["class"] == "heat" for r in data["relations"])


def test_verify_roundtrip_and_tamper(tmp_path, capsys):
    code, out, _ = run(
        ["identify", "--gate", "softmax", "--expert", "scaled-tanh", "--json"], capsys
    )
    path = tmp_path / "v.json"
    path.write_text(out)
    assert run(["verify", str(path)], capsys)[0] == 0
    data = json.loads(out)
    data["certificate"]["k2"]["det"] = "[-3.0 +/- 1e-9]"
    path.write_text(json.dumps(data))
    code, out, _ = run(["verify", str(path)], capsys)
    assert code == 1 and "FAIL certificate k2" in out


@pytest.mark.parametrize(
    "argv,token",
    [
        (
            [
                "identify",
                "--gate-formula",
                "exp(p1*x1 + zz)",
                "--gate-params",
                "p1",
                "--expert-formula",
                "q1*x1",
                "--expert-params",
                "q1",
            ],
            "zz",
        ),
        (
            [
                "identify",
                "--gate-formula",
                "exp(p1*x)",
                "--gate-params",
                "p1",
                "--inputs",
                "x",
                "--expert",
                "linear",
            ],
            "--inputs",
        ),
        (
            [
                "identify",
                "--gate-formula",
                "eval(p1)",
                "--gate-params",
                "p1",
                "--expert-formula",
                "q1*x1",
                "--expert-params",
                "q1",
            ],
            "eval",
        ),
        (["identify", "--gate", "nosuchrouter", "--expert", "linear"], "nosuchrouter"),
        (["identify", "--gate", "softmax", "--expert", "linear", "--dim", "0"], "--dim"),
        (
            [
                "identify",
                "--gate-formula",
                "exp(p1*x1",
                "--gate-params",
                "p1",
                "--expert-formula",
                "q1*x1",
                "--expert-params",
                "q1",
            ],
            "syntax",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, token, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("moetheory: error:")
    assert token in err


def test_families_lists_builtins(capsys):
    code, out, _ = run(["families"], capsys)
    assert code == 0 and "perturbed-cosine" in out and "gaussian-linear" in out


def test_console_script_module_entry():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "moetheory.cli",
            "identify",
            "--gate",
            "softmax",
            "--expert",
            "nope",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "unknown expert" in proc.stderr


def test_atlas_json_contract(capsys):
    code, out, _ = run(
        [
            "atlas",
            "--format",
            "json",
            "--gates",
            "softmax,sigmoid",
            "--experts",
            "scaled-tanh",
            "--workers",
            "1",
        ],
        capsys,
    )
    assert code == 0
    rows = json.loads(out)
    assert [(r["gate"], r["expert"]) for r in rows] == [
        ("softmax", "scaled-tanh"),
        ("sigmoid", "scaled-tanh"),
    ]
    for r in rows:
        assert {"gate", "expert", "verdicts", "rates", "source", "agrees_with_paper"} <= set(r)
    assert rows[0]["rates"]["over"][0]["rate"] == "n^{-1/4}"
    assert rows[0]["agrees_with_paper"] is True
    assert rows[1]["source"] == "no theorem covers this pair"
    assert rows[1]["agrees_with_paper"] is None and rows[1]["suggestion"]


def test_atlas_writes_file(tmp_path, capsys):
    code, out, _ = run(
        [
            "atlas",
            "--format",
            "latex",
            "--gates",
            "softmax",
            "--experts",
            "linear",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0 and (tmp_path / "atlas.tex").read_text().count(r"\toprule") == 1


def test_identify_with_rates(capsys):
    code, out, _ = run(
        ["identify", "--gate", "softmax", "--expert", "gaussian-linear", "--rates", "--json"],
        capsys,
    )
    assert code == 0
    p = json.loads(out)["prediction"]
    assert p["theorem"] == "softmax-gaussian-linear"
    assert [r["rate"] for r in p["rates"]["over"]] == ["n^{-1/8}", "n^{-1/4}"]  # r̄(2) = 4
    code, out, _ = run(
        [
            "identify",
            "--gate-formula",
            "exp(p1*x1 + p0)",
            "--gate-params",
            "p1,p0",
            "--expert-formula",
            "q1*x1 + q0",
            "--expert-params",
            "q1,q0",
            "--inputs",
            "x1",
            "--gaussian-output",
            "y",
            "--variance-param",
            "v",
            "--normalisation",
            "softmax",
            "--rates",
        ],
        capsys,
    )
    assert code == 0 and "softmax-gaussian-linear" in out


def test_report_subset(tmp_path, capsys):
    code, out, _ = run(
        [
            "report",
            "--out",
            str(tmp_path),
            "--gates",
            "softmax",
            "--experts",
            "linear,scaled-tanh",
            "--workers",
            "1",
        ],
        capsys,
    )
    assert code == 0 and str(tmp_path) in out
    for name in (
        "atlas.md",
        "atlas.tex",
        "atlas.csv",
        "atlas.json",
        "identifiability.json",
        "summary.md",
        "constructions.md",
        "constructions.json",
        "tradeoff_measured.md",
    ):
        assert (tmp_path / name).stat().st_size > 0
    built = [
        r
        for r in json.loads((tmp_path / "constructions.json").read_text())
        if "max_error_found" in r
    ]
    assert built and all(r["max_error_found"] <= float(r["eps"]) + 1e-12 for r in built)
    assert "seed 0" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["atlas", "--gates", "nosuch"],
        ["atlas", "--workers", "0", "--gates", "softmax", "--experts", "linear"],
        ["atlas", "--format", "html"],
        ["rbar", "--system", "r3", "--m", "2"],
        ["atlas", "--gates", ",", "--experts", "linear"],
        ["atlas", "--gates", "softmax", "--experts", "linear", "--out", "/proc/forbidden/x"],
        ["report", "--gates", "softmax", "--experts", "linear", "--out", "/proc/forbidden/x"],
        [
            "identify",
            "--gate",
            "softmax",
            "--expert",
            "linear",
            "--rates",
            "--normalisation",
            "sigmoid",
        ],
        [
            "identify",
            "--gate",
            "cosine",
            "--expert-formula",
            "a1*x1+a2*x2+b",
            "--expert-params",
            "a1,a2,b",
            "--normalisation",
            "softmax",
        ],
        ["rbar", "--system", "r1", "--m", "0"],
    ],
)
def test_rates_commands_bad_input_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main(argv)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_builtin_gate_with_formula_expert_matches_builtin_pair(capsys):
    """Mixing a built-in side with a formula side gives the built-in pair's relations."""
    from moetheory import identify

    code, out, _ = run(
        [
            "identify",
            "--gate",
            "softmax",
            "--expert-formula",
            "a1*x1 + a2*x2 + b",
            "--expert-params",
            "a1,a2,b",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    mixed = json.loads(out)
    builtin = identify("softmax", "linear").to_json()
    assert [r["expression"] for r in mixed["relations"]] == [
        r["expression"] for r in builtin["relations"]
    ]
    code, out, _ = run(
        [
            "identify",
            "--gate-formula",
            "exp(beta1*x1 + beta2*x2 + beta0)",
            "--gate-params",
            "beta1,beta2,beta0",
            "--expert",
            "gaussian-linear",
            "--rates",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    assert json.loads(out)["prediction"]["theorem"] is None  # normalisation not declared
    code, out, _ = run(
        [
            "identify",
            "--gate",
            "softmax",
            "--expert-formula",
            "q1*x + q0",
            "--expert-params",
            "q1,q0",
            "--inputs",
            "x",
        ],
        capsys,
    )
    assert code == 2


def test_rbar_json_contract(capsys):
    code, out, _ = run(["rbar", "--system", "r1", "--m", "2", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["value"] == 4 and {"certificate", "seconds"} <= set(data)
    code, out, _ = run(["rbar", "--system", "r2", "--m", "3", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["value"] == 6 and data["status"] == "exact"
    code, out, _ = run(["rbar", "--system", "r1", "--m", "4", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["value"] is None and data["status"] == "bound"
    assert data["lower_bound"] == 8
    code, out, _ = run(["rbar", "--system", "r1", "--m", "2"], capsys)
    assert code == 0 and "= 4" in out


def test_builtin_gate_keeps_its_score_class_with_a_formula_expert(capsys):
    code, out, _ = run(
        [
            "identify",
            "--gate",
            "cosine",
            "--expert-formula",
            "a1*x1+a2*x2+b",
            "--expert-params",
            "a1,a2,b",
            "--rates",
            "--json",
        ],
        capsys,
    )
    assert code == 0 and json.loads(out)["prediction"]["theorem"] == "cosine"


def test_radical_of_rational_expression_does_not_crash(capsys):
    code, out, _ = run(
        [
            "identify",
            "--gate-formula",
            "exp(p*x1+q)",
            "--gate-params",
            "p,q",
            "--expert-formula",
            "b*sqrt(x1**2/a+1)",
            "--expert-params",
            "a,b",
            "--inputs",
            "x1",
            "--json",
        ],
        capsys,
    )
    assert code == 0 and json.loads(out)["verdicts"]["strong"] in ("yes", "no", "unknown")
