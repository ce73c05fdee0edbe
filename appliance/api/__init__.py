"""The local API: JSON lines on a Unix socket between the daemon, the kiosk and the CLI."""

from appliance.api.client import ApiClient, Subscription, is_running
from appliance.api.errors import ApiError, ApiTimeout, ApiUnavailable, BadReply
from appliance.api.schema import Arg, ArgSchema
from appliance.api.server import ApiServer

__all__ = [
    "ApiClient",
    "ApiError",
    "ApiServer",
    "ApiTimeout",
    "ApiUnavailable",
    "Arg",
    "ArgSchema",
    "BadReply",
    "Subscription",
    "is_running",
]
