"""The route registry of /api/v1: each route names the pydantic models that validate its request and describe its
answer, so the OpenAPI document is generated from the same models and can't drift from the code."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema


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
    multipart: type[BaseModel] | None = None  # the JSON part ("data") of a multipart body, also accepted as JSON

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


class Api:
    def __init__(self):
        self.routes: list[Route] = []

    def route(self, method: str, path: str, **kwargs) -> Callable:
        def register(fn: Callable) -> Callable:
            self.routes.append(Route(method=method, path=path, handler=fn, **kwargs))
            return fn

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
            params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
                       for n, d in r.query.items()]
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
            if r.auth:
                op["security"] = [{"bearer": []}]
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
            codes = set(r.errors) | ({401} if r.auth else set()) | ({422} if r.body else set()) | {429}
            for code in sorted(codes):
                op["responses"][str(code)] = {"description": "Problem", "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            paths.setdefault(oa_path, {})[r.method.lower()] = op
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
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
