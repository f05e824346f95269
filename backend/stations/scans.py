"""Scans of paper documents kept as evidence (signed authorisation forms, civil-affairs
certificates): checked by content like invoice uploads, then stored."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from backend.container import Container
from backend.infra.uploads import check_upload, limits_of


@dataclass(frozen=True)
class StoredScan:
    key: str
    content_type: str
    sha256: str


async def store_scan(c: Container, folder: str, data: bytes) -> StoredScan:
    """Validate (JPEG, PNG or PDF, within the limits) and store ``data`` under ``folder``."""
    upload = await asyncio.to_thread(check_upload, data, limits_of(c.settings))
    now = c.clock.now()
    key = f"{folder}/{now:%Y/%m}/{uuid.uuid4().hex}.{upload.extension}"
    await c.storage.put(key, upload.original, upload.content_type)
    return StoredScan(key=key, content_type=upload.content_type, sha256=upload.sha256)
