"""Runnable symbolic checks of the papers' lemmas: ``python -m proofs_check [GROUP ...]``."""
