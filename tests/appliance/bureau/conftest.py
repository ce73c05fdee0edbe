"""Fixtures of the bureau client tests: a real simulator (tests/simulators/bureau/fixtures)."""

from tests.simulators.bureau.fixtures import (
    _scenario_restored,
    bureau,
    client,
    general,
    make_client,
    small,
)

__all__ = ["_scenario_restored", "bureau", "client", "general", "make_client", "small"]
