"""File storage: uploaded invoice photos and their derived images, by key.

The interface is three calls, ``put``/``get``/``delete`` by key (plus ``exists``). Keys are
relative, slash-separated and made of ``[A-Za-z0-9._-]`` segments (the service builds them,
e.g. ``claims/2025/09/<claim id>/<uuid>.jpg``); user input never becomes a key.

Adapters:
- :class:`LocalFileStorage` (the embedded default and the tests): files under
  ``<data_dir>/files``, written to a temporary name and renamed, so a reader never sees half a
  file. With several web processes on one host it works as is; on several hosts it does not.
- An S3-compatible adapter (MinIO, OSS, COS, S3) would implement the same four coroutines over
  ``PutObject``/``GetObject``/``DeleteObject``/``HeadObject`` with the key as the object name,
  server-side encryption on, no public ACL, and be chosen in :func:`open_storage` when a bucket
  is configured. It is not included: pick the SDK of the bureau's object store when it is known.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Protocol

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class StorageError(Exception):
    pass


class FileMissing(StorageError, KeyError):
    pass


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or len(key) > 400 or not all(_SEGMENT.match(p) and ".." not in p for p in parts):
        raise StorageError(f"invalid storage key {key!r}")
    return key


class FileStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...


class LocalFileStorage:
    """Files in a folder. The content type is not stored: callers keep it with the key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def _get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise FileMissing(key) from None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)


def open_storage(data_dir: Path) -> FileStorage:
    return LocalFileStorage(Path(data_dir) / "files")
