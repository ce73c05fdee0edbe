"""Tax devices: transports opened by URL and the family drivers behind one interface."""

from appliance.devices.nisec import NisecDevice
from appliance.devices.urls import open_device

__all__ = ["NisecDevice", "open_device"]
