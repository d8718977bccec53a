"""Estimation-rate simulations (issue 17): torch MoE models compiled from the symbolic families,
true mixing measures and their samplers, and batched least-squares fitting.

- :mod:`moetheory.experiments.simulate.models` — :func:`compile_torch` (a sympy → torch printer)
  and :class:`TorchMoE`, the batched regression function, gate weights and Gaussian conditional
  density of a router × expert pair (built-in names or formulas through the safe parser);
- :mod:`moetheory.experiments.simulate.truth` — :class:`Truth` (a validated true mixing measure),
  :class:`InputLaw`, the (X, Y) samplers and :func:`simulation_data` (one seed per
  (configuration, n, replicate) through :func:`moetheory.experiments.sweep.unit_seed`);
- :mod:`moetheory.experiments.simulate.fit_ls` — batched Levenberg–Marquardt least squares over
  all replicates, sample sizes and starts at once (masking for unequal n).

Reference: ``shared/reference/identifiability.md`` §1 (models), §5 (Voronoi losses), §6 (rates),
§7 (simulation setups); ``shared/reference/experiments.md`` §3, §5.
"""
