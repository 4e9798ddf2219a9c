"""What a route handler gets: the request, its path parameters, the caller, and the gateway's clients."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request

from gateway.api import IDEMPOTENCY_KEY
from gateway.cache import TenantCache
from gateway.catalog_cache import CatalogCache
from mppi.contracts.errors import BadRequest, PayloadTooLarge, ValidationFailed, field_error
from mppi.runtime.blobstore import BlobStore
from mppi.runtime.rpc import RpcClient
from mppi.runtime.tokens import Principal

MAX_JSON_BODY = 256 * 1024


@dataclass
class Ctx:
    request: Request
    params: dict[str, str]
    principal: Principal | None
    rpc: RpcClient
    tenants: TenantCache
    catalog: CatalogCache
    blobs: BlobStore
    lang: str  # "id", "en", or "all" for the raw bilingual objects (editors)
    client: str = ""  # the caller's network as rate limits key it (gateway.ratelimit.client_key)

    def query_int(self, name: str, default: int, *, lo: int, hi: int) -> int:
        raw = self.request.args.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise ValidationFailed(f"{name} must be an integer from {lo} to {hi}",
                                   [field_error(["query", name], f"must be an integer from {lo} to {hi}")])
        return value

    def limit(self) -> int:
        return self.query_int("limit", 20, lo=1, hi=100)


def read_json(request: Request) -> Any:
    """The JSON body, bounded in size; a 400 for anything that is not JSON."""
    length = request.content_length
    if length is not None and length > MAX_JSON_BODY:
        raise PayloadTooLarge(f"the body may be at most {MAX_JSON_BODY // 1024} KB")
    raw = request.stream.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise PayloadTooLarge(f"the body may be at most {MAX_JSON_BODY // 1024} KB")
    if not raw.strip():
        raise BadRequest("a JSON body is required")
    return parse_json(raw, "the body")


MAX_JSON_DEPTH = 64  # far deeper than any form or workflow; a deeper body is refused before anything walks it


def parse_json(raw: str | bytes, what: str) -> Any:
    """JSON from a client (a body, a multipart data part): a 400 for anything that is not JSON or nests deeper
    than MAX_JSON_DEPTH (validators and services recurse into what they are given)."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(f"{what} is not valid JSON") from None
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
        level = [child for node in level if isinstance(node, (dict, list))
                 for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, (dict, list))]
    return value


def paginate(items: list[dict], *, key: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """Cursor paging over a list already ordered by ``key``."""
    if cursor:
        items = [i for i in items if str(i[key]) > cursor]
    page = items[:limit]
    return {"items": page, "next_cursor": str(page[-1][key]) if len(items) > limit else None}


def request_key(request: Request) -> str:
    """What a service knows a request that makes something by: the client's ``Idempotency-Key`` (a retry then
    answers with what the first request made), else a fresh one (a request delivered again inside the platform,
    because its service was killed before it answered, still finds what it made)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return uuid.uuid4().hex
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
    return key
