"""Client for the tax bureau: handshake, summary upload and clearing over verified HTTPS."""

from appliance.bureau.client import BureauClient
from appliance.bureau.config import BureauConfig
from appliance.bureau.endpoints import EndpointTable
from appliance.bureau.errors import TRANSIENT_ERRORS, BureauError
from appliance.bureau.messages import CompanyInfo
from appliance.bureau.models import BureauSession, ClearingData, Receipt
from appliance.bureau.retry import RetryPolicy

__all__ = [
    "TRANSIENT_ERRORS",
    "BureauClient",
    "BureauConfig",
    "BureauError",
    "BureauSession",
    "ClearingData",
    "CompanyInfo",
    "EndpointTable",
    "Receipt",
    "RetryPolicy",
]
