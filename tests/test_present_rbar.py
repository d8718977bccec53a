"""The human-readable ``moetheory rbar``: a summary of the certificates, never the raw record;
the commands it prints fetch the full record and re-check it; --json is the record itself."""

from __future__ import annotations

import json
import shlex

import pytest
from helpers import run_cli

from moetheory.present.rbar import rbar_markdown
from moetheory.rbar import solve_rbar


def summary(capsys, *argv: str) -> str:
    code, out, err = run_cli(capsys, "rbar", *argv)
    assert code == 0 and not err
    assert "{" not in out and '"' not in out  # no JSON in the summary
    return out


def test_summary_states_value_system_witness_and_proof(capsys):
    out = summary(capsys, "--system", "r1", "--m", "2")
    lines = out.splitlines()
    assert lines[0] == "## r̄ r1(M = 2) = 4" and len(lines) < 40
    assert "the bounds r̄ ≥ 4 and r̄ ≤ 4 meet (3 witnesses and 1 proof" in out
    assert "Σ_i s3_i²·exp(s1_i·t + s2_i·t²)" in out and "some s1_i ≠ 0" in out
    assert (
        "- orders 1–3 (the same point), construction gauss-hermite: exact rationals: "
        "s1 = (-1, 1), s2 = (-1/2, -1/2), s3 = (1, 1)"
    ) in out
    assert "### Upper bound: r̄ ≤ 4, proof at order 4 (template r1-line)" in out
    assert "(μ2μ4 − μ3²) + 3/4·p1²·μ2² = c3·R3 + c4·R4" in out


def test_printed_commands_fetch_and_recheck_the_full_record(capsys, tmp_path, monkeypatch):
    out = summary(capsys, "--system", "r2", "--m", "1", "--nontrivial", "t3")
    commands = [line.strip() for line in out.splitlines() if line.startswith("    moetheory")]
    assert len(commands) == 2
    get, check = (shlex.split(c) for c in commands)
    assert get[-2] == ">" and get[-3] == "--json" and "--nontrivial" in get
    monkeypatch.chdir(tmp_path)
    code, record, _ = run_cli(capsys, *get[1:-2])
    assert code == 0
    (tmp_path / get[-1]).write_text(record)
    code, verified, _ = run_cli(capsys, *check[1:])
    assert code == 0 and verified.startswith("PASS")
    assert json.loads(record)["value"] == 1


def test_json_is_the_record_unchanged(capsys):
    code, out, _ = run_cli(capsys, "rbar", "--system", "r1", "--m", "2", "--json")
    record = json.loads(out)
    expected = solve_rbar("r1", 2).to_json()
    assert code == 0 and record.keys() == expected.keys()
    assert {k: v for k, v in record.items() if k != "seconds"} == {
        k: v for k, v in expected.items() if k != "seconds"
    }


def test_bound_only_root_orbit_witness_and_notes(capsys):
    out = summary(capsys, "--system", "r1", "--m", "4")
    assert out.startswith("## r̄ r1(M = 4) not determined: r̄ ≥ 8\n")
    assert "7 witnesses and 0 proofs" in out and "### Upper bound: not proved" in out
    assert (
        "component i at the i-th of the 4 real roots x_i of P(x) = x**4 - 6*x**2 + 3 "
        "(exact root isolation): s1_i = x_i, s2_i = -1/2, "
        "s3_i² = 1/(x_i**6 - 6*x_i**4 + 9*x_i**2)"
    ) in out
    assert "Note: order 8: no proof" in out


def test_r2_reduction_and_single_point_proofs(capsys):
    out = summary(capsys, "--system", "r2", "--m", "1")
    assert "order 1, construction order-1 equations omit t4: exact rationals: t1 = (0)" in out
    assert "the r1 proof at order 1 (template r1-single) forces every t3_i = 0:" in out
    assert "  - M = 1: the order-1 equation s3_1²·s1_1 = 0" in out
    assert "equation l1=0,l2=2 at t3 = 0 reads Σ_i t5_i²·t4_i = 0" in out


@pytest.fixture(scope="module")
def r1_three() -> dict:
    return solve_rbar("r1", 3).to_json()


def test_parabola_proof_is_summarised_in_a_few_lines(r1_three):
    text = rbar_markdown(r1_three)
    assert text.startswith("## r̄ r1(M = 3) = 6\n") and len(text.splitlines()) < 40
    assert "exact rationals: s1 = (-1, 0, 1), s2 = (-1/6, -1/6, -1/6), s3 = (1, 2, 1)" in text
    assert (
        "three points on a parabola u = p0 + p1·a + p2·a²: the moments solved through 6 "
        "pivots in p2"
    ) in text
    assert "at the 8 real roots of the pivots (6 by their row, 2 by the region argument)" in text
    assert "two points sharing a: Ê3 = g·f with f = 2*Omega**2 - 2*Omega - 3*v" in text


def test_numerical_evidence_is_not_a_certificate():
    record = solve_rbar("r1", 1).to_json() | {
        "evidence": {"2": {"seed": 0, "restarts": 1, "best_residual": 1.5e-6, "best_point": None}}
    }
    assert (
        "Numerical evidence at order 2 (floats, not a certificate): best relative residual "
        "1.5e-06 after 1 restart (seed 0)."
    ) in rbar_markdown(record)
