"""moetheory: the statistical theory of Mixture-of-Experts models as tools researchers run."""

from moetheory.identify.api import formula_model, identify, pair_model

__all__ = ["identify", "formula_model", "pair_model"]
__version__ = "0.1.0"
