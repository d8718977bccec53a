"""Exact and training-based shattering (issue 16 item 4) against exact mathematics.

Oracles: Radon / Cover (halfspaces in ℝ^d shatter d + 1 points in general position and no
d + 2; the number of realised labellings is C(m, d+1) = 2·Σ_{k≤d} binom(m−1, k), computed here
independently of the package), inclusions between the models (E = 2 routers are halfspaces; a
prototype router is a linear router), and every certificate re-checked by the verifier, which
rejects tampered ones.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from moetheory.certificates import verify_document
from moetheory.cli import main
from moetheory.experiments.config import ConfigError
from moetheory.experiments.shatter.bounds import calculator_bounds
from moetheory.experiments.shatter.certificate import certificate_json, verify_shatter_json
from moetheory.experiments.shatter.exact import TooLargeError, plan_exact, shatter_exact
from moetheory.experiments.shatter.points import (
    PointSetError,
    general_position,
    grid_points,
    load_points,
    moment_points,
    random_points,
)
from moetheory.experiments.shatter.vll import (
    halfspace_lp_learner,
    phi,
    threshold_erm_learner,
    vll_estimate,
)


def cover(m: int, params: int) -> int:
    """Cover's function-counting oracle, written out independently of the package."""
    return 2 * sum(math.comb(m - 1, k) for k in range(params))


def realised_set(result) -> set[int]:
    m = result.m
    out = set()
    for k, o in enumerate(result.outcomes):
        if o.status == "realised":
            out |= {k, (2**m - 1) ^ k}
    return out


# ---------------------------------------------------------------------------- acceptance facts


@pytest.mark.parametrize("d", [1, 2, 3])
def test_halfspaces_shatter_d_plus_1_points_and_no_d_plus_2(d):
    for seed in range(3):
        r = shatter_exact(random_points(d + 1, d, seed=seed), "halfspace")
        assert r.shattered is True and r.shattered_exact
        r = shatter_exact(random_points(d + 2, d, seed=seed), "halfspace")
        assert r.shattered is False and r.shattered_exact
        assert r.counts()["unrealised_exact"] > 0
    for pts in (moment_points(d + 2, d), grid_points(d + 2, d)):  # structured sets too
        assert shatter_exact(pts, "halfspace").shattered is False


@pytest.mark.parametrize("d,m", [(1, 5), (2, 4), (2, 6), (2, 8), (3, 5), (3, 7)])
def test_number_of_realised_labellings_is_covers_count(d, m):
    pts = random_points(m, d, seed=m + 10 * d)
    assert general_position(pts.points)
    r = shatter_exact(pts, "halfspace")
    c = r.counts()
    assert c["realised"] == cover(m, d + 1)
    assert c["realised"] + c["unrealised_exact"] == 2**m and c["undecided"] == 0
    assert verify_shatter_json(certificate_json(r))[0]
    # homogeneous sgn(wᵀx): Cover's C(m, d) for points in linear general position
    lin = shatter_exact(pts, "linear")
    assert general_position(pts.points, affine=False)
    assert lin.counts()["realised"] == cover(m, d)


def test_degenerate_points_realise_fewer_than_cover():
    """The 3×3 grid is not in general position: fewer labellings than C(9, 3)."""
    pts = grid_points(9, 2)
    assert general_position(pts.points) is False
    r = shatter_exact(pts, "halfspace")
    assert r.counts()["realised"] < cover(9, 3) and r.counts()["undecided"] == 0
    assert verify_shatter_json(certificate_json(r))[0]


@pytest.mark.slow  # the benchmark (benchmarks/shatter_lp.py) times m = 12 and checks Cover's count
def test_twelve_points_all_decided_exactly():
    r = shatter_exact(random_points(12, 2, seed=5), "halfspace")
    assert r.counts()["realised"] == cover(12, 3) and r.counts()["undecided"] == 0
    assert r.seconds < 60


# ---------------------------------------------------------------------------- routers


def test_two_expert_routers_are_halfspaces():
    pts = random_points(6, 2, seed=4)
    half = realised_set(shatter_exact(pts, "halfspace"))
    for kind in ("linear-router", "prototype-router"):
        r = shatter_exact(pts, kind, experts=2)
        assert realised_set(r) == half and r.counts()["undecided"] == 0
        assert verify_shatter_json(certificate_json(r))[0]


def test_router_edge_cases():
    pts = random_points(4, 2, seed=0)
    for kind in ("linear-router", "prototype-router"):
        one = shatter_exact(pts, kind, experts=1)  # a constant: the two constant labellings
        assert one.counts()["realised"] == 2 and one.shattered_exact
        many = shatter_exact(pts, kind, experts=4)  # every point its own cell
        assert many.shattered is True
        for r in (one, many):
            assert verify_shatter_json(certificate_json(r))[0]


def test_enumeration_milp_and_prototypes_agree_where_they_must():
    pts = random_points(7, 2, seed=2)
    enum = shatter_exact(pts, "linear-router", experts=3, method="enumeration")
    milp = shatter_exact(pts, "linear-router", experts=3, method="milp")
    proto = shatter_exact(pts, "prototype-router", experts=3)
    ce, cm = enum.counts(), milp.counts()
    assert ce["undecided"] == 0 and ce["unrealised_solver"] == 0
    # MILP "realised" claims are exact, so never more than the exact answer
    assert realised_set(milp) <= realised_set(enum)
    assert cm["unrealised_exact"] == 0  # MILP infeasibility is only a solver status
    # prototypes are a subclass of the linear router (Voronoi ⊂ power diagrams)
    assert realised_set(proto) <= realised_set(enum)
    for r in (enum, milp, proto):
        ok, lines = verify_shatter_json(certificate_json(r))
        assert ok, lines
    assert any("not exact" in line for line in verify_shatter_json(certificate_json(milp))[1]) == (
        cm["unrealised_solver"] > 0
    )


def test_prototype_router_shatters_its_lower_bound():
    """max(E, d + 1) points (approximation_vc.md §5) are shattered by E prototypes."""
    for experts, d in ((3, 1), (2, 2), (3, 2)):
        lower = calculator_bounds("prototype-router", d, experts)["vc_lower"]
        r = shatter_exact(random_points(lower, d, seed=1), "prototype-router", experts=experts)
        assert r.shattered is True


def test_calculator_bounds_bracket_the_exact_answers():
    for d in (1, 2, 3):
        b = calculator_bounds("halfspace", d)
        assert b["vc_lower"] == d + 1 <= b["vc_upper"]
    b = calculator_bounds("prototype-router", 2, 8)
    assert b["vc_upper"] == 266 and b["vc_lower"] == 8  # regression value, approximation_vc §5


# ---------------------------------------------------------------------------- certificates


@pytest.fixture(scope="module")
def halfspace_doc():
    return certificate_json(shatter_exact(random_points(5, 2, seed=3), "halfspace"))


@pytest.fixture(scope="module")
def router_doc():
    return certificate_json(shatter_exact(random_points(6, 2, seed=3), "linear-router", experts=3))


def _first(doc, prefix):
    return next(
        k for k, e in enumerate(doc["entries"]) if isinstance(e, str) and e.startswith(prefix)
    )


def test_certificates_recheck(halfspace_doc, router_doc):
    for doc in (halfspace_doc, router_doc):
        ok, lines = verify_shatter_json(doc)
        assert ok and all(not line.startswith("FAIL") for line in lines)
        assert verify_document(json.loads(json.dumps(doc))).ok


def _rejected(doc) -> bool:
    ok, lines = verify_shatter_json(doc)
    return not ok and any(line.startswith("FAIL") for line in lines)


def test_tampered_halfspace_certificates_are_rejected(halfspace_doc):
    doc = halfspace_doc
    # a flipped label: the separator of labelling k claimed for a labelling differing in one
    # point (entries swapped)
    k = _first(doc, "R")
    t = copy.deepcopy(doc)
    j = k ^ 1
    t["entries"][k], t["entries"][j] = t["entries"][j], t["entries"][k]
    assert t["entries"] != doc["entries"] and _rejected(t)
    # a changed coordinate
    t = copy.deepcopy(doc)
    t["points"][0][0] = str(Fraction(t["points"][0][0]) + 3)
    assert _rejected(t)
    # a wrong λ
    f = _first(doc, "F")
    t = copy.deepcopy(doc)
    head, *pairs = t["entries"][f].split()
    i, value = pairs[0].split(":")
    pairs[0] = f"{i}:{Fraction(value) * 2}"
    t["entries"][f] = " ".join([head, *pairs])
    assert _rejected(t)
    # a separator coefficient changed
    t = copy.deepcopy(doc)
    head, *coefs = t["entries"][k].split()
    coefs[0] = str(-Fraction(coefs[0]) - 1)
    t["entries"][k] = " ".join([head, *coefs])
    assert _rejected(t)
    # claims that do not follow from the entries
    for key, value in (("realised", doc["claims"]["realised"] + 2), ("shattered", True)):
        t = copy.deepcopy(doc)
        t["claims"][key] = value
        assert _rejected(t)
    # floats, eval-bait and missing entries are malformed, not crashes
    for bad in ("R 0.5 1 2", "R __import__('os') 1 1", "F 0:1"):
        t = copy.deepcopy(doc)
        t["entries"][0] = bad
        assert _rejected(t)
    t = copy.deepcopy(doc)
    t["entries"].pop()
    assert _rejected(t)


def test_tampered_router_certificates_are_rejected(router_doc):
    doc = router_doc
    k = next(k for k, e in enumerate(doc["entries"]) if e["s"] == "R" and k > 0)
    t = copy.deepcopy(doc)
    t["entries"][k]["labels"][0] *= -1
    t["entries"][k]["labels"][1] *= -1
    t["entries"][k]["labels"][2] *= -1
    assert _rejected(t)
    t = copy.deepcopy(doc)
    t["entries"][k] = {"s": "F", "splits": []}  # an unrealised claim with nothing behind it
    assert _rejected(t)
    t = copy.deepcopy(doc)
    t["model"]["kind"] = "prototype-router"  # scores are not prototypes
    assert _rejected(t)


def test_refuted_router_labellings_carry_every_split():
    r = shatter_exact(random_points(7, 2, seed=2), "linear-router", experts=3, method="enumeration")
    doc = certificate_json(r)
    f = next(k for k, e in enumerate(doc["entries"]) if e["s"] == "F")
    assert doc["entries"][f]["splits"]
    t = copy.deepcopy(doc)
    t["entries"][f]["splits"].pop()
    assert _rejected(t)
    t = copy.deepcopy(doc)
    mu = t["entries"][f]["splits"][0]["farkas"].split()
    i, other, v = mu[0].split(":")
    mu[0] = f"{i}:{other}:{Fraction(v) + 1}"
    t["entries"][f]["splits"][0]["farkas"] = " ".join(mu)
    assert _rejected(t)


# ---------------------------------------------------------------------------- points


def test_points_files_read_exactly_and_refuse_bad_input(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("# x, y\n0.1, 2\n-3/4 1e-2\n\n5,6\n")
    pts = load_points(csv, dim=2)
    assert pts.points[0] == (Fraction(1, 10), Fraction(2)) and pts.m == 3
    js = tmp_path / "p.json"
    js.write_text('{"points": [[0.1, 2], ["-3/4", 0.01]]}')
    assert load_points(js, dim=2).points[1] == (Fraction(-3, 4), Fraction(1, 100))
    bad = {
        "dims.csv": "1,2\n3\n",
        "word.csv": "1,x\n",
        "dup.csv": "1,2\n1,2\n",
        "nan.json": "[[NaN, 1]]",
        "bool.json": "[[true, 1]]",
        "empty.csv": "# nothing\n",
        "huge.csv": "1e999,1\n",
        "deep.json": "[" * 100 + "]" * 100,
    }
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(PointSetError):
            load_points(tmp_path / name, dim=2)
    with pytest.raises(PointSetError):
        load_points(tmp_path / "missing.csv", dim=2)
    with pytest.raises(PointSetError):
        load_points(csv, dim=2, m=4)  # fewer points than asked for


def test_random_points_are_exact_floats_and_seeded():
    a, b = random_points(6, 3, seed=9), random_points(6, 3, seed=9)
    assert a == b and a != random_points(6, 3, seed=10)
    assert all(Fraction(float(c)) == c for p in a.points for c in p)


# ---------------------------------------------------------------------------- CLI


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_contract_and_verify(tmp_path, capsys):
    code, out, _ = _run(
        [
            "shatter",
            "--model",
            "halfspace",
            "--dim",
            "2",
            "--points",
            "4",
            "--out",
            str(tmp_path),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    s = json.loads(out)
    for key in (
        "shattered",
        "labelings_checked",
        "labelings_realised",
        "method",
        "vc_upper",
        "vc_lower",
        "certificates",
    ):
        assert key in s
    assert s["method"] == "exact" and s["labelings_checked"] == 16
    assert s["labelings_realised"] == cover(4, 3) == s["cover_count"]
    assert s["shattered"] is False and s["vc_lower"] == 3 and s["vc_upper"] >= 3
    code, out, _ = _run(["verify", s["certificates"]], capsys)
    assert code == 0 and "FAIL" not in out
    doc = json.loads(open(s["certificates"]).read())
    doc["points"][1][0] = "12345"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    code, out, _ = _run(["verify", str(bad)], capsys)
    assert code == 1 and "FAIL" in out
    code, out, _ = _run(
        [
            "shatter",
            "--model",
            "prototype-router",
            "--dim",
            "2",
            "--points",
            "4",
            "--experts",
            "3",
            "--point-set",
            "moment",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0 and out.startswith("# Shattering: prototype-router")


@pytest.mark.parametrize(
    "args,named",
    [
        (["--model", "halfspace", "--dim", "2", "--points", "21"], "21"),
        (["--model", "halfspace", "--dim", "0", "--points", "3"], "0"),
        (["--model", "halfspace", "--dim", "2", "--points", "3", "--experts", "2"], "--experts"),
        (["--model", "linear", "--dim", "2", "--points", "3", "--width", "2"], "--width"),
        (["--model", "linear-router", "--dim", "2", "--points", "20", "--experts", "5"], "20"),
        (["--model", "moe", "--dim", "2", "--points", "17"], "17"),
        (
            ["--model", "halfspace", "--dim", "2", "--points", "3", "--point-set", "nope.csv"],
            "nope.csv",
        ),
        (["--model", "halfspace", "--dim", "2", "--points", "3", "--method", "milp"], "--method"),
    ],
)
def test_cli_bad_sizes_exit_2_with_one_line(args, named, capsys, tmp_path):
    code, out, err = _run(["shatter", *args, "--out", str(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and named in err
    assert not list(tmp_path.iterdir())  # nothing written: refused before any work


def test_plan_limits():
    with pytest.raises(TooLargeError):
        plan_exact("halfspace", 21, 2)
    assert plan_exact("linear-router", 8, 2, 3).method == "enumeration"
    assert plan_exact("linear-router", 12, 2, 4).method == "milp"
    with pytest.raises(ConfigError):
        plan_exact("moe", 4, 2)


# ---------------------------------------------------------------------------- training


def test_training_never_reports_more_than_the_exact_answer():
    """An affine expert (E = 1, depth 0) is a halfspace: the labellings training fits are a
    subset of those the LP realises, and on d + 1 points all of them."""
    from moetheory.experiments.shatter.training import train_labellings

    for m, seed in ((3, 0), (5, 1)):
        pts = random_points(m, 2, seed=seed)
        trained = train_labellings(pts, experts=1, width=1, depth=0, steps=1000)
        exact = realised_set(shatter_exact(pts, "halfspace"))
        fitted = {k for k in range(2**m) if trained.realised[k]}
        assert fitted <= exact
        if m == 3:
            assert fitted == exact == set(range(8))


def test_training_search_stays_below_the_calculator_upper_bound():
    from moetheory.experiments.shatter.training import run_training

    s = run_training(
        dim=1, m=4, experts=2, width=2, depth=1, steps=300, random_sets=1, device="cpu"
    )
    assert s["method"] == "training" and s["certificates"] is None
    lower = s["empirical_lower_bound"]
    assert lower >= 1 and lower <= s["vc_upper"]
    assert s["labelings_realised"] <= s["labelings_checked"] == 16
    assert all(r["realised"] <= r["labelings"] for r in s["search"])


# ---------------------------------------------------------------------------- VLL


def test_phi_constants():
    assert phi(0.49) == 1.0 and abs(phi(0.5) - 1.0) < 1e-4
    assert all(phi(t) > phi(2 * t) for t in (0.6, 1, 3, 10))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_vll_estimate_of_halfspaces_lands_near_d_plus_1(d):
    """Band [0.6, 1.6]·(d + 1) (12 repetitions here; README's figures use 20); the LP learner
    is exact ERM only on separable samples, so the estimate is an effective VC dimension."""
    est = vll_estimate(halfspace_lp_learner, dim=d, h0=d + 1, seed=0, repetitions=12)
    assert 0.6 * (d + 1) <= est.h <= 1.6 * (d + 1), est.h


def test_vll_with_exact_erm_on_the_line():
    est = vll_estimate(threshold_erm_learner, dim=1, h0=2, seed=1, repetitions=12)
    assert est.h >= 1.2 and est.h <= 3.2, est.h
    errors = threshold_erm_learner(np.array([[0.0], [1.0], [2.0]]), np.array([0, 1, 1]))
    assert not errors.any()


def test_benchmark_script_runs_small():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "shatter_lp.py"
    code = subprocess.run(
        [sys.executable, str(script), "--points", "6"], capture_output=True, text=True, timeout=120
    )
    assert code.returncode == 0, code.stderr
    assert "seconds" in code.stdout and "load" in code.stdout
