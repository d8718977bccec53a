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
    code, out, _ = run(["identify", "--gate-formula", "exp(p1*x1 + p2*x2)", "--gate-params",
                        "p1,p2", "--expert-formula", "q1*x1 + q2*x2 + q0", "--expert-params",
                        "q1,q2,q0", "--inputs", "x1,x2", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert set(data["verdicts"]) >= {"strong", "strong_literal", "weak"}
    assert data["verdicts"]["strong"] == "no"
    assert {"certificate", "seed", "seconds", "relations"} <= set(data)
    rel = next(r for r in data["relations"] if r["class"] == "gate-expert")
    assert set(rel) >= {"expression", "class", "parameters", "verified"}
    assert rel["verified"] == "symbolic"


def test_identify_gaussian_formula(capsys):
    code, out, _ = run(["identify", "--gate-formula", "exp(p1*x1)", "--gate-params", "p1",
                        "--expert-formula", "q1*x1 + q0", "--expert-params", "q1,q0",
                        "--inputs", "x1", "--gaussian-output", "y", "--variance-param", "v",
                        "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert any(r["class"] == "heat" for r in data["relations"])


def test_verify_roundtrip_and_tamper(tmp_path, capsys):
    code, out, _ = run(["identify", "--gate", "softmax", "--expert", "scaled-tanh", "--json"],
                       capsys)
    path = tmp_path / "v.json"
    path.write_text(out)
    assert run(["verify", str(path)], capsys)[0] == 0
    data = json.loads(out)
    data["certificate"]["k2"]["det"] = "[-3.0 +/- 1e-9]"
    path.write_text(json.dumps(data))
    code, out, _ = run(["verify", str(path)], capsys)
    assert code == 1 and "FAIL certificate k2" in out


@pytest.mark.parametrize("argv,token", [
    (["identify", "--gate-formula", "exp(p1*x1 + zz)", "--gate-params", "p1",
      "--expert-formula", "q1*x1", "--expert-params", "q1"], "zz"),
    (["identify", "--gate-formula", "exp(p1*x1)", "--gate-params", "p1",
      "--expert", "linear"], "both"),
    (["identify", "--gate-formula", "eval(p1)", "--gate-params", "p1",
      "--expert-formula", "q1*x1", "--expert-params", "q1"], "eval"),
    (["identify", "--gate", "nosuchrouter", "--expert", "linear"], "nosuchrouter"),
    (["identify", "--gate", "softmax", "--expert", "linear", "--dim", "0"], "--dim"),
    (["identify", "--gate-formula", "exp(p1*x1", "--gate-params", "p1",
      "--expert-formula", "q1*x1", "--expert-params", "q1"], "syntax"),
])
def test_bad_input_exits_2_with_one_line(argv, token, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("moetheory: error:")
    assert token in err


def test_families_lists_builtins(capsys):
    code, out, _ = run(["families"], capsys)
    assert code == 0 and "perturbed-cosine" in out and "gaussian-linear" in out


def test_console_script_module_entry():
    proc = subprocess.run([sys.executable, "-m", "moetheory.cli", "identify", "--gate",
                           "softmax", "--expert", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown expert" in proc.stderr
