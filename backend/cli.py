"""The ``yibao`` command: serve, migrate, seed-demo, audit verify."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from config.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from backend.app import create_app
    from backend.container import build_container

    settings = Settings()
    build_container(settings)  # fail fast on bad keys or policy files, before forking workers
    loader = AppLoader(factory=create_app)
    app = loader.load()
    workers = args.workers or settings.workers
    app.prepare(
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        single_process=workers == 1 and args.single_process,
        access_log=args.access_log,
        motd=False,
    )
    Sanic.serve(primary=app, app_loader=loader)
    return 0


def _run(coro_factory: Callable[[Settings], Awaitable[int]]) -> int:
    return asyncio.run(coro_factory(Settings()))


async def _migrate(settings: Settings) -> int:
    from backend import db

    await db.migrate(settings.resolved_database_url)
    print(f"数据库迁移完成：{settings.resolved_database_url.split('@')[-1]}")
    return 0


async def _seed_demo(settings: Settings) -> int:
    from backend import db
    from backend.container import build_container
    from backend.demo import seed_demo

    container = build_container(settings)
    await db.init_db(settings.resolved_database_url)
    try:
        report = await seed_demo(container)
    finally:
        await container.kv.close()
        await db.close_db()
    print(report)
    return 0


async def _audit_verify(settings: Settings) -> int:
    from backend import db
    from backend.audit.service import verify_chain
    from backend.container import build_container

    container = build_container(settings)
    await db.init_db(settings.resolved_database_url)
    try:
        result = await verify_chain(container)
    finally:
        await container.kv.close()
        await db.close_db()
    print(result.describe())
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yibao", description="医保掌上办后端")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the web service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="web worker processes (production: several)")
    serve.add_argument("--single-process", action="store_true", help="no worker manager")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(
        func=lambda a: _run(_migrate)
    )
    sub.add_parser("seed-demo", help="load demo data (idempotent)").set_defaults(
        func=lambda a: _run(_seed_demo)
    )
    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="verify the hash chain").set_defaults(
        func=lambda a: _run(_audit_verify)
    )

    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
