"""The simulated tax bureau: HTTPS service, filing rules, scenario control and faults."""

from simulators.bureau.app import BureauSimulator
from simulators.bureau.ctl import AdminClient
from simulators.bureau.process import BureauProcess, spawn
from simulators.bureau.ready import Ready

__all__ = ["AdminClient", "BureauProcess", "BureauSimulator", "Ready", "spawn"]
