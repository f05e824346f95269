"""The baseline of ``bench/me_http.py``: a bare Sanic app answering a small JSON, served exactly
like ``yibao serve`` serves the real one (worker manager, one worker, no access log).

    python bench/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json
from sanic.worker.loader import AppLoader


def create_bare() -> Sanic:
    app = Sanic("bare")

    @app.get("/")
    async def hello(request: Request) -> HTTPResponse:
        return json({"status": "ok", "service": "bare"})

    return app


def serve(factory: Callable[[], Sanic]) -> None:
    """Serve the app of ``factory`` on ``--host``/``--port``, as ``yibao serve`` serves the real
    one: the worker manager, one worker, no access log."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    loader = AppLoader(factory=factory)
    app = loader.load()
    app.prepare(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    serve(create_bare)
