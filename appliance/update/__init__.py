"""Updates of the box: RAUC bundles from a local path or an HTTPS URL, and the health check.

``install_bundle(path)`` and ``fetch_bundle(url, sha256, dest_dir=...)`` are what the fleet's
``update`` command and provisioning call; ``check_health`` is what marks a new slot good.
"""

from appliance.update.errors import UpdateError, describe
from appliance.update.fetch import fetch_bundle
from appliance.update.health import HealthReport, check_health
from appliance.update.install import InstallResult, install_bundle

__all__ = [
    "HealthReport",
    "InstallResult",
    "UpdateError",
    "check_health",
    "describe",
    "fetch_bundle",
    "install_bundle",
]
