"""Edge cases found while typing moetheory for mypy (issue 15 item 7): each was a None or an
empty name reaching code that assumed a value, and is now refused with the module's own error."""

from __future__ import annotations

import pytest

from moetheory.errors import FormulaError
from moetheory.identify.api import formula_model
from moetheory.rates.voronoi import LossInputError, _Brackets
from moetheory.rbar.proof import P0, check_definite, make_definite


@pytest.mark.parametrize("output, variance", [("", "nu"), ("y", "")])
def test_empty_gaussian_names_are_refused(output, variance):
    # an empty --gaussian-output or --variance-param used to skip the name check and build a
    # symbol without a name (or drop the Gaussian expert silently)
    with pytest.raises(FormulaError, match="empty symbol name"):
        formula_model(
            "exp(b*x)", ["b"], "a*x", ["a"], ["x"], gaussian_output=output, variance_param=variance
        )


def test_root_of_domain_with_an_infinite_bound_is_a_malformed_claim():
    domain = {"root_of": ["-2", "0", "1"], "interval": ["1", "2"]}  # √2
    claim = make_definite(P0**2, 1, domain)
    assert check_definite(claim, {}, "H") == (1, [])
    for interval in (["1", None], [None, "2"], [None, None]):
        claim["domain"]["interval"] = interval
        assert check_definite(claim, {}, "H") == (
            0,
            ["H: malformed claim (a root_of domain needs a finite interval)"],
        )


def test_d2_brackets_without_rbar_raise():
    with pytest.raises(LossInputError, match="rbar is required"):
        _Brackets("d2", 2, 3)._lookup(2)
