"""Static files: the console's own stylesheet and script, and the vendor files installed from
the npm registry (``npm ci`` into ``node_modules``) — an explicit list, not the whole folder."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from sanic import Blueprint, Request
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse, file

ROOT = Path(__file__).resolve().parents[2]
OWN = Path(__file__).parent / "static"  # console.css, console.js
NODE_MODULES = ROOT / "node_modules"

VENDOR: dict[str, Path] = {
    "htmx.min.js": NODE_MODULES / "htmx.org/dist/htmx.min.js",
    "swagger-ui.css": NODE_MODULES / "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-bundle.js": NODE_MODULES / "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js": NODE_MODULES
    / "swagger-ui-dist/swagger-ui-standalone-preset.js",
}

bp = Blueprint("console_assets")


async def _serve(path: Path) -> HTTPResponse:
    try:
        headers = {"Cache-Control": "public, max-age=3600"}
        return await file(path, mime_type=_mime(path), headers=headers)
    except FileNotFoundError:
        raise NotFound("请求的地址不存在") from None


def _mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@bp.get("/assets/vendor/<name:str>")
async def vendor(request: Request, name: str) -> HTTPResponse:
    path = VENDOR.get(name)
    if path is None:
        raise NotFound("请求的地址不存在")
    return await _serve(path)


@bp.get("/assets/console/<name:str>")
async def own(request: Request, name: str) -> HTTPResponse:
    if "/" in name or name.startswith("."):
        raise NotFound("请求的地址不存在")
    return await _serve(OWN / name)
