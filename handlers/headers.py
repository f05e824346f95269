"""Security headers, one rule for every response (added in the app's response hook).

- ``X-Content-Type-Options: nosniff`` everywhere.
- ``Cache-Control: no-store`` unless the handler chose its own caching: API answers carry
  personal data and must not stay in browser, proxy or WebView caches. Handlers that serve
  public material (the voucher JWKS) set their own ``Cache-Control``.
- HTML pages get a Content-Security-Policy with ``frame-ancestors 'none'`` (no framing, no
  click-jacking) and only same-origin scripts and styles; a page that sets its own policy (the
  staff console) keeps it, with ``frame-ancestors 'none'`` added when it lacks one. The
  Swagger page under ``/docs`` loads its bundle from the CDN and runs an inline bootstrap
  script; it alone gets those sources.
"""

from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse

_PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
_SWAGGER_CDN = "https://cdnjs.cloudflare.com"
# Path prefix → sources added to the page policy for pages under it
_PAGE_EXCEPTIONS: dict[str, dict[str, str]] = {
    "/docs": {
        "script-src": f"'unsafe-inline' {_SWAGGER_CDN}",
        "style-src": f"'unsafe-inline' {_SWAGGER_CDN}",
    },
}


def page_policy(path: str) -> str:
    directives = dict(_PAGE_POLICY)
    for prefix, extra in _PAGE_EXCEPTIONS.items():
        if path == prefix or path.startswith(prefix + "/"):
            for name, sources in extra.items():
                directives[name] = f"{directives[name]} {sources}"
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


def add_security_headers(request: Request, response: HTTPResponse) -> None:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    if "cache-control" not in headers:
        headers["Cache-Control"] = "no-store"
    content_type = response.content_type
    if content_type and content_type.startswith("text/html"):
        own = headers.get("content-security-policy")
        if own is None:
            headers["Content-Security-Policy"] = page_policy(request.path)
        elif "frame-ancestors" not in own:  # a page's own policy still may not be framed
            headers["Content-Security-Policy"] = f"{own.rstrip('; ')}; frame-ancestors 'none'"
        headers["X-Frame-Options"] = "DENY"
