"""`moetheory verify` on files from strangers: hostile leaves never run code, never hang, and a
changed claim is never accepted (issue 13).

The fuzzer mutates one leaf of a saved verdict or of an r̄ record into a hostile value (code
strings, alone or inside lists and dicts; huge numbers; deep nesting; wrong types; valid values
of another meaning) and runs the CLI on the file. A canary file is the payload of every code
string: if any path evaluated one, the canary exists. The expectations are the contract's, not
the verifier's output: exit 1 or 2 with nothing on stdout after a traceback, within the limit;
exit 0 only when the changed leaf is descriptive (listed below) or the value is unchanged.
"""

from __future__ import annotations

import copy
import json
import time
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Leaves that describe a run rather than claim a fact: changing them may still verify.
DESCRIPTIVE = {
    ("seconds",),
    ("seed",),
    ("gate",),
    ("expert",),
    ("minimal_basis",),
    ("certificate", "method"),
    ("max_order",),
    ("definition",),
}
DESCRIPTIVE_HEADS = {"notes", "evidence"}
LIMIT_S = 20.0


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _set(data, path, value):
    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _get(data, path):
    for key in path:
        data = data[key]
    return data


@pytest.fixture(scope="module")
def verdict_doc():
    from conftest import verdict

    return json.loads(json.dumps(verdict("softmax", "scaled-tanh", dim=1).to_json()))


@pytest.fixture(scope="module")
def rbar_doc():
    from moetheory.rbar import solve_rbar

    return json.loads(json.dumps(solve_rbar("r2", 2).to_json()))


def _used_points(doc) -> set[int]:
    cert = doc.get("certificate", {})
    numeric = any(
        r.get("verified") == "numeric"
        for g in ("relations", "weak_relations")
        for r in doc.get(g, [])
    )
    rows = {0, 1, 2} if numeric else set()
    for key in ("k1", "k2", "weak_k1", "weak_k2"):
        rows |= set(cert.get(key, {}).get("rows", []))
    return rows


def _descriptive(doc, path) -> bool:
    if path[:1] and path[0] in DESCRIPTIVE_HEADS:
        return True
    if path in DESCRIPTIVE or path[-1:] in (("precision_bits",), ("construction",)):
        return True
    return (
        len(path) >= 3
        and path[:2] == ("certificate", "points")
        and path[2] not in _used_points(doc)
    )


def hostile(canary: Path):
    code = [
        f"__import__('pathlib').Path({str(canary)!r}).touch()",
        f"exec(\"open({str(canary)!r}, 'w')\")",
        "__import__('os').system('true')",
    ]
    code_values = st.sampled_from(code)
    huge = st.sampled_from(
        [
            10**400,
            "9" * 5000,
            "1e100000000",
            "1" + "0" * 5000 + "/3",
            1e308,
            -(10**30),
            "-1/0",
            "nan",
            "inf",
        ]
    )
    wrong = st.sampled_from([None, True, False, 0, -1, 1.5, "", "x", [], {}, [[]], {"a": 1}])
    other = st.sampled_from(
        [
            "yes",
            "no",
            "unknown",
            "gate-expert",
            "duplicate",
            "zero",
            "symbolic",
            "numeric",
            "complete",
            "partial",
            "5",
            "7/3",
            "[12345.0 +/- 1e-10]",
            "u",
            "Derivative(u, a1)",
            "exp(b1*x1)",
            2,
            3,
            7,
        ]
    )
    return st.one_of(
        code_values,
        st.lists(code_values, min_size=1, max_size=3),
        st.dictionaries(code_values, code_values, min_size=1, max_size=2),
        huge,
        wrong,
        other,
        st.just("DEEP"),
    )


def _write(tmp: Path, doc, path, value) -> Path:
    file = tmp / "mutated.json"
    if value == "DEEP":  # nesting far beyond any parser's recursion limit, written as text
        text = json.dumps(_set(doc, path, "@@DEEP@@"))
        file.write_text(text.replace('"@@DEEP@@"', "[" * 100_000 + "]" * 100_000))
    else:
        file.write_text(json.dumps(_set(doc, path, value)))
    return file


def _fuzz(capsys, tmp_path, doc, path, value):
    canary = tmp_path / "CANARY"
    file = _write(tmp_path, doc, path, value)
    start = time.perf_counter()
    code, out, err = run_cli(capsys, "verify", str(file), "--seconds", str(LIMIT_S))
    elapsed = time.perf_counter() - start
    assert not canary.exists(), f"code ran from {path} = {value!r}"
    assert elapsed < LIMIT_S + 10, f"{path}: verify took {elapsed:.1f} s"
    assert "Traceback" not in err and "Traceback" not in out
    assert code in (0, 1, 2)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err
    if code == 0:
        assert _same_value(value, _get(doc, path)) or _descriptive(doc, path), (
            f"verify accepted {path} changed to {value!r}"
        )


def _same_value(new, old) -> bool:
    """Equal, or the same exact number written as a JSON integer instead of a "p" / "p/q"
    string (both are read as exact rationals: 0 for "0" changes nothing)."""
    if new == old:
        return True
    if isinstance(new, int) and not isinstance(new, bool) and isinstance(old, str):
        try:
            return Fraction(old) == new
        except (ValueError, ZeroDivisionError):
            return False
    return False


def _draw_and_fuzz(capsys, tmp_path, docs, data):
    doc = data.draw(st.sampled_from(docs))
    path = data.draw(st.sampled_from(sorted(_leaves(doc), key=str)))
    _fuzz(capsys, tmp_path, doc, path, data.draw(hostile(tmp_path / "CANARY")))


SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=55, **SETTINGS)
@given(data=st.data())
def test_hostile_leaves(capsys, tmp_path, verdict_doc, rbar_doc, data):
    _draw_and_fuzz(capsys, tmp_path, [verdict_doc, rbar_doc], data)


@pytest.mark.slow
@settings(max_examples=400, **SETTINGS)
@given(data=st.data())
def test_hostile_leaves_long_run(capsys, tmp_path, verdict_doc, rbar_doc, data):
    _draw_and_fuzz(capsys, tmp_path, [verdict_doc, rbar_doc], data)


@pytest.mark.parametrize("key", ["verdicts", "relations", "certificate"])
def test_every_claim_leaf_of_a_kind_is_checked(capsys, tmp_path, verdict_doc, key):
    """Each leaf under the main claim groups, changed to a valid-looking other value, fails."""
    for path in _leaves(verdict_doc[key], (key,)):
        if _descriptive(verdict_doc, path):
            continue
        old = _get(verdict_doc, path)
        new = (
            not old
            if isinstance(old, bool)
            else old + 1
            if isinstance(old, int)
            else "no"
            if old == "yes"
            else "yes"
            if isinstance(old, str) and old in ("no", "unknown")
            else "7/3"
            if isinstance(old, str) and "/" in old
            else "[5.0 +/- 0.001]"
            if isinstance(old, str) and old.startswith("[")
            else "2*" + old
            if isinstance(old, str)
            else ["x"]
        )
        file = _write(tmp_path, verdict_doc, path, new)
        code, _, err = run_cli(capsys, "verify", str(file), "--seconds", str(LIMIT_S))
        assert code in (1, 2), f"verify accepted {path}: {old!r} → {new!r}"


def test_code_in_a_point_list_never_runs(capsys, tmp_path, verdict_doc):
    """The reproduction of issue 13: a point value written as a list of code strings."""
    canary = tmp_path / "CANARY"
    payload = [f"__import__('pathlib').Path({str(canary)!r}).touch()"]
    name = next(iter(verdict_doc["certificate"]["point"]))
    file = _write(tmp_path, verdict_doc, ("certificate", "point", name), payload)
    code, _, err = run_cli(capsys, "verify", str(file))
    assert code == 2 and not canary.exists()
    assert "expected an exact rational" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "change",
    [
        (("relations", 0, "coefficients"), ["5", "7"]),
        (("certificate", "relations_independent", "det"), "999"),
    ],
)
def test_issue_tampering_is_rejected(capsys, tmp_path, verdict_doc, change):
    path, value = change
    if path[0] == "relations":
        rel = next(i for i, r in enumerate(verdict_doc["relations"]) if len(r["terms"]) == 2)
        path = ("relations", rel, "coefficients")
    file = _write(tmp_path, verdict_doc, path, value)
    code, _, _ = run_cli(capsys, "verify", str(file))
    assert code in (1, 2)


def test_weak_yes_to_no_is_rejected(capsys, tmp_path, verdict_doc):
    assert verdict_doc["verdicts"]["weak"] == "yes"  # softmax × scaled-tanh, d = 1
    file = _write(tmp_path, verdict_doc, ("verdicts", "weak"), "no")
    assert run_cli(capsys, "verify", str(file))[0] == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe not utf-8",
        b"",
        b"{",
        b"[]",
        b"NaN",
        b"1e999",
        b'{"schema": "moetheory.verdict/2"}',
        b"[" * 100_000,
    ],
)
def test_unreadable_files_one_line(capsys, tmp_path, raw):
    file = tmp_path / "bad.json"
    file.write_bytes(raw)
    code, _, err = run_cli(capsys, "verify", str(file))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_own_outputs_verify(capsys, tmp_path, verdict_doc, rbar_doc):
    for name, doc in (("v", verdict_doc), ("r", rbar_doc), ("list", [verdict_doc])):
        file = tmp_path / f"{name}.json"
        file.write_text(json.dumps(doc))
        code, out, _ = run_cli(capsys, "verify", str(file))
        assert code == 0 and "FAIL" not in out


@pytest.mark.slow
def test_every_atlas_verdict_and_rbar_record_verifies():
    """Acceptance: `verify` passes on every verdict of the full atlas and on the r̄ records."""
    from moetheory.certificates import verify_document
    from moetheory.families import EXPERTS, ROUTERS
    from moetheory.rates.atlas import identify_all
    from moetheory.rbar import solve_rbar

    verdicts = identify_all([(g, e) for g in ROUTERS for e in EXPERTS], dim=2)
    docs = json.loads(json.dumps([v.to_json() for v in verdicts]))
    report = verify_document(docs)
    assert len(docs) == len(ROUTERS) * len(EXPERTS) and report.ok, report.failed[:5]
    for kind, m in (("r1", 1), ("r1", 2), ("r2", 1), ("r2", 2), ("r2", 3)):
        record = json.loads(json.dumps(solve_rbar(kind, m).to_json()))
        assert verify_document(record).ok, (kind, m)


def test_reviewer_forgeries_are_rejected(capsys, tmp_path, verdict_doc):
    """Regressions of the adversarial review: relabelled roles, a padded weak minor."""
    roles = ["gate"] * len(verdict_doc["roles"])
    extra = verdict_doc["certificate"]["k1"]["columns"][-1]
    weak = copy.deepcopy(verdict_doc["certificate"]["weak_k1"])
    weak["columns"].append(extra if extra not in weak["columns"] else "u")
    for path, value in ((("roles",), roles), (("certificate", "weak_k1"), weak)):
        file = _write(tmp_path, verdict_doc, path, value)
        assert run_cli(capsys, "verify", str(file))[0] in (1, 2), path
