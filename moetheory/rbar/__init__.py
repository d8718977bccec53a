"""The r̄ solver: the order r̄(m) of the polynomial systems that set the slow estimation rates
of over-fitted Gaussian (r1) and softmax-gated Gaussian (r2) mixtures, with exact certificates.

Modules: :mod:`~moetheory.rbar.system` (the systems), :mod:`~moetheory.rbar.witness` (real
solutions, proving r̄ > r), :mod:`~moetheory.rbar.proof` (structured proofs that none exists,
proving r̄ ≤ r), :mod:`~moetheory.rbar.exact` (exact polynomial arithmetic they share) and
:mod:`~moetheory.rbar.solver` (the search, the certificate record and its re-verification).

Example::

    >>> from moetheory.rbar import solve_rbar
    >>> solve_rbar("r2", 2).value
    4

Reference: identifiability.md §4 (Ho & Nguyen 2016; 2305.03288 Lemma 1; 2505.10860 App. B).
"""

from moetheory.rbar.solver import (
    SCHEMA,
    RbarError,
    RbarResult,
    RbarSystem,
    compare_r2_r1,
    numeric_search,
    rbar_value,
    solve_rbar,
    system,
    verify_rbar_json,
)

__all__ = [
    "SCHEMA",
    "RbarError",
    "RbarResult",
    "RbarSystem",
    "compare_r2_r1",
    "numeric_search",
    "rbar_value",
    "solve_rbar",
    "system",
    "verify_rbar_json",
]
