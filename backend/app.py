"""The Sanic application factory.

``create_app(container)`` is used by tests, which own the container and the database.
``create_app()`` bootstraps everything from settings in each worker process and closes it on
stop.
"""

from __future__ import annotations

import functools
import json
import uuid

from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic_ext import Extend

from backend import db
from backend.bootstrap import bootstrap
from backend.container import Container
from backend.jobs import InProcessScheduler
from backend.logging import configure_logging, install_redaction
from config.settings import Settings
from handlers import console, register_blueprints
from handlers.errors import register_error_handlers, reject_ids_out_of_range
from handlers.headers import add_security_headers

REQUEST_ID_HEADER = "X-Request-ID"


def create_app(container: Container | None = None, *, name: str = "yibao") -> Sanic:
    # Chinese stays readable in responses (valid JSON either way)
    app = Sanic(
        name, dumps=functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
    )
    app.config.REQUEST_MAX_SIZE = 12 * 1024 * 1024  # invoice photos; checked per route too
    app.config.FALLBACK_ERROR_FORMAT = "json"
    # The OpenAPI document is built by handlers.api_document and served with self-hosted
    # assets by handlers.docs; sanic-ext's own (CDN-loaded) UI is off.
    app.config.OAS = False
    app.config.CORS = False
    console.configure(app)
    Extend(app)
    console.install_filters(app)
    install_redaction()

    owns_container = container is None
    if owns_container:  # a served process, not a test: timestamped (or JSON) log lines
        configure_logging(Settings().log_format)

    @app.before_server_start
    async def open_resources(app: Sanic) -> None:
        if owns_container:
            c = bootstrap(Settings())
            await db.init_db(c.settings.resolved_database_url)
            await c.start()
            app.ctx.container = c
            if not c.settings.redis_url:
                # Embedded default: periodic jobs run here; with Redis, `yibao worker` runs them.
                app.ctx.scheduler = InProcessScheduler(c)
                app.ctx.scheduler.start()
        else:
            app.ctx.container = container

    @app.after_server_stop
    async def close_resources(app: Sanic) -> None:
        if owns_container:
            scheduler = getattr(app.ctx, "scheduler", None)
            if scheduler is not None:
                await scheduler.stop()
            await app.ctx.container.stop()
            await db.close_db()

    @app.on_request
    async def assign_request_id(request: Request) -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        # Keep a caller's id only when it is short and plain, so logs cannot be forged.
        valid = 0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()
        request.ctx.request_id = incoming if valid else uuid.uuid4().hex

    @app.on_request
    async def ids_in_range(request: Request) -> None:
        # Ids are database keys: one out of range cannot exist (and would overflow the query).
        reject_ids_out_of_range(request)

    @app.on_response
    async def add_request_id(request: Request, response: HTTPResponse) -> None:
        request_id = getattr(request.ctx, "request_id", None) or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        add_security_headers(request.path, response)

    register_error_handlers(app)
    settings = container.settings if container is not None else Settings()
    register_blueprints(app, production=settings.production)
    return app
