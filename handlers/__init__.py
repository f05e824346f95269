"""Sanic blueprints only: parse, authorise, call one service function, serialise."""

from __future__ import annotations

from sanic import Blueprint, Sanic

from handlers import health


def register_blueprints(app: Sanic) -> None:
    app.blueprint(health.bp)
    api = Blueprint.group(url_prefix="/api/v1")
    app.blueprint(api)
