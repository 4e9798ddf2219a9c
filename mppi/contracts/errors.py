"""The platform's public errors: one class per stable code, each mapped to one HTTP status.

They cross nameko RPC as themselves (registered with ``deserialize_to_instance``), so the gateway's single
error mapper sees the same class the service raised.
"""
from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance


class MppiError(Exception):
    code = "INTERNAL"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str = "", errors: list[dict[str, Any]] | None = None):
        # nameko's RPC serialisation turns the ints of a loc into strings; list indexes are ints again here
        # (a field key never is all digits)
        errors = [{**e, "loc": [int(p) if isinstance(p, str) and p.isdigit() else p for p in e.get("loc", [])]}
                  for e in errors or []]
        super().__init__(detail, errors)
        self.detail = detail or self.title
        self.errors = errors

    def __str__(self) -> str:
        return self.detail


def _public(code: str, status: int, title: str):
    def decorate(cls):
        cls.code, cls.status, cls.title = code, status, title
        ERRORS[code] = cls
        return deserialize_to_instance(cls)

    return decorate


ERRORS: dict[str, type[MppiError]] = {}


@_public("UNAUTHENTICATED", 401, "Authentication required")
class Unauthenticated(MppiError):
    pass


@_public("INVALID_CREDENTIALS", 401, "Invalid credentials")
class InvalidCredentials(MppiError):
    pass


@_public("FORBIDDEN", 403, "Forbidden")
class Forbidden(MppiError):
    pass


@_public("NOT_FOUND", 404, "Not found")
class NotFound(MppiError):
    pass


@_public("METHOD_NOT_ALLOWED", 405, "Method not allowed")
class MethodNotAllowed(MppiError):
    pass


@_public("VALIDATION_FAILED", 422, "Validation failed")
class ValidationFailed(MppiError):
    pass


@_public("UNKNOWN_REGION", 422, "Unknown region")
class UnknownRegion(MppiError):
    pass


@_public("TENANT_EXISTS", 409, "Tenant exists")
class TenantExists(MppiError):
    pass


@_public("ACCOUNT_EXISTS", 409, "Account exists")
class AccountExists(MppiError):
    pass


@_public("AGENCY_EXISTS", 409, "Agency exists")
class AgencyExists(MppiError):
    pass


@_public("SERVICE_EXISTS", 409, "Service exists")
class ServiceExists(MppiError):
    pass


@_public("SERVICE_NOT_PUBLISHED", 409, "Service not published")
class ServiceNotPublished(MppiError):
    pass


@_public("ACTION_NOT_ALLOWED", 409, "Action not allowed")
class ActionNotAllowed(MppiError):
    pass


@_public("SURVEY_EXISTS", 409, "Survey exists")
class SurveyExists(MppiError):
    pass


@_public("BAD_REQUEST", 400, "Bad request")
class BadRequest(MppiError):
    pass


@_public("FILE_TOO_LARGE", 413, "Payload too large")
class FileTooLarge(MppiError):
    pass


@_public("PAYLOAD_TOO_LARGE", 413, "Payload too large")
class PayloadTooLarge(MppiError):
    pass


@_public("UNSUPPORTED_FILE_TYPE", 415, "Unsupported media type")
class UnsupportedFileType(MppiError):
    pass


@_public("RATE_LIMITED", 429, "Too many requests")
class RateLimited(MppiError):
    def __init__(self, detail: str = "", errors=None, retry_after: int = 1):
        super().__init__(detail, errors)
        self.retry_after = int(retry_after)
        self.args = (self.detail, self.errors, self.retry_after)  # what crosses the RPC: the wait too


@_public("DEPENDENCY_UNAVAILABLE", 503, "Dependency unavailable")
class DependencyUnavailable(MppiError):
    pass


@_public("STORAGE_FULL", 503, "Uploads paused")
class StorageFull(MppiError):
    """What every account holds in uploads not yet sent fills the platform's allowance: nobody's upload is taken
    until some are sent or expire (Retry-After)."""

    def __init__(self, detail: str = "", errors=None, retry_after: int = 60):
        super().__init__(detail, errors)
        self.retry_after = retry_after


def field_error(loc: list[str | int] | tuple, msg: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg}


def _nul_locations(value: Any, loc: tuple, found: list) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.append(field_error(loc, "must not contain NUL characters"))
    elif isinstance(value, dict):
        for k, v in value.items():
            _nul_locations(k, loc, found)
            _nul_locations(v, (*loc, k), found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _nul_locations(v, (*loc, i), found)


def refuse_nul(data: Any, *, loc: tuple) -> None:
    """A 422 naming every place in ``data`` that holds a NUL character: no database stores them and no person types
    them, so they are refused everywhere (bodies, path and query parameters)."""
    nul: list = []
    _nul_locations(data, loc, nul)
    if nul:
        raise ValidationFailed("text may not contain NUL characters", nul)


def parse(model, data: Any, *, loc: tuple = ("body",)):
    """Validate ``data`` against a pydantic model; every problem becomes one ``errors`` item of a 422 (NUL
    characters included: see ``refuse_nul``)."""
    from pydantic import ValidationError

    refuse_nul(data, loc=loc)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [field_error([*loc, *e["loc"]], e["msg"]) for e in exc.errors(include_url=False)]
        named = ", ".join(".".join(str(p) for p in e["loc"][len(loc):]) or "body" for e in errors)
        raise ValidationFailed(f"invalid fields: {named}", errors) from None
