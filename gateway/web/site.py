"""Every web page of the gateway: importing this module registers them all (see ``core`` for the frame)."""
from gateway.routes import api
from gateway.web import account, admin, apply, platform, public, staff  # noqa: F401 - each registers its pages
from gateway.web.core import Page, index_api, pages, serve

index_api(api.routes)

__all__ = ["Page", "pages", "serve"]
