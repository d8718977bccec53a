"""verify() re-checks a verdict from its JSON and rejects tampered certificates and claims."""

from __future__ import annotations

import copy
import json

import pytest

from moetheory.errors import CertificateError
from moetheory.identify.verify import verify_json


@pytest.fixture(scope="module")
def saved():
    from conftest import verdict

    return json.loads(json.dumps(verdict("softmax", "linear").to_json()))


def test_fresh_verdict_verifies(saved):
    report = verify_json(saved)
    assert report.ok, report.failed
    assert any("certificate k1" in c for c in report.passed)
    assert any("Derivative(u, a1) - Derivative(u, beta1, b)" in c for c in report.passed)


def test_verdict_object_verify(get_verdict):
    assert get_verdict("perturbed-cosine", "scaled-tanh").verify().ok


def test_tampered_determinant_is_rejected(saved):
    bad = copy.deepcopy(saved)
    bad["certificate"]["k1"]["det"] = "[12345.0 +/- 1e-10]"
    report = verify_json(bad)
    assert not report.ok and any("k1" in c for c in report.failed)


def test_tampered_point_is_rejected(saved):
    bad = copy.deepcopy(saved)
    bad["certificate"]["point"]["beta1"] = "7/3"
    assert not verify_json(bad).ok


def test_tampered_relation_is_rejected(saved):
    bad = copy.deepcopy(saved)
    rel = next(r for r in bad["relations"] if r["class"] == "gate-expert")
    rel["expression"] = rel["expression"].replace("Derivative(u, a1)", "2*Derivative(u, a1)")
    report = verify_json(bad)
    assert not report.ok and any(rel["expression"] in c for c in report.failed)


def test_tampered_verdict_is_rejected(saved):
    bad = copy.deepcopy(saved)
    bad["verdicts"]["strong"] = "yes"
    report = verify_json(bad)
    assert any("verdict strong" in c for c in report.failed)


def test_malformed_json_is_a_certificate_error(saved):
    bad = copy.deepcopy(saved)
    bad["u"] = "__import__('os')"
    with pytest.raises(CertificateError):
        verify_json(bad)
