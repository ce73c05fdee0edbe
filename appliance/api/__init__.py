"""The local API: JSON lines on a Unix socket between the daemon, the kiosk and the CLI."""

from appliance.api.client import ApiClient, DaemonStatus, Subscription, is_running, status_of
from appliance.api.errors import (
    ApiBusy,
    ApiError,
    ApiTimeout,
    ApiUnavailable,
    BadReply,
    ConnectionClosed,
    DaemonNotRunning,
)
from appliance.api.schema import Arg, ArgSchema
from appliance.api.server import ApiServer

__all__ = [
    "ApiBusy",
    "ApiClient",
    "ApiError",
    "ApiServer",
    "ApiTimeout",
    "ApiUnavailable",
    "Arg",
    "ArgSchema",
    "BadReply",
    "ConnectionClosed",
    "DaemonNotRunning",
    "DaemonStatus",
    "Subscription",
    "is_running",
    "status_of",
]
