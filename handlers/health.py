"""Liveness and readiness probes for the load balancer."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext.extensions.openapi import openapi
from tortoise.connection import get_connection

from handlers.contract import responds
from handlers.request import container
from handlers.responses.health import HealthzOut, ReadyzOut

bp = Blueprint("health")


@bp.get("/healthz")
@openapi.summary("存活检查（进程在运行）")
@responds(HealthzOut)
async def healthz(request: Request) -> HTTPResponse:
    return json({"status": "ok"})


@bp.get("/readyz")
@openapi.summary("就绪检查（数据库和缓存可用）")
@responds(ReadyzOut)
@responds(ReadyzOut, status=503, description="数据库或缓存不可用")
async def readyz(request: Request) -> HTTPResponse:
    checks: dict[str, str] = {}
    try:
        await get_connection("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the reason goes to the probe
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await container(request).kv.ping()
        checks["cache"] = "ok"
    except Exception as exc:
        checks["cache"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return json(body, 200 if ready else 503)
