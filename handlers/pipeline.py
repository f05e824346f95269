"""What every request goes through besides its handler, in one pass each way: the app's only
middlewares, kept cheap because every request pays for them.

- On the way in: path ids outside 1..MAX_ID are answered 404 (``reject_ids_out_of_range``).
- On the way out, every answer (errors included): ``X-Request-ID`` (the caller's own when it
  is short and plain, so logs cannot be forged; otherwise a fresh one) and the security
  headers (``handlers.headers``).

The request id is made where it is used, on the way out: nothing reads it before.
Sanic Extensions is set up with only the extensions in use (``EXTENSIONS``).
"""

from __future__ import annotations

import secrets

from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic_ext.extensions.http.extension import HTTPExtension
from sanic_ext.extensions.openapi.extension import OpenAPIExtension
from sanic_ext.extensions.templating.extension import TemplatingExtension

from handlers.errors import reject_ids_out_of_range
from handlers.headers import add_security_headers

REQUEST_ID_HEADER = "X-Request-ID"

# Sanic Extensions as used here (automatic HEAD/OPTIONS, the OpenAPI decorators, the console's
# templates), without dependency injection: nothing is injected, and its signal ran on every
# request.
EXTENSIONS = (OpenAPIExtension, HTTPExtension, TemplatingExtension)


def request_id(request: Request) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if 0 < len(incoming) <= 64 and incoming.isascii() and incoming.replace("-", "").isalnum():
        return incoming
    return secrets.token_hex(16)


def install(app: Sanic) -> None:
    @app.on_request
    async def ids_in_range(request: Request) -> None:
        # Ids are database keys: one out of range cannot exist (and would overflow the query).
        reject_ids_out_of_range(request)

    @app.on_response
    async def finish(request: Request, response: HTTPResponse) -> None:
        response.headers[REQUEST_ID_HEADER] = request_id(request)
        add_security_headers(request, response)
