"""``yibao paysim``: the local WeChat Pay simulator as a standalone HTTP server.

A deliberately small HTTP/1.1 server on asyncio streams (one request per connection), in front
of :meth:`PaySimulator.handle`; the simulator's protocol logic is the same object the tests
and the embedded default mount in-process. Development only.

    yibao paysim --port 8600                     # the simulator
    YIBAO_PAYSIM_URL=http://127.0.0.1:8600 yibao serve
    curl -X POST http://127.0.0.1:8600/sim/pay/<out_trade_no>   # "the payer pays"
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

from backend.clock import SystemClock
from backend.payments.runtime import dev_keys, make_simulator
from backend.payments.simulator.paysim import PaySimulator
from config.settings import Settings

log = logging.getLogger("yibao.paysim")
MAX_BODY = 1024 * 1024


async def _serve_one(
    sim: PaySimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        request_line = (await reader.readline()).decode("latin-1").strip()
        method, target, _ = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        body = await reader.readexactly(length) if length else b""
        status, out_headers, out_body = await sim.handle(method.upper(), target, headers, body)
    except (ValueError, asyncio.IncompleteReadError):
        status, out_headers, out_body = 400, {}, b""
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    head = [f"HTTP/1.1 {status} {reason}"]
    head += [f"{k}: {v}" for k, v in out_headers.items()]
    head += [f"Content-Length: {len(out_body)}", "Connection: close", "", ""]
    writer.write("\r\n".join(head).encode("latin-1") + out_body)
    try:
        await writer.drain()
    finally:
        writer.close()


async def serve(settings: Settings, host: str, port: int) -> None:
    keys = dev_keys(settings.data_dir)
    sim = make_simulator(keys, SystemClock(), base_url=f"http://{host}:{port}")
    server = await asyncio.start_server(lambda r, w: _serve_one(sim, r, w), host, port)
    print(f"支付模拟器已启动：http://{host}:{port}")
    print(f"商户号 {keys.mchid}，平台公钥 {keys.platform_serial}")
    print(f"应用请设置 YIBAO_PAYSIM_URL=http://{host}:{port}；模拟支付：POST /sim/pay/<商户订单号>")
    async with server:
        await asyncio.gather(server.serve_forever(), sim.run())
