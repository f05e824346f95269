"""The registered terminals as an admin sees them (never their secrets)."""

from __future__ import annotations

from typing import Any

from backend.terminals.models import Terminal


async def list_terminals(limit: int = 500) -> list[dict[str, Any]]:
    rows = await Terminal.all().order_by("-is_active", "institution_code").limit(limit)
    return [
        {
            "key_id": t.key_id,
            "institution_code": t.institution_code,
            "institution_name": t.institution_name,
            "city_code": t.city_code,
            "is_active": t.is_active,
        }
        for t in rows
    ]
