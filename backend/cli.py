"""The ``yibao`` command: serve, migrate, seed-demo, audit verify, terminal add/disable."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from backend.infra.keys import KeyConfigError
from backend.preflight import ConfigurationError
from config.policy import PolicyError
from config.settings import Settings

if TYPE_CHECKING:
    from typing import TypeAlias

    from backend.container import Container

    # What add_subparsers returns: the commands of one level, each added by a function below
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _serve(args: argparse.Namespace) -> int:
    from backend import preflight
    from backend.bootstrap import bootstrap
    from backend.logging import configure_logging

    settings = Settings()
    preflight.check(settings)
    bootstrap(settings)  # fail fast on bad keys, policy files or definitions, before forking
    host, port = args.host or settings.host, args.port or settings.port
    workers = args.workers or settings.workers
    if workers > 1 and not settings.redis_url:
        # The in-process store is per process: revocations, rate limits and one-time codes
        # would not be shared between workers.
        print("多个 Web 进程需要 Redis：请设置 YIBAO_REDIS_URL", file=sys.stderr)
        return 2
    print(
        f"yibao 医保掌上办 http://{host}:{port}  API 文档 docs: http://{host}:{port}/docs",
        flush=True,
    )
    if args.single_process:  # development: one process, no supervisor
        from sanic import Sanic

        from backend.app import create_app

        app = create_app()
        app.prepare(
            host=host, port=port, single_process=True, access_log=args.access_log, motd=False
        )
        Sanic.serve_single(app)
        return 0
    from backend.supervisor import Supervisor, bind

    configure_logging(settings.log_format)
    return Supervisor(bind(host, port), workers, access_log=args.access_log).run()


def _run(coro_factory: Callable[[Settings], Coroutine[Any, Any, int]]) -> int:
    return asyncio.run(coro_factory(Settings()))


async def _migrate(settings: Settings) -> int:
    from backend import db

    await db.migrate(settings.resolved_database_url)
    print(f"数据库迁移完成：{settings.resolved_database_url.split('@')[-1]}")
    return 0


@contextlib.asynccontextmanager
async def _opened(settings: Settings, *, seal: bool = True) -> AsyncIterator[Container]:
    """The container and database for one command; what the command recorded in the audit
    log is sealed before it exits (no web or job worker may be running to do it)."""
    from backend import db
    from backend.audit.sealer import seal_all
    from backend.bootstrap import bootstrap

    container = bootstrap(settings)
    await db.init_db(settings.resolved_database_url)
    try:
        yield container
        if seal:
            await seal_all(container)
    finally:
        await container.kv.close()
        await db.close_db()


async def _seed_demo(settings: Settings) -> int:
    from backend.demo import DemoRefusedInProduction, seed_demo

    try:  # the bootstrap checked that the demo names only what the vocabulary knows
        async with _opened(settings) as container:
            report = await seed_demo(container)
    except DemoRefusedInProduction as exc:
        print(exc, file=sys.stderr)
        return 2
    print(report)
    return 0


async def _audit_verify(settings: Settings) -> int:
    from backend.audit.service import verify_chain

    async with _opened(settings, seal=False) as container:
        result = await verify_chain(container)
    print(result.describe())
    return 0 if result.ok and not result.tail_stale else 1


async def _terminal_add(settings: Settings, args: argparse.Namespace) -> int:
    from backend.errors import DomainError
    from backend.terminals.service import register_terminal

    async with _opened(settings) as container:
        try:
            issued = await register_terminal(
                container,
                institution_code=args.institution_code,
                institution_name=args.name,
                city_code=args.city,
            )
        except DomainError as exc:
            print(f"登记失败：{exc.message}", file=sys.stderr)
            return 2
    t = issued.identity
    print(f"终端已登记：{t.institution_name}（{t.institution_code}，城市 {t.city_code}）")
    print(f"key_id: {t.key_id}")
    print(f"secret: {issued.secret}")
    print("密钥只显示这一次，请立即交给终端安全保存；丢失后只能重新登记。")
    return 0


async def _terminal_disable(settings: Settings, args: argparse.Namespace) -> int:
    from backend.errors import DomainError
    from backend.terminals.service import deactivate_terminal

    async with _opened(settings) as container:
        try:
            await deactivate_terminal(container, args.key_id, reason=args.reason)
        except DomainError as exc:
            print(f"停用失败：{exc.message}", file=sys.stderr)
            return 2
    print(f"终端 {args.key_id} 已停用")
    return 0


async def _reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    from backend.errors import DomainError
    from backend.payments.reconcile import BillFormatError, reconcile

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"日期格式应为 YYYY-MM-DD：{args.date}", file=sys.stderr)
        return 2
    async with _opened(settings) as container:
        try:
            report = await reconcile(container, day)
        except (DomainError, BillFormatError) as exc:
            print(f"对账失败：{exc}", file=sys.stderr)
            return 2
    print(report.describe())
    return 0 if report.clean else 1


def _paysim(args: argparse.Namespace) -> int:
    from backend.payments.paysim_server import serve

    settings = Settings()
    if settings.production:
        print("生产环境不能运行支付模拟器", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, args.host, args.port))
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Run the SAQ worker (cron jobs and on-demand jobs) until SIGTERM or SIGINT."""
    settings = Settings()
    if not settings.redis_url:
        print(
            "yibao worker 需要 Redis：请设置 YIBAO_REDIS_URL（内嵌模式下超期巡检在 Web 进程内运行）"
        )
        return 2
    from backend import preflight
    from backend.logging import configure_logging
    from backend.worker import run_worker

    preflight.check(settings)
    configure_logging(settings.log_format)
    return run_worker(settings.redis_url)


def _ocr(args: argparse.Namespace) -> int:
    """Read invoice files (photos, scans, PDF/OFD e-invoices); the OCR library needs no
    settings, database or web. Several files share one process and one loaded engine."""
    import json
    from pathlib import Path

    from ocr.pipeline import read_any
    from ocr.preprocess import ImageError

    if args.jsonl or len(args.image) > 1:
        failed = 0
        for name in args.image:  # in input order, one line each; a bad file is a line too
            try:
                line = {"file": name, **read_any(Path(name).read_bytes(), args.engine).to_dict()}
            except (OSError, ImageError) as exc:
                failed += 1
                line = {"file": name, "error": {"code": "UNREADABLE", "message": f"{exc}"}}
            except Exception as exc:  # one bad file must not end the batch
                failed += 1
                line = {"file": name, "error": {"code": "READ_FAILED", "message": repr(exc)}}
            print(json.dumps(line, ensure_ascii=False), flush=True)
        return 1 if failed else 0
    try:
        reading = read_any(Path(args.image[0]).read_bytes(), args.engine)
    except (OSError, ImageError) as exc:
        print(f"无法读取图片：{exc}", file=sys.stderr)
        return 2
    if args.json:
        print(reading.to_json(with_lines=args.lines))
        return 0
    for key, f in reading.fields.items():
        if key == "items":
            for item in f.value:
                print(f"  {item['name']}\t{item['amount']}")
            continue
        print(f"{key}\t{f.value}\t{f.confidence:.2f}")
    for key, c in reading.checks.items():
        print(f"check {key}\t{c['ok']}\t{c['detail']}")
    return 0


def _voucher_keys(args: argparse.Namespace) -> int:
    """Show or rotate the e-voucher signing keys (ES256, JWKS at /.well-known/jwks.json)."""
    from datetime import UTC, datetime

    from backend.infra.keys import KeyConfigError
    from backend.vouchers.keys import keyring_for, retention_s, rotate

    settings = Settings()
    now = datetime.now(UTC)
    try:
        if args.voucher_keys_command == "rotate":
            kid = rotate(settings, now, activate_in_s=args.activate_in)
            print(f"新密钥 {kid} 已加入，{args.activate_in} 秒后开始签发")
            print("旧密钥停签后，在其签发的码全部过期前仍会发布")
        ring = keyring_for(settings)
    except KeyConfigError as exc:
        print(f"密钥配置有误：{exc}", file=sys.stderr)
        return 2
    keys = ring.keys
    published = {k.kid for k in keys.published(now, retention_s(settings))}
    try:
        signer: str | None = keys.signer(now).kid
    except KeyConfigError:
        signer = None
    print(f"密钥文件：{ring.path.name}{'（开发用）' if keys.development else ''}")
    for k in keys.keys:
        state = "签发中" if k.kid == signer else ("已发布" if k.kid in published else "未发布")
        if k.compromised:
            state = "已撤销"
        retired = k.retired_at.isoformat() if k.retired_at else "-"
        print(f"  {k.kid}	生效 {k.activates_at.isoformat()}	停签 {retired}	{state}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (PolicyError, KeyConfigError, ConfigurationError) as exc:
        # A mistyped policy file or a missing key: say which, without a traceback.
        print(f"配置错误 configuration error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yibao", description="医保掌上办后端")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_commands in (_processes, _terminals, _voucher_keys_commands, _payments, _ocr_command):
        add_commands(sub)
    return parser


def _processes(sub: Commands) -> None:
    """serve, migrate, seed-demo, worker and the audit tools."""
    serve = sub.add_parser("serve", help="start the web service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="web worker processes (production: several)")
    serve.add_argument(
        "--single-process", action="store_true", help="development: one process, no supervisor"
    )
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(
        func=lambda a: _run(_migrate)
    )
    sub.add_parser("seed-demo", help="load demo data (idempotent)").set_defaults(
        func=lambda a: _run(_seed_demo)
    )
    sub.add_parser("worker", help="run background jobs (SAQ on Redis)").set_defaults(func=_worker)
    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="verify the hash chain").set_defaults(
        func=lambda a: _run(_audit_verify)
    )


def _terminals(sub: Commands) -> None:
    """Registering and disabling pharmacy and hospital terminals."""
    terminal = sub.add_parser("terminal", help="pharmacy/hospital terminals (signed requests)")
    terminal_sub = terminal.add_subparsers(dest="terminal_command", required=True)
    t_add = terminal_sub.add_parser("add", help="register a terminal; prints its key id and secret")
    t_add.add_argument("--institution-code", required=True)
    t_add.add_argument("--name", required=True, help="institution name")
    t_add.add_argument("--city", required=True, help="6-digit city code")
    t_add.set_defaults(func=lambda a: asyncio.run(_terminal_add(Settings(), a)))
    t_disable = terminal_sub.add_parser("disable", help="stop accepting a terminal's signatures")
    t_disable.add_argument("--key-id", required=True)
    t_disable.add_argument("--reason", default="")
    t_disable.set_defaults(func=lambda a: asyncio.run(_terminal_disable(Settings(), a)))


def _voucher_keys_commands(sub: Commands) -> None:
    """Showing and rotating the e-voucher signing keys."""
    vkeys = sub.add_parser("voucher-keys", help="e-voucher signing keys (ES256, JWKS)")
    vkeys_sub = vkeys.add_subparsers(dest="voucher_keys_command", required=True)
    vkeys_sub.add_parser("show", help="list the keys and their state").set_defaults(
        func=_voucher_keys
    )
    v_rotate = vkeys_sub.add_parser("rotate", help="add a new signing key (old one retires)")
    v_rotate.add_argument(
        "--activate-in",
        type=int,
        default=0,
        help="seconds until the new key signs; publish ahead for offline terminals (e.g. 86400)",
    )
    v_rotate.set_defaults(func=_voucher_keys)


def _payments(sub: Commands) -> None:
    """The WeChat Pay simulator and the daily reconciliation."""
    paysim = sub.add_parser("paysim", help="run the local WeChat Pay API v3 simulator")
    paysim.add_argument("--host", default="127.0.0.1")
    paysim.add_argument("--port", type=int, default=8600)
    paysim.set_defaults(func=_paysim)
    reconcile_cmd = sub.add_parser(
        "reconcile", help="compare the gateway's daily bill with our orders (exit 1 on mismatch)"
    )
    reconcile_cmd.add_argument("date", help="bill date YYYY-MM-DD (ready after 10:00 next day)")
    reconcile_cmd.set_defaults(func=lambda a: asyncio.run(_reconcile(Settings(), a)))


def _ocr_command(sub: Commands) -> None:
    """Reading invoices from files."""
    ocr_cmd = sub.add_parser("ocr", help="read medical invoices (photos, scans, PDF/OFD)")
    ocr_cmd.add_argument("image", nargs="+", help="JPEG, PNG, PDF or OFD files")
    ocr_cmd.add_argument("--engine", choices=["rapidocr", "tesseract"], default="rapidocr")
    ocr_cmd.add_argument("--json", action="store_true", help="print the reading as JSON")
    ocr_cmd.add_argument("--lines", action="store_true", help="with --json: include the OCR lines")
    ocr_cmd.add_argument(
        "--jsonl",
        action="store_true",
        help="one JSON object per file and line, in input order (the default for several files)",
    )
    ocr_cmd.set_defaults(func=_ocr)


if __name__ == "__main__":
    sys.exit(main())
