"""Outages of the database or Redis: recognised, answered 503, logged once per outage.

A request that fails because a server it needs is unreachable gets
``503 SERVICE_UNAVAILABLE`` with ``Retry-After`` (see ``handlers.errors``), not a 500 with a
traceback. The log says when an outage starts and when it ends, once each per process, not
once per request.
"""

from __future__ import annotations

import logging
import time

import asyncpg
from redis import exceptions as redis_errors
from tortoise.exceptions import DBConnectionError

log = logging.getLogger("yibao.outage")

REDIS = "redis"
DATABASE = "database"
RETRY_AFTER_S = 5

_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # connection lost, refused by the server
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crashed
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    DBConnectionError,
    ConnectionError,  # refused or reset while connecting
    TimeoutError,
)


def unavailable_dependency(exc: BaseException) -> str | None:
    """Which server being unreachable caused ``exc`` (its causes included), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, redis_errors.ConnectionError | redis_errors.TimeoutError):
            return REDIS
        if isinstance(current, _DATABASE_ERRORS):
            return DATABASE
        current = current.__cause__ or current.__context__
    return None


class Outages:
    """Per process: which servers are down since when; logs each transition once."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}

    def failed(self, dependency: str, exc: BaseException) -> None:
        if dependency not in self._since:
            self._since[dependency] = time.monotonic()
            log.error(
                "%s unreachable (%s: %s): answering 503 until it is back",
                dependency,
                type(exc).__name__,
                str(exc)[:200],
            )

    def recovered(self, dependency: str) -> None:
        since = self._since.pop(dependency, None)
        if since is not None:
            log.warning("%s reachable again after %.1f s", dependency, time.monotonic() - since)

    def is_down(self, dependency: str) -> bool:
        return dependency in self._since


OUTAGES = Outages()
