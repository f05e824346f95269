"""``/docs``: the OpenAPI document and Swagger UI, served by the application itself.

The Swagger UI files come from the ``swagger-ui-dist`` npm package, pinned by
``package-lock.json``, installed by ``make`` into ``node_modules/`` and served with the
console's vendor assets (``handlers.console.assets``); nothing is loaded from the internet.
Served in development; in production only with ``YIBAO_DOCS_ENABLED=true``
(otherwise every ``/docs`` address is a 404).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, file, json

from backend.errors import NotFound
from handlers.api_document import build_document
from handlers.contract import html_page
from handlers.request import container

bp = Blueprint("docs", url_prefix="/docs")

HERE = Path(__file__).parent
# The Swagger UI files themselves are the console's vendor assets (/assets/vendor/...).


def _served(request: Request) -> None:
    if not container(request).settings.docs_served:
        raise NotFound("请求的地址不存在")


@functools.cache
def document_for(app: Sanic) -> dict[str, Any]:
    """The document is built once per application (the routes do not change after start)."""
    return build_document(app)


@bp.get("/openapi.json")
@html_page
async def openapi_json(request: Request) -> HTTPResponse:
    _served(request)
    return json(document_for(request.app))


@bp.get("")
@html_page
async def index(request: Request) -> HTTPResponse:
    _served(request)
    return await file(HERE / "docs_assets" / "index.html")  # CSP: handlers.headers


@bp.get("/init.js")
@html_page
async def init_script(request: Request) -> HTTPResponse:
    _served(request)
    return await file(
        HERE / "docs_assets" / "init.js",
        mime_type="text/javascript; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )
