"""The baseline of ``bench/me_http.py``: a bare Sanic app answering a small JSON, served exactly
like a ``yibao serve`` worker serves the real one (one process, no access log).

    python bench/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json


def create_bare() -> Sanic:
    app = Sanic("bare")

    @app.get("/")
    async def hello(request: Request) -> HTTPResponse:
        return json({"status": "ok", "service": "bare"})

    return app


def serve(factory: Callable[[], Sanic]) -> None:
    """Serve the app of ``factory`` on ``--host``/``--port``, as a ``yibao serve`` worker serves
    the real one: one process (``backend.supervisor`` runs each worker so), no access log. (Not
    Sanic's worker manager: on a loaded machine its 30 s start-up acknowledgement fails.)"""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = factory()
    app.prepare(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)
    Sanic.serve_single(app)


if __name__ == "__main__":
    serve(create_bare)
