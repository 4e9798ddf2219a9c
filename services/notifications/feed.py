"""The public feed: platform events as CloudEvents 1.0 (structured JSON) for regional systems, without personal
data. Routing key ``<tenant>.<event-type>`` on the durable topic exchange ``mppi.public``."""
from __future__ import annotations

from typing import Any

EXCHANGE = "mppi.public"
CONTENT_TYPE = "application/cloudevents+json"
FEED_TYPES = {
    "application_submitted": "application.submitted",
    "application_status_changed": "application.status_changed",
    "application_completed": "application.completed",
    "application_sla_breached": "application.sla_breached",
    "service_published": "service.published",
}
APPLICATION_FIELDS = ("application_id", "tracking_number", "service_id", "service_code", "status", "step")


def cloud_event(event_type: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(routing key, CloudEvent) for an internal event payload; the id is the event's own, stable on redelivery."""
    feed_type = FEED_TYPES[event_type]
    tenant = payload["tenant"]
    if event_type == "service_published":
        s = payload["service"]
        data = {"service_id": s["id"], "service_code": s["code"], "version": s["version"], "category": s["category"]}
        subject = s["id"]
    else:
        data = {k: payload["data"].get(k) for k in APPLICATION_FIELDS}
        subject = data["application_id"]
    event = {"specversion": "1.0", "id": payload["event_id"], "source": f"/tenants/{tenant}",
             "type": f"id.mppi.{feed_type}.v1", "time": payload["occurred_at"], "subject": subject,
             "datacontenttype": "application/json", "data": data}
    return f"{tenant}.{feed_type}", event
