"""The route registry of /api/v1: each route names the pydantic models that validate its request and describe its
answer, and who may call it, so the OpenAPI document is generated from the same models and can't drift from the
code."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from mppi.contracts.errors import refuse_nul


class Access(StrEnum):
    """Who may call a route (API.md's "who" column). Every route declares one: the OpenAPI document shows it as
    ``x-access`` and the tenant isolation matrix test expects each caller's answer from it."""

    ANYONE = "anyone"
    SIGNED_IN = "signed_in"  # any account, about itself (/me/...)
    OWNER = "owner"  # the account the resource belongs to; 404 to everyone else
    CITIZEN = "citizen"  # citizens only; 403 to staff
    PLATFORM_ADMIN = "platform_admin"
    TENANT_ADMIN = "tenant_admin"  # the region's tenant admins and platform admins
    STAFF = "staff"  # any staff role of the region; platform admins see no applicant's data (404)
    APPLICANT_OR_STAFF = "applicant_or_staff"  # the application's applicant and the region's staff
    APPLICANT = "applicant"  # the application's applicant only
    WORKFLOW = "workflow"  # the roles of the application's current step (its applicant, to resubmit)


@dataclass(eq=False)  # hashable by identity: werkzeug keys rules by endpoint
class Route:
    method: str
    path: str  # werkzeug rule, e.g. /api/v1/tenants/<slug>
    handler: Callable
    summary: str
    body: type[BaseModel] | None = None
    response: Any = None  # a model, list[model], or None for no body
    status: int = 200
    auth: bool = False
    rate: str = "api"
    tag: str = "api"
    errors: tuple[int, ...] = ()
    query: dict[str, str] = field(default_factory=dict)
    headers: tuple[str, ...] = ()  # request headers the route reads, by name (their schemas in HEADER_SCHEMAS)
    multipart: type[BaseModel] | None = None  # the JSON part ("data") of a multipart body, also accepted as JSON
    access: Access | None = None  # None only until declared: tests refuse a route without it

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


class Api:
    def __init__(self):
        self.routes: list[Route] = []

    def route(self, method: str, path: str, **kwargs) -> Callable:
        def register(fn: Callable) -> Callable:
            handler = _refusing_nul(fn)  # what the module holds too: the web pages find routes by their handler
            self.routes.append(Route(method=method, path=path, handler=handler, **kwargs))
            return handler

        return register

    def openapi(self, *, title: str, version: str) -> dict[str, Any]:
        models: set[type[BaseModel]] = set()
        for r in self.routes:
            if r.body:
                models.add(r.body)
            if r.multipart:
                models.add(r.multipart)
            model = _model_of(r.response)
            if model:
                models.add(model)
        ordered = sorted(models, key=lambda m: m.__name__)
        keys, defs = models_json_schema([(m, "validation") for m in ordered],
                                        ref_template="#/components/schemas/{model}")
        schemas = defs.get("$defs", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        refs = {m: keys[(m, "validation")] for m in ordered}
        paths: dict[str, dict] = {}
        for r in self.routes:
            oa_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.path)
            op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag], "operationId": r.handler.__name__,
                                  "responses": {}}
            params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                      for n in re.findall(r"\{(\w+)\}", oa_path)]
            params += [{"name": n, "in": "query", "required": False, "description": d,
                        "schema": QUERY_SCHEMAS.get(n, {"type": "string"})} for n, d in r.query.items()]
            params += [{"in": "header", "required": False, **HEADER_SCHEMAS[n]} for n in r.headers]
            if params:
                op["parameters"] = params
            if r.body:
                op["requestBody"] = {"required": True,
                                     "content": {"application/json": {"schema": refs[r.body]}}}
            if r.multipart:
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": refs[r.multipart]},
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["data"],
                        "properties": {"data": {"type": "string", "description": "the JSON body as a string"}},
                        "additionalProperties": {"type": "string", "format": "binary",
                                                 "description": "one part per file field, named by its key"}}}}}
            # a token is optional on the others: staff may ask them for more (drafts, archived services)
            op["security"] = [{"bearer": []}] if r.auth else [{}, {"bearer": []}]
            if r.access:
                op["x-access"] = str(r.access)
            ok: dict[str, Any] = {"description": "OK"}
            model = _model_of(r.response)
            if model:
                schema = refs[model]
                if getattr(r.response, "__origin__", None) is list:
                    schema = {"type": "array", "items": schema}
                elif getattr(r.response, "page", False):
                    schema = {"type": "object", "properties": {
                        "items": {"type": "array", "items": refs[model]},
                        "next_cursor": {"type": ["string", "null"]}}}
                ok["content"] = {"application/json": {"schema": schema}}
            op["responses"][str(r.status)] = ok
            for code in sorted(_problem_codes(r, has_path_params="{" in oa_path)):
                op["responses"][str(code)] = {"description": PROBLEMS[code], "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            op["responses"]["429"]["headers"] = {"Retry-After": {
                "required": True, "description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}}
            paths.setdefault(oa_path, {})[r.method.lower()] = op
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        }


def _refusing_nul(handler: Callable) -> Callable:
    """The handler, behind a 422 for a NUL in any path or query parameter (as ``parse`` refuses one in a body):
    ids and cursors go on to database queries, which fail on it."""

    @functools.wraps(handler)
    def checked(ctx, *args):
        refuse_nul(ctx.params, loc=("path",))
        refuse_nul({name: "".join(values) for name, values in ctx.request.args.lists()}, loc=("query",))
        return handler(ctx, *args)

    return checked


def _problem_codes(r: Route, *, has_path_params: bool) -> set[int]:
    """Every problem status the route can answer, besides those it declares in ``errors``."""
    codes = set(r.errors) | {401, 429, 503}  # 401: any request may carry a bad token; 503: every route asks a service
    if r.body or r.multipart:
        codes |= {400, 413, 422}
    if r.multipart:
        codes.add(415)
    if r.query or has_path_params:
        codes.add(422)  # a query value out of range; a NUL anywhere
    if has_path_params:
        codes.add(404)
    return codes


PROBLEMS = {
    400: "The body is not JSON (or not the multipart shape asked for)",
    401: "No token where one is needed, or the token sent is invalid or expired",
    403: "The caller's role does not admit the call in this region",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state",
    413: "The body or a file is too large",
    415: "A file's type is not accepted",
    422: "A field of the body or query is invalid",
    429: "Rate limited: see Retry-After",
    503: "A service the call needs is not answering",
}

QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
}
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")  # visible ASCII
HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {"name": "Idempotency-Key", "description": "Sent again with a retry, the answer is what the "
                        "first request made (nothing is done twice); 1-255 visible ASCII characters",
                        "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"}},
}


class PageOf:
    """Marks a response as the list page shape ``{items: [...], next_cursor}``."""

    page = True

    def __init__(self, model: type[BaseModel]):
        self.model = model


def _model_of(response: Any) -> type[BaseModel] | None:
    if response is None:
        return None
    if isinstance(response, PageOf):
        return response.model
    if getattr(response, "__origin__", None) is list:
        return response.__args__[0]
    return response


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "loc": {"type": "array", "items": {"type": ["string", "integer"]}}, "msg": {"type": "string"}}}},
    },
}
