"""The public errors the tenants service raises (its RPC ``expected_exceptions``)."""
from mppi.contracts.errors import (
    AccountExists,
    AgencyExists,
    InvalidCredentials,
    MppiError,
    NotFound,
    TenantExists,
    UnknownRegion,
    ValidationFailed,
)

__all__ = ["AccountExists", "AgencyExists", "InvalidCredentials", "MppiError", "NotFound", "TenantExists",
           "UnknownRegion", "ValidationFailed"]
