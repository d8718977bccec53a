"""Experiments that train networks, and the runtime they share.

The runtime: configurations as plain data files validated before any work starts
(:mod:`~moetheory.experiments.config`), the device (:mod:`~moetheory.experiments.device`), the
environment a run records (:mod:`~moetheory.experiments.environment`), run directories with
resumable ``results.jsonl`` (:mod:`~moetheory.experiments.rundir`), sweeps of units of work in
this process or on Dask distributed (:mod:`~moetheory.experiments.sweep`), and log-log slope fits
with bootstrap intervals and verdicts (:mod:`~moetheory.experiments.stats`).

Reference: ``shared/reference/experiments.md`` §3 and §5.
"""
