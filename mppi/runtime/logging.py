"""JSON logs on stdout, each line carrying the correlation id of the request, RPC or event it serves."""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import uuid

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        cid = correlation_id.get()
        if cid:
            entry["correlation_id"] = cid
        extra = getattr(record, "fields", None)
        if extra:
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # nameko and kombu are chatty at INFO about every connection; keep their warnings
    for name in ("nameko", "kombu", "amqp", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # nameko logs every expected (4xx) error with a traceback; Observability logs the unexpected ones itself
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)
