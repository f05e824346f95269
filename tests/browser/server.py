"""A real yibao server for the browser tests: ``python -m tests.browser.server DATA_DIR``.

Migrates a fresh SQLite database in DATA_DIR, loads the demo data (``yibao seed-demo``), and
serves the application on 127.0.0.1 at a port the kernel picks (written to DATA_DIR/port).
The clock is the system clock plus an offset the test writes to DATA_DIR/clock-offset (seconds),
so idle timeouts and overdue escalation are tested without sleeping; ``POST /_test/sweep``
runs the time-limit sweeper now. Both exist only in this harness, never in the application.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from backend import db
from backend.app import create_app
from backend.bootstrap import bootstrap
from backend.cases.sweeper import sweep
from backend.container import Container
from backend.demo import seed_demo
from config.settings import Settings


class OffsetClock:
    def __init__(self, offset_file: Path) -> None:
        self.offset_file = offset_file

    def now(self) -> datetime:
        try:
            offset = float(self.offset_file.read_text() or 0)
        except FileNotFoundError:
            offset = 0.0
        return datetime.now(UTC) + timedelta(seconds=offset)


async def _prepare(settings: Settings) -> None:
    await db.migrate(settings.resolved_database_url)
    seeding = bootstrap(settings)
    await db.init_db(settings.resolved_database_url)
    try:
        await seed_demo(seeding)
    finally:
        await seeding.kv.close()
        await db.close_db()


def _harness(container: Container) -> Blueprint:
    bp = Blueprint("browser_test_harness")

    @bp.post("/_test/sweep")
    async def run_sweeper(request: Request) -> HTTPResponse:
        return json(vars(await sweep(container)))

    return bp


def build(data: Path) -> tuple[Sanic, Container]:
    settings = Settings(
        _env_file=None, data_dir=data, database_url=f"sqlite://{data / 'yibao.sqlite3'}"
    )
    asyncio.run(_prepare(settings))
    container = bootstrap(settings, clock=OffsetClock(data / "clock-offset"))
    app = create_app(container, name="yibao_browser_tests")
    app.blueprint(_harness(container))

    @app.before_server_start
    async def open_db(app: Sanic) -> None:
        await db.init_db(settings.resolved_database_url)
        await container.start()

    @app.after_server_stop
    async def close_db(app: Sanic) -> None:
        await container.stop()
        await db.close_db()

    return app, container


def main() -> None:
    data = Path(sys.argv[1])
    app, _ = build(data)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    (data / "port").write_text(str(sock.getsockname()[1]))
    app.run(sock=sock, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
