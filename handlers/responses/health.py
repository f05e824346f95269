"""Response models of the health probes."""

from __future__ import annotations

from typing import Any

from handlers.responses.base import Out


class HealthzOut(Out):
    status: str


class ReadyzOut(Out):
    status: str
    checks: dict[str, Any]
