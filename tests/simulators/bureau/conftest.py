"""Fixtures of the bureau simulator tests (see fixtures.py)."""

from tests.simulators.bureau.fixtures import (
    _scenario_restored,
    bureau,
    client,
    general,
    make_client,
    small,
)

__all__ = ["_scenario_restored", "bureau", "client", "general", "make_client", "small"]
