"""The staff console under ``/console``: server-rendered pages (Jinja2 through sanic-ext's
templating) with htmx, calling the same domain service functions as the API.

Templates and static assets sit beside this package; third-party browser assets (htmx, Swagger
UI for ``/docs``) come from the npm registry through ``package-lock.json`` (``make`` runs
``npm ci``) and are served from ``node_modules`` by :mod:`handlers.console.assets`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sanic import Blueprint, Sanic

from backend.clock import CHINA_TZ

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def configure(app: Sanic) -> None:
    """Before ``Extend(app)``: where the templating extension finds the console's templates."""
    app.config.TEMPLATING_PATH_TO_TEMPLATES = str(TEMPLATES)
    app.config.TEMPLATING_ENABLE_ASYNC = True


def local_time(iso: str | None) -> str:
    """An ISO timestamp from a view, as Beijing time for the page: ``2026-12-01 08:28``."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        return f"{moment:%Y-%m-%d %H:%M}"
    return f"{moment.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}"


def install_filters(app: Sanic) -> None:
    """After ``Extend(app)``: the template filters the console's pages use."""
    app.ext.environment.filters["local_time"] = local_time


def blueprints() -> list[Blueprint]:
    from handlers.console import (
        admin,
        assets,
        auth,
        finance,
        frontdesk,
        review,
        station,
        supervisor,
    )

    # Imported for their pages, which they add to ``station.bp`` (one blueprint, by concern).
    from handlers.console.station import chronic, claims, desk, enrollment  # noqa: F401

    return [
        assets.bp,
        auth.bp,
        frontdesk.bp,
        review.bp,
        station.bp,
        supervisor.bp,
        finance.bp,
        admin.bp,
    ]
