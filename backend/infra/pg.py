"""The Tortoise PostgreSQL engine the app uses: Tortoise's asyncpg client with a cheaper
connection reset (engine ``backend.infra.pg``, chosen by ``backend.db.tortoise_config``).

asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
RESET ALL`` every time a connection goes back to the pool: one more round trip for every ORM
query (measured here: ~60 µs of CPU, more than the query itself). The app keeps no session
state on pooled connections (no advisory locks, no cursors outside transactions, no LISTEN,
no session ``SET``), so the only state that can leak is a transaction left open by an error:
that one is rolled back, as asyncpg's reset would.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def reset_connection(connection: asyncpg.Connection) -> None:
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class PooledAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=reset_connection, **kwargs)


client_class = PooledAsyncpgClient
