"""A session store of your own on plain asyncpg: the three methods secure-auth needs.

    store = await AsyncpgSessionStore.create("postgresql://app@db/app")
    auth = AuthService(private_pem, public_pem, store)

Enough for login, validate_session and logout. Refresh rotation, list_sessions
and logout_all need the full SessionStore protocol (see docs/stores.md); the
service names the missing methods when it is built and raises
UnsupportedByStore if they are called.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg


class AsyncpgSessionStore:
    def __init__(self, pool: asyncpg.Pool, table: str = "sessions") -> None:
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        self.pool, self.table = pool, table

    @classmethod
    async def create(cls, dsn: str, table: str = "sessions") -> AsyncpgSessionStore:
        store = cls(await asyncpg.create_pool(dsn), table)
        await store.pool.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
            " created_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL)"
        )
        return store

    async def save_session(self, session_id: str, user_id: str, expires_at: datetime) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.table} (session_id, user_id, expires_at) VALUES ($1, $2, $3)",
            session_id,
            user_id,
            expires_at,
        )

    async def is_session_valid(self, session_id: str) -> bool:
        found = await self.pool.fetchval(
            f"SELECT 1 FROM {self.table} WHERE session_id = $1 AND expires_at > now()", session_id
        )
        return found is not None

    async def delete_session(self, session_id: str) -> None:
        await self.pool.execute(f"DELETE FROM {self.table} WHERE session_id = $1", session_id)

    async def aclose(self) -> None:
        await self.pool.close()
