"""Database configuration: one Tortoise app, ``models``, with its migrations in
``backend/migrations``. SQLite by default, PostgreSQL (asyncpg) in production."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as run_migrations

from config.settings import Settings

MODEL_MODULES = [
    "backend.identity.models",
    "backend.stations.models",
    "backend.family.models",
    "backend.audit.models",
    "backend.idempotency.models",
    "backend.terminals.models",
    "backend.enrollment.models",
    "backend.payments.models",
    "backend.cases.models",
    "backend.vouchers.models",
    "backend.filings.models",
    "backend.chronic.models",
    "backend.claims.models",
    "backend.outbox.models",
]


def _connection(url: str) -> str | dict[str, Any]:
    """PostgreSQL through asyncpg gets the app's engine (``backend.infra.pg``: a cheaper
    connection reset on pool release); every other URL is Tortoise's own."""
    config = expand_db_url(url)
    if config["engine"] != "tortoise.backends.asyncpg":
        return url
    return {**config, "engine": "backend.infra.pg"}


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "backend.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _config_for_cli() -> dict[str, Any]:
    return tortoise_config(Settings().resolved_database_url)


# Read by the `tortoise` CLI ([tool.tortoise] in pyproject.toml) for makemigrations.
TORTOISE_ORM = _config_for_cli()


async def init_db(url: str) -> None:
    # Global fallback: Sanic runs listeners and requests in different tasks, and Tortoise 1.x
    # keeps its context in a contextvar unless told to share it process-wide.
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(url: str) -> None:
    """Apply every migration not yet applied; safe to run again."""
    if url.startswith("sqlite://"):
        from pathlib import Path

        path = url.removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        await run_migrations(config=tortoise_config(url))
    finally:
        # aiosqlite's worker thread would keep a failed run's process alive otherwise
        await Tortoise.close_connections()
