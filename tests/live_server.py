"""A real yibao server for tests that drive it over HTTP with independent tools.

``live_server(data_dir)`` migrates and seeds a SQLite database in ``data_dir``, starts
``python -m tests.live_server`` (the application on a socket bound to port 0 on 127.0.0.1),
yields its base URL and stops it. Run as a module, this file is that server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY = "yibao-live-server-ready"


def _env(data_dir: Path, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    env |= {"YIBAO_ENV": "development", "YIBAO_DATA_DIR": str(data_dir), **settings}
    return env


@contextmanager
def live_server(data_dir: Path, **settings: str) -> Iterator[str]:
    """``settings``: further ``YIBAO_…`` variables for the server."""
    env = _env(data_dir, settings)
    yibao = str(Path(sys.executable).parent / "yibao")
    for command in ("migrate", "seed-demo"):
        subprocess.run([yibao, command], env=env, cwd=ROOT, check=True, capture_output=True)
    log = (data_dir / "server.log").open("w")  # tracebacks of 500s, for the failure message
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.live_server"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        for line in server.stdout:  # the server's own log lines come first
            if line.strip() == READY:
                break
        else:
            raise RuntimeError("the live server stopped before it was ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def main() -> None:
    from backend.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(sock.getsockname()[1], flush=True)
    app = create_app(name="yibao_live")

    @app.after_server_start
    async def announce(app: object) -> None:
        print(READY, flush=True)

    app.run(sock=sock, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
