"""The tax device simulator: a UKey presented to pyusb as a backend object (DESIGN §5).

The appliance opens ``sim://SCENARIO?key=value&...`` through :func:`open_backend`; tests and the
benchmark use it directly. The device itself lives in :mod:`simulators.device.core`, which also
runs on MicroPython, where this package's CPython parts are not imported.
"""

import sys

if sys.implementation.name != "micropython":
    from simulators.device.faults import FaultPlan
    from simulators.device.opener import open_backend
    from simulators.device.scenarios import SCENARIOS
    from simulators.device.usb_backend import SimBackend

    __all__ = ["SCENARIOS", "FaultPlan", "SimBackend", "open_backend"]
