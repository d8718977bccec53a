"""Shattering experiments: exact decisions with re-checkable certificates, training-based
shattering of PReLU mixtures, and the Vapnik–Levin–LeCun effective-VC estimator.

- :mod:`.points` — point sets as exact rationals (random, grid, moment curve, files) and the
  exact general-position test;
- :mod:`.exact` — every labelling decided by LP (halfspaces, sgn(wᵀx)), split enumeration or
  MILP (top-1 linear router and prototype router with constant experts), with certificates;
- :mod:`.certificate` — the ``moetheory.shatter/1`` document and its exact verifier;
- :mod:`.bounds` — the bounds calculator's VC bounds for each model;
- :mod:`.run` — one exact run as ``moetheory shatter`` does it;
- :mod:`.training` — all 2^m labellings trained as one batch (``--model moe``);
- :mod:`.vll` — the VLL estimator of an effective VC dimension.

Example (Cover's count C(m, d + 1) for 5 points of the plane)::

    >>> from moetheory.experiments.shatter.points import random_points
    >>> from moetheory.experiments.shatter.exact import cover_count, shatter_exact
    >>> shatter_exact(random_points(5, 2, seed=1), "halfspace").counts()["realised"]
    22
    >>> cover_count(5, 3)
    22

Reference: experiments.md §1–§2; Cover 1965; Vapnik, Levin & LeCun 1994.
"""
