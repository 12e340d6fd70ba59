"""Network backends for the benchmarks: Redis and PostgreSQL.

Each one runs in its own namespace (a Redis key prefix, a table prefix),
removed afterwards. The raw references use the driver the store uses, with
no layer in between: redis-py ``GET``/``HGETALL``, psycopg and asyncpg
``SELECT`` by primary key on an autocommit connection. Round trips are
counted on the wire by a relay (``relay.py``).

A backend whose store is not in this build, or whose server does not
answer, is skipped with a note; nothing here raises for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from secure_auth._bench import SESSION_COLUMNS, Backend, TripCounter

from .relay import relay

REDIS_URL = os.environ.get("SECURE_AUTH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "SECURE_AUTH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class Unavailable(Exception):
    """The backend cannot run here; the message says why."""


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 1.0):
            return True
    except OSError:
        return False


def namespace(tag: str) -> str:
    return f"sa_bench_{tag}_{os.getpid()}"


# -- Redis ---------------------------------------------------------------------------


def redis_backend(url: str = REDIS_URL, *, tag: str = "r") -> Backend:
    """Redis through ``RedisStore``/``AsyncRedisStore`` under a private prefix."""
    try:
        import redis
        import redis.asyncio

        from secure_auth.stores.redis import AsyncRedisStore, RedisStore
    except ImportError as exc:
        raise Unavailable(f"secure_auth.stores.redis is not available ({exc})") from None
    if not reachable(url):
        raise Unavailable(f"no Redis at {url}")
    prefix = namespace(tag).replace("_", "-")
    store = RedisStore.from_url(url, prefix=prefix)
    astore = AsyncRedisStore.from_url(url, prefix=prefix)
    raw = redis.Redis.from_url(url)
    araw = redis.asyncio.Redis.from_url(url)
    # The store decides how a session is kept (a string document or a hash):
    # the reference reads it the same way, with one command.
    kind: dict[str, str] = {}

    def raw_read(key: str) -> Any:
        return raw.get(key) if kind.get("type", "string") == "string" else raw.hgetall(key)

    async def araw_read(key: str) -> Any:
        if kind.get("type", "string") == "string":
            return await araw.get(key)
        return await araw.hgetall(key)

    def raw_key(session_id: str) -> str:
        key: str = store.session_key(session_id)
        if "type" not in kind:
            found = raw.type(key)
            kind["type"] = found.decode() if isinstance(found, bytes) else str(found)
        return key

    @contextlib.contextmanager
    def trips(loop: asyncio.AbstractEventLoop) -> Iterator[TripCounter]:
        parts = urlsplit(url)
        with relay(parts.hostname or "127.0.0.1", parts.port or 6379) as counter:
            via = url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{counter.port}")
            s = RedisStore.from_url(via, prefix=prefix)
            a = AsyncRedisStore.from_url(via, prefix=prefix)
            try:
                yield TripCounter(s, a, _counting(counter), "Redis round trip")
            finally:
                s.close()
                loop.run_until_complete(a.aclose())

    def close() -> None:
        with contextlib.suppress(Exception):
            delete_prefix(raw, prefix)
        store.close()
        raw.close()

    async def aclose() -> None:
        await astore.aclose()
        await araw.aclose()

    import time

    return Backend(
        "redis",
        store,
        raw_read=raw_read,
        async_store=astore,
        araw_read=araw_read,
        raw_key=raw_key,
        trips=trips,
        close=close,
        aclose=aclose,
        clock=time.perf_counter,
    )


def delete_prefix(client: Any, prefix: str, batch: int = 5000) -> int:
    """UNLINK every key under ``prefix:`` (SCAN in batches, pipelined)."""
    deleted = 0
    keys: list[Any] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=batch):
        keys.append(key)
        if len(keys) >= batch:
            deleted += client.unlink(*keys)
            keys.clear()
    if keys:
        deleted += client.unlink(*keys)
    return deleted


def _counting(counter: Any) -> Callable[[Callable[[], Any]], int]:
    def count(run: Callable[[], Any]) -> int:
        counter.reset()
        run()
        return int(counter.reset())

    return count


# -- PostgreSQL ----------------------------------------------------------------------


def postgres_backend(url: str = POSTGRES_URL, *, tag: str = "p") -> Backend:
    """PostgreSQL through ``SQLStore`` (psycopg) and ``AsyncSQLStore`` (asyncpg)."""
    try:
        import asyncpg  # noqa: F401
        import psycopg

        from secure_auth.stores.sql import AsyncSQLStore, SQLStore
    except ImportError as exc:
        raise Unavailable(f"secure_auth.stores.sql is not available ({exc})") from None
    if not reachable(url):
        raise Unavailable(f"no PostgreSQL at {url}")
    prefix = namespace(tag) + "_"
    sync_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    async_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    store = SQLStore(sync_url, table_prefix=prefix)
    store.create_schema()
    astore = AsyncSQLStore(async_url, table_prefix=prefix)
    table = f"{prefix}sessions"
    raw = psycopg.connect(url, autocommit=True)
    select = f"SELECT {SESSION_COLUMNS} FROM {table} WHERE session_id = %s"
    aselect = f"SELECT {SESSION_COLUMNS} FROM {table} WHERE session_id = $1"
    apool: dict[str, Any] = {}

    def raw_read(session_id: str) -> Any:
        return raw.execute(select, (session_id,)).fetchone()

    async def araw_read(session_id: str) -> Any:
        conn = apool.get("conn")
        if conn is None:
            import asyncpg

            conn = apool["conn"] = await asyncpg.connect(url)
        return await conn.fetchrow(aselect, session_id)

    @contextlib.contextmanager
    def trips(loop: asyncio.AbstractEventLoop) -> Iterator[TripCounter]:
        parts = urlsplit(url)
        with relay(parts.hostname or "127.0.0.1", parts.port or 5432) as counter:
            hostport = f"{parts.hostname}:{parts.port}"
            s = SQLStore(
                sync_url.replace(hostport, f"127.0.0.1:{counter.port}"), table_prefix=prefix
            )
            a = AsyncSQLStore(
                async_url.replace(hostport, f"127.0.0.1:{counter.port}"), table_prefix=prefix
            )
            try:
                yield TripCounter(s, a, _counting(counter), "PostgreSQL round trip")
            finally:
                s.close()
                loop.run_until_complete(a.aclose())

    def close() -> None:
        raw.close()
        with contextlib.suppress(Exception):
            store.drop_schema()
        store.close()

    async def aclose() -> None:
        conn = apool.pop("conn", None)
        if conn is not None:
            await conn.close()
        await astore.aclose()

    import time

    return Backend(
        "postgresql",
        store,
        raw_read=raw_read,
        async_store=astore,
        araw_read=araw_read,
        trips=trips,
        close=close,
        aclose=aclose,
        clock=time.perf_counter,
    )
