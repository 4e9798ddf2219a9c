"""Use cases of the catalog service: each takes its dependencies as parameters and runs one unit of work."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from mppi.contracts import catalog as c
from mppi.contracts.errors import NotFound, ServiceExists, ValidationFailed, field_error
from mppi.contracts.events import ServiceArchived, ServicePublished
from mppi.runtime.database import UnitOfWork, id_for_request
from services.catalog import repository as repo
from services.catalog.domain.service import Service, new_service, summary
from services.catalog.templates import load_templates, template_summary

UowFactory = Callable[[], UnitOfWork]


def list_templates() -> list[dict[str, Any]]:
    return [template_summary(t) for t in load_templates().values()]


def get_template(code: str) -> dict[str, Any]:
    template = load_templates().get(code)
    if template is None:
        raise NotFound(f"template {code} not found")
    return template.model_dump(mode="json", exclude_none=True)


def create_service(tenant: str, cmd: c.AdoptOrCreate, *, request_key: str, uow: UowFactory) -> dict[str, Any]:
    """Adopt a template or create from a definition, as a draft; the same ``request_key`` again (a redelivery, a
    retry) answers with the service it made."""
    service_id = id_for_request(tenant, "service", request_key)
    with uow() as u:
        made = repo.get(u, tenant, service_id)
        if made is not None:
            return made.view(made.latest)
    if (cmd.template_code is None) == (cmd.definition is None):
        raise ValidationFailed("send either template_code (to adopt) or definition (to create)",
                               [field_error(["body", "template_code"], "template_code or definition is required")])
    if cmd.template_code:
        definition = get_template(cmd.template_code)
        if cmd.code:
            definition["code"] = cmd.code
    else:
        definition = copy.deepcopy(cmd.definition)
        if cmd.code:
            definition["code"] = cmd.code
    loc = ("body",) if cmd.template_code else ("body", "definition")
    service = new_service(tenant=tenant, service_id=service_id, definition=definition,
                          template_code=cmd.template_code, loc=loc)
    with uow() as u:
        if repo.code_taken(u, tenant, service.code):
            raise ServiceExists(f"the region already has a service with code {service.code}")
        try:
            repo.add(u, service)
            u.commit()
        except IntegrityError:
            raise ServiceExists(f"the region already has a service with code {service.code}") from None
    return service.view(service.latest)


def _require(u: UnitOfWork, tenant: str, service_id: str, *, for_update: bool = False) -> Service:
    service = repo.get(u, tenant, service_id, for_update=for_update)
    if service is None:
        raise NotFound("service not found")
    return service


def _emit(u: UnitOfWork, service: Service) -> None:
    for kind, version in service.events:
        if kind == "published":
            u.emit(ServicePublished(tenant=service.tenant, service=service.view(version)))
        else:
            u.emit(ServiceArchived(tenant=service.tenant, service_id=service.id, code=service.code))
    service.events.clear()


def update_service(tenant: str, service_id: str, patch: dict[str, Any], *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        service = _require(u, tenant, service_id, for_update=True)
        service.edit(patch)
        repo.save(u, service)
        u.commit()
    return service.view(service.latest)


def publish_service(tenant: str, service_id: str, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        service = _require(u, tenant, service_id, for_update=True)
        if service.publish():
            repo.save(u, service)
            _emit(u, service)
            u.commit()
    return service.view(service.published)


def archive_service(tenant: str, service_id: str, *, uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        service = _require(u, tenant, service_id, for_update=True)
        if service.archive():
            repo.save(u, service)
            _emit(u, service)
            u.commit()
    return service.view(service.published or service.latest)


def get_service(tenant: str, service_id: str, *, version: str | int = "published",
                uow: UowFactory) -> dict[str, Any]:
    """``published`` (what citizens see), ``draft`` (the latest version, whatever its state) or a number."""
    with uow() as u:
        service = _require(u, tenant, service_id)
        if version == "published":
            if service.published is None:
                raise NotFound("service not published")
            return service.view(service.published)
        if version == "draft":
            return service.view(service.latest)
        found = repo.get_version(u, tenant, service_id, int(version))
        if found is None:
            raise NotFound(f"version {version} not found")
        return service.view(found)


def list_services(tenant: str, *, status: str | None, limit: int, cursor: str | None,
                  uow: UowFactory) -> dict[str, Any]:
    with uow() as u:
        services = repo.list_for_tenant(u, tenant, status=status, limit=limit + 1, after=cursor)
    items = [summary(s.view(s.latest if s.status == "draft" else (s.published or s.latest))) for s in services]
    return {"items": items[:limit], "next_cursor": items[limit - 1]["id"] if len(items) > limit else None}


def published_page(*, after: list[str] | None, limit: int, full: bool, uow: UowFactory) -> dict[str, Any]:
    """One page of every tenant's published services: summaries for the gateway, full for applications."""
    with uow() as u:
        rows = repo.published_page(u, after=tuple(after) if after else None, limit=limit)
    items = [s.view(v) if full else summary(s.view(v)) for s, v in rows]
    last = [rows[-1][0].tenant, rows[-1][0].id] if len(rows) == limit else None
    return {"items": items, "next_cursor": last}
