"""Router and expert families: one small file each, collected in ``registry``."""

from moetheory.families.base import Built, ExpertFamily, Family, RouterFamily
from moetheory.families.registry import EXPERTS, ROUTERS, get_expert, get_router

__all__ = [
    "Built",
    "ExpertFamily",
    "Family",
    "RouterFamily",
    "EXPERTS",
    "ROUTERS",
    "get_expert",
    "get_router",
]
