"""Test stacks: every test that takes ``c`` (the container) or ``client`` runs on SQLite with
the in-process store and, when the servers are there, again on PostgreSQL with Redis.

With CI=true the PostgreSQL + Redis stack is required: if the servers are missing, those tests
fail instead of being skipped.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sanic import Sanic
from sanic_testing.testing import SanicASGITestClient, TestingResponse
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.contrib.test import _topological_sort_models

from backend import db
from backend.app import create_app
from backend.bootstrap import bootstrap
from backend.clock import FixedClock
from backend.container import Container
from backend.identity.idp import LocalIdentityProvider
from backend.infra.kv import MemoryStore, RedisStore
from config.settings import Settings
from tests.case_helpers import FRIDAY, Api, People, make_people
from tests.pii_guard import assert_masked
from tests.servers import RedisServer, redis_available
from tests.workflow_definitions import TEST_DEFINITIONS
from workflows.definitions import BUILTIN
from workflows.registry import Registry

CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("YIBAO_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("YIBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

Sanic.test_mode = True


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _servers_up() -> bool:
    return _reachable(PG_URL, 5432) and _reachable(REDIS_URL, 6379)


def require(available: bool, what: str) -> None:
    """Skip a test whose system package is missing here; with CI=true, fail instead, since
    `make test` installs it (make system-deps) and a skip would hide the test."""
    if available:
        return
    if CI:
        pytest.fail(f"{what} is missing; CI=true requires it (make system-deps installs it)")
    pytest.skip(f"{what} is missing")


BACKENDS = ["sqlite", "postgres"] if (CI or _servers_up()) else ["sqlite"]


class Stack:
    """One database + key-value store, with the container and app built on them."""

    def __init__(self, name: str, container: Container, app: Sanic) -> None:
        self.name = name
        self.container = container
        self.app = app

    @property
    def clock(self) -> FixedClock:
        return self.container.clock  # type: ignore[return-value]

    @property
    def idp(self) -> LocalIdentityProvider:
        return self.container.identity_provider  # type: ignore[return-value]


def _pg_test_url() -> str:
    parsed = urlparse(PG_URL)
    return parsed._replace(path=f"/yibao_test_{os.getpid()}_{uuid.uuid4().hex[:6]}").geturl()


@pytest.fixture(scope="session", params=BACKENDS)
async def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    name = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"data-{name}")
    clock = FixedClock(datetime.now(UTC))  # the in-process store expires keys by it too
    if name == "postgres":
        if not _servers_up():
            pytest.fail(
                f"PostgreSQL ({PG_URL}) or Redis ({REDIS_URL}) is not reachable; "
                "CI=true requires both (start them as .ci/run does)"
            )
        url = _pg_test_url()
        kv = RedisStore(REDIS_URL, prefix=f"yibao-test-{uuid.uuid4().hex[:8]}:")
    else:
        url = f"sqlite://{data_dir / 'test.sqlite3'}"
        kv = MemoryStore(clock)
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=url)
    container = bootstrap(
        settings,
        clock=clock,
        kv=kv,
        identity_provider=LocalIdentityProvider(),
    )
    # Tortoise caches INSERT statements per (connection name, table): both stacks use
    # "default", so without this the PostgreSQL stack would reuse SQLite's SQL. Tortoise has
    # no public way to forget them (a library internal, the only one in reach).
    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=db.tortoise_config(url), _create_db=True)
    await Tortoise.generate_schemas(safe=False)
    app = create_app(container, name=f"yibao-test-{name}")
    await container.cache.start()
    try:
        yield Stack(name, container, app)
    finally:
        await container.cache.stop()
        if name == "postgres":  # the run's own database goes
            database = Tortoise.get_connection("default")
            await database.close()  # DROP DATABASE refuses while the pool is connected
            await database.db_delete()
            await kv.flush_prefix()  # type: ignore[attr-defined]
        await Tortoise.close_connections()
        await kv.close()


async def _empty_all_tables() -> None:
    """DELETE in foreign-key order, in one round trip: on tables this small it is far faster
    than TRUNCATE, which rewrites and syncs every table's files."""
    # Tortoise's public truncate_all_models TRUNCATEs on PostgreSQL (the slow way, above);
    # the foreign-key order it deletes in on other databases has no public name.
    models = _topological_sort_models(list(Tortoise.apps.get_models_iterable()))
    conn = models[0]._meta.db
    statements = [f'DELETE FROM "{m._meta.db_table}"' for m in models]
    if conn.capabilities.dialect == "sqlite":
        # ON DELETE RESTRICT on a self-reference (station.parent) fires row by row in SQLite,
        # whatever the statement order: switch enforcement off for the wipe only.
        statements = ["PRAGMA foreign_keys = OFF", *statements, "PRAGMA foreign_keys = ON"]
    await conn.execute_script(";".join(statements))


@pytest.fixture
async def c(stack: Stack) -> AsyncIterator[Container]:
    """The container of the current stack, with a fresh clock, empty tables and an empty store."""
    stack.clock.set(datetime.now(UTC))
    yield stack.container
    await _empty_all_tables()
    stack.container.cache.clear()
    kv = stack.container.kv
    if isinstance(kv, RedisStore):
        await kv.flush_prefix()
    else:
        await kv.close()


@pytest.fixture
def clock(stack: Stack, c: Container) -> FixedClock:
    return stack.clock


@pytest.fixture
def with_test_definitions(c: Container, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """The shipped workflow definitions and the tests' own (tests/workflow_definitions.py) as
    the registry of this test's container; a test may register more on it."""
    registry = Registry((*BUILTIN, *TEST_DEFINITIONS))
    monkeypatch.setattr(c, "definitions", registry)
    return registry


@pytest.fixture
async def ppl(c: Container, clock: FixedClock) -> People:
    """The staff and citizens of the API tests, on a Friday before the National Day holidays
    (a test module adds to them by asking for ``ppl`` in its own ``ppl`` fixture)."""
    clock.set(FRIDAY)
    return await make_people(c)


@pytest.fixture
def api(client: StartedASGIClient) -> Api:
    return Api(client)


class StartedASGIClient(SanicASGITestClient):
    """Sanic's ASGI test client, with the app started once per stack instead of once per
    request (the stock client re-finalises the router and re-runs the server listeners on
    every call, which made the suite spend most of its time starting the app)."""

    _started = False

    async def request(self, method, url, gather_request=True, *args, **kwargs):  # type: ignore[override]
        if not self._started:
            # Sanic starts an app only from its own server or per request in this client:
            # these internals are what both run, once here (no public "start" to call).
            self.sanic_app.router.reset()
            self.sanic_app.signal_router.reset()
            await self.sanic_app._startup()  # type: ignore[attr-defined]
            await self.sanic_app._server_event("init", "before")
            await self.sanic_app._server_event("init", "after")
            self._started = True
        if not url.startswith(("http:", "https:")):
            url = f"http://127.0.0.1:1234{url if url.startswith('/') else '/' + url}"
        response = await super(SanicASGITestClient, self).request(method, url, *args, **kwargs)
        response.__class__ = TestingResponse
        assert_masked(method, url, response.headers.get("content-type", ""), response.content)
        return None, response

    async def stop(self) -> None:
        if self._started:
            await self.sanic_app._server_event("shutdown", "before")
            await self.sanic_app._server_event("shutdown", "after")


@pytest.fixture(scope="session")
async def _clients() -> AsyncIterator[dict[str, StartedASGIClient]]:
    clients: dict[str, StartedASGIClient] = {}
    yield clients
    for started in clients.values():
        await started.stop()


@pytest.fixture
def client(stack: Stack, c: Container, _clients: dict[str, StartedASGIClient]):
    if stack.name not in _clients:
        _clients[stack.name] = StartedASGIClient(stack.app)
    return _clients[stack.name]


@pytest.fixture
def on_postgres(stack: Stack) -> None:
    """For concurrency claims: they are only meaningful on a server with real row locks."""
    if stack.name != "postgres":
        pytest.skip("concurrency tests run on PostgreSQL")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, which it may stop and restart (tests/servers.py)."""
    require(redis_available(), "redis-server")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
