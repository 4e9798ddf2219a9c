"""The one error mapper: every error leaves the gateway as application/problem+json with a stable code."""
from __future__ import annotations

import json
import logging

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from mppi.contracts.errors import ERRORS, MppiError
from mppi.runtime.logging import correlation_id

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE",
               415: "UNSUPPORTED_MEDIA_TYPE"}


def problem(status: int, code: str, title: str, detail: str, *, errors=None, headers=None) -> Response:
    body = {"type": f"https://mppi.go.id/problems/{code.lower().replace('_', '-')}", "title": title,
            "status": status, "detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    cid = correlation_id.get()
    if cid:
        body["correlation_id"] = cid
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    content_type="application/problem+json")


def to_response(exc: BaseException) -> Response:
    if isinstance(exc, MppiError) and exc.code in ERRORS:
        headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
        return problem(exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, headers=headers)
    if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
        code = _HTTP_CODES.get(exc.code, "BAD_REQUEST")
        headers = None
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            headers = {"Allow": ", ".join(exc.valid_methods)}
        return problem(exc.code, code, exc.name, exc.description or exc.name, headers=headers)
    log.error("unhandled error", exc_info=exc)
    return problem(500, "INTERNAL", "Internal error", "Something went wrong on our side; it has been logged.")
