"""Public contracts for code that extends moetheory, to run in your own tests.

``moetheory.testing.families``: the checks every router and expert family must pass, in the
style of scikit-learn's ``parametrize_with_checks``; :func:`check_router_kind`: the contract of
an architecture router kind (:mod:`moetheory.bounds.routers`).

Example
-------
>>> from moetheory.families import get_router
>>> from moetheory.testing import check_family
>>> check_family(get_router("softmax"))  # silent when the family passes
"""

from moetheory.bounds.routers.contract import check_router_kind
from moetheory.testing.families import (
    FamilyCheck,
    check_family,
    family_checks,
    parametrize_with_checks,
)

__all__ = [
    "FamilyCheck",
    "check_family",
    "check_router_kind",
    "family_checks",
    "parametrize_with_checks",
]
