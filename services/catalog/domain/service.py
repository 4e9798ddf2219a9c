"""A region's service and its versions: edits go to a draft, publishing freezes it, archiving takes it off the list.

A published version never changes: editing a service whose latest version is published starts version N+1 as a
draft; applications keep the version they were made against.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from mppi.contracts.errors import ValidationFailed, field_error
from services.catalog.domain.definition import validate_definition


@dataclass
class Version:
    number: int
    state: str  # draft | published | superseded
    definition: dict[str, Any]
    new: bool = False
    dirty: bool = False


@dataclass
class Service:
    tenant: str
    id: str
    code: str
    status: str  # draft | published | archived
    template_code: str | None = None
    latest: Version | None = None  # the newest version
    published: Version | None = None  # the version citizens see (may be the latest)
    events: list[tuple[str, Version | None]] = field(default_factory=list)

    @property
    def category(self) -> str:
        return self.latest.definition["category"]

    def edit(self, patch: dict[str, Any]) -> None:
        base = self.latest.definition
        merged = merge_patch(copy.deepcopy(base), patch)
        if merged.get("code", self.code) != self.code:
            raise ValidationFailed("the code of a service cannot change", [field_error(["body", "code"], "read-only")])
        defn = validate_definition(merged).model_dump(mode="json", exclude_none=True)
        if self.latest.state == "draft":
            self.latest.definition = defn
            self.latest.dirty = True
        else:
            self.latest = Version(number=self.latest.number + 1, state="draft", definition=defn, new=True)

    def publish(self) -> bool:
        """Publish the draft; False when there is nothing new to publish (the latest version is published)."""
        if self.latest.state != "draft":
            if self.status == "archived":
                self.status = "published"
                self.events.append(("published", self.published))
                return True
            return False
        if self.published is not None:
            self.published.state = "superseded"
            self.published.dirty = True
        self.latest.state = "published"
        self.latest.dirty = True
        self.published = self.latest
        self.status = "published"
        self.events.append(("published", self.published))
        return True

    def archive(self) -> bool:
        if self.status == "archived":
            return False
        self.status = "archived"
        self.events.append(("archived", None))
        return True

    def view(self, version: Version) -> dict[str, Any]:
        d = version.definition
        if version.state == "draft":
            status = "draft"
        else:
            status = "archived" if self.status == "archived" else "published"
        return {"id": self.id, "tenant": self.tenant, "code": self.code, "name": d["name"],
                "category": d["category"], "agency": d.get("agency"), "description": d["description"],
                "status": status, "version": version.number, "mode": d.get("mode", "online"),
                "keywords": d.get("keywords", []), "standard": d["standard"], "form": d["form"],
                "workflow": d["workflow"]}


def new_service(*, tenant: str, service_id: str, definition: dict[str, Any], template_code: str | None,
                loc: tuple = ("body",)) -> Service:
    defn = validate_definition(definition, loc).model_dump(mode="json", exclude_none=True)
    return Service(tenant=tenant, id=service_id, code=defn["code"], status="draft", template_code=template_code,
                   latest=Version(number=1, state="draft", definition=defn, new=True))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge recursively, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def summary(view: dict[str, Any]) -> dict[str, Any]:
    """What lists and search need of a service: small enough to keep every region's in a gateway's memory."""
    return {k: view[k] for k in ("id", "tenant", "code", "name", "category", "agency", "description", "status",
                                 "version", "mode", "keywords")}
