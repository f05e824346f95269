"""Background jobs for ``yibao worker``: a SAQ queue on Redis with the case sweeper as a cron
job. Any number of workers may run: SAQ enqueues a cron job once per tick (unique jobs), and
the sweeper itself is safe to run concurrently.

``settings`` is the SAQ settings dict (``saq backend.jobs.settings`` works too).
"""

from __future__ import annotations

from typing import Any

from saq import CronJob, Queue

from config.settings import Settings

QUEUE_NAME = "yibao"


async def sweep_cases(ctx: dict[str, Any]) -> dict[str, Any]:
    from backend.cases.sweeper import sweep

    report = await sweep(ctx["container"])
    return vars(report)


async def expire_payment_orders(ctx: dict[str, Any]) -> dict[str, Any]:
    """Close expired unpaid premium orders (querying the gateway first) and resubmit refunds."""
    from backend.payments.service import expire_orders

    return {"closed": await expire_orders(ctx["container"])}


async def startup(ctx: dict[str, Any]) -> None:
    from backend import db
    from backend.cases.service import check_definitions
    from backend.container import build_container

    settings = Settings()
    container = build_container(settings)
    check_definitions(container.policies)
    await db.init_db(settings.resolved_database_url)
    ctx["container"] = container


async def shutdown(ctx: dict[str, Any]) -> None:
    from backend import db

    container = ctx.get("container")
    if container is not None:
        await container.kv.close()
    await db.close_db()


def build_settings(redis_url: str) -> dict[str, Any]:
    return {
        "queue": Queue.from_url(redis_url, name=QUEUE_NAME),
        "functions": [sweep_cases, expire_payment_orders],
        # Every minute; a pass that is still running holds the sweeper lock, so ticks never pile up.
        "cron_jobs": [
            CronJob(sweep_cases, cron="* * * * *", timeout=300),
            CronJob(expire_payment_orders, cron="* * * * *", timeout=300),
        ],
        "startup": startup,
        "shutdown": shutdown,
        "concurrency": 4,
    }


def _settings_from_env() -> dict[str, Any]:
    url = Settings().redis_url
    if not url:
        # Importing this module must not fail without Redis: the CLI reports it clearly.
        return {}
    return build_settings(url)


settings = _settings_from_env()
