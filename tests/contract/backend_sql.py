"""Backends of the SQL store: PostgreSQL, MariaDB/MySQL and SQLite, blocking and async.

Servers come from ``SECURE_AUTH_POSTGRES_URL`` / ``SECURE_AUTH_MYSQL_URL``
(default: the local PostgreSQL and MariaDB, database ``test``); the driver
part of the URL is replaced per form (psycopg / asyncpg, PyMySQL / aiomysql).
Each test gets its own table prefix and drops its tables afterwards. A server
that cannot be reached skips the test locally and fails it under CI. The
broken forms point at a loopback port where nothing listens.

The helpers here (``server_url``, ``require``, ``dead_url``) serve the SQL
tests in ``tests/stores/`` too.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from conftest import skip_or_fail

from .backends import Backend

try:
    import sqlalchemy as sa

    from secure_auth.stores.sql import AsyncSQLStore, SQLStore
except ImportError:  # the [sql] extra is missing: the backends skip (fail under CI)
    sa = None  # type: ignore[assignment]

DEFAULTS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
ENV = {"postgresql": "SECURE_AUTH_POSTGRES_URL", "mysql": "SECURE_AUTH_MYSQL_URL"}
DRIVERS = {
    ("postgresql", False): "psycopg",
    ("postgresql", True): "asyncpg",
    ("mysql", False): "pymysql",
    ("mysql", True): "aiomysql",
}
# Short connect timeouts: an outage must answer fast, not after the OS default.
CONNECT_ARGS = {
    "psycopg": {"connect_timeout": 3},
    "asyncpg": {"timeout": 3},
    "pymysql": {"connect_timeout": 3},
    "aiomysql": {"connect_timeout": 3},
}


def server_url(kind: str, *, is_async: bool) -> Any:
    """The URL of the ``postgresql`` or ``mysql`` test server with the form's driver."""
    url = sa.make_url(os.environ.get(ENV[kind]) or DEFAULTS[kind])
    driver = DRIVERS[(kind, is_async)]
    return url.set(drivername=f"{url.get_backend_name()}+{driver}")


def connect_args(url: Any) -> dict[str, Any]:
    return dict(CONNECT_ARGS.get(url.get_driver_name(), {}))


@functools.cache
def _unreachable(kind: str) -> str | None:
    """Why the server cannot be used, or ``None``; checked once per run."""
    if sa is None:
        return "SQLAlchemy is not installed (pip install 'secure-auth[sql]')"
    url = server_url(kind, is_async=False)
    engine = sa.create_engine(url, connect_args=connect_args(url), poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        where = url.render_as_string(hide_password=True)
        return f"{kind} at {where} unreachable: {type(exc).__name__}"
    finally:
        engine.dispose()
    return None


def require(kind: str) -> None:
    """Skip (or, under CI, fail) unless the ``kind`` server answers."""
    reason = _unreachable(kind)
    if reason is not None:
        skip_or_fail(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def dead_url(kind: str, *, is_async: bool) -> Any:
    """The server's URL moved to a loopback port where nothing listens."""
    return server_url(kind, is_async=is_async).set(host="127.0.0.1", port=free_port())


def _sqlite_url(path: Path, *, is_async: bool) -> str:
    return f"sqlite{'+aiosqlite' if is_async else ''}:///{path}"


# One engine per server and form for the whole run: a fresh table prefix per
# test isolates the tests, and the dialect's first-connect queries run once.
# Async engines are disposed after each test (each test has its own loop).
_OWNERS: dict[tuple[str, bool], Any] = {}
_MASTERS: dict[str, str] = {}
_COPY = {
    "postgresql": "CREATE TABLE {new} (LIKE {old} INCLUDING ALL)",
    "mysql": "CREATE TABLE {new} LIKE {old}",
}


def _engine(kind: str, *, is_async: bool) -> Any:
    key = (kind, is_async)
    if key not in _OWNERS:
        url = server_url(kind, is_async=is_async)
        cls = AsyncSQLStore if is_async else SQLStore
        _OWNERS[key] = cls.from_url(url, connect_args=connect_args(url))
    return _OWNERS[key].engine


@contextlib.contextmanager
def _tables(kind: str, prefix: str) -> Iterator[None]:
    """The store's tables under ``prefix``, dropped afterwards.

    ``create_schema()`` makes one master set per run; each test copies it
    (``CREATE TABLE ... LIKE``: columns, types, defaults, keys and indexes).
    Three statements instead of ten, and one ``DROP`` for the four tables:
    ``CREATE INDEX`` alone takes 15-100 ms on a busy MariaDB, and the
    contract runs about sixty tests per server.
    """
    engine = _engine(kind, is_async=False)
    if kind not in _MASTERS:
        master = SQLStore(engine, table_prefix="m" + secrets.token_hex(5) + "_")
        master.create_schema()
        atexit.register(master.drop_schema)
        _MASTERS[kind] = master.table_prefix
    names = ("sessions", "challenges", "passkeys", "throttle")
    try:
        with engine.connect() as conn:
            for name in names:
                copy = _COPY[kind].format(new=prefix + name, old=_MASTERS[kind] + name)
                conn.exec_driver_sql(copy)
        yield
    finally:
        with contextlib.suppress(Exception), engine.connect() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {', '.join(prefix + n for n in names)}")


def _server(kind: str) -> Backend:
    @contextlib.contextmanager
    def make_sync(ns: str, tmp: Path) -> Iterator[Any]:
        require(kind)
        with _tables(kind, f"{ns}_"):
            yield SQLStore(_engine(kind, is_async=False), table_prefix=f"{ns}_")

    @contextlib.asynccontextmanager
    async def make_async(ns: str, tmp: Path) -> AsyncIterator[Any]:
        require(kind)
        engine = _engine(kind, is_async=True)
        try:
            with _tables(kind, f"{ns}_"):
                yield AsyncSQLStore(engine, table_prefix=f"{ns}_")
        finally:
            await engine.dispose()

    @contextlib.contextmanager
    def make_broken_sync(ns: str, tmp: Path) -> Iterator[Any]:
        if sa is None:
            skip_or_fail("SQLAlchemy is not installed")
        url = dead_url(kind, is_async=False)
        store = SQLStore(url, table_prefix=f"{ns}_", connect_args=connect_args(url))
        try:
            yield store
        finally:
            store.close()

    @contextlib.asynccontextmanager
    async def make_broken_async(ns: str, tmp: Path) -> AsyncIterator[Any]:
        if sa is None:
            skip_or_fail("SQLAlchemy is not installed")
        url = dead_url(kind, is_async=True)
        store = AsyncSQLStore(url, table_prefix=f"{ns}_", connect_args=connect_args(url))
        try:
            yield store
        finally:
            await store.aclose()

    return Backend(
        "postgresql" if kind == "postgresql" else "mariadb",
        make_sync=make_sync,
        make_async=make_async,
        make_broken_sync=make_broken_sync,
        make_broken_async=make_broken_async,
    )


async def _aiosqlite_threads_done() -> None:
    """Let aiosqlite's worker threads finish while the loop still runs.

    After a failed connect aiosqlite stops its thread without waiting; the
    thread then resolves a future on the loop, which fails if the test's loop
    has closed meanwhile (a warning about an exception in a thread).
    """
    for _ in range(100):
        if not any(t.name.endswith("(_connection_worker_thread)") for t in threading.enumerate()):
            return
        await asyncio.sleep(0.01)


@contextlib.contextmanager
def _database_file(ns: str, tmp: Path) -> Iterator[Path]:
    """A fresh SQLite file, in memory-backed ``/dev/shm`` where there is one.

    Each of the ~70 tests creates a database and its tables; on a busy disk
    the fsyncs of that DDL cost more than the test.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="secure-auth-", dir=shm))
        try:
            yield folder / f"{ns}.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp / f"{ns}.db"


def _sqlite() -> Backend:
    @contextlib.contextmanager
    def make_sync(ns: str, tmp: Path) -> Iterator[Any]:
        if sa is None:
            skip_or_fail("SQLAlchemy is not installed")
        with _database_file(ns, tmp) as path:
            store = SQLStore(_sqlite_url(path, is_async=False), table_prefix=f"{ns}_")
            try:
                store.create_schema()
                yield store
            finally:
                store.close()

    @contextlib.asynccontextmanager
    async def make_async(ns: str, tmp: Path) -> AsyncIterator[Any]:
        if sa is None:
            skip_or_fail("SQLAlchemy is not installed")
        with _database_file(ns, tmp) as path:
            store = AsyncSQLStore(_sqlite_url(path, is_async=True), table_prefix=f"{ns}_")
            try:
                await store.create_schema()
                yield store
            finally:
                await store.aclose()

    def _dir(ns: str, tmp: Path) -> Path:
        # The database path is a directory: every open fails, as with a lost disk.
        path = tmp / f"{ns}-broken.db"
        path.mkdir()
        return path

    @contextlib.contextmanager
    def make_broken_sync(ns: str, tmp: Path) -> Iterator[Any]:
        if sa is None:
            skip_or_fail("SQLAlchemy is not installed")
        store = SQLStore(_sqlite_url(_dir(ns, tmp), is_async=False), table_prefix=f"{ns}_")
        try:
            yield store
        finally:
            store.close()

    @contextlib.asynccontextmanager
    async def make_broken_async(ns: str, tmp: Path) -> AsyncIterator[Any]:
        if sa is None:
            skip_or_fail("SQLAlchemy is not installed")
        store = AsyncSQLStore(_sqlite_url(_dir(ns, tmp), is_async=True), table_prefix=f"{ns}_")
        try:
            yield store
        finally:
            await store.aclose()
            await _aiosqlite_threads_done()

    return Backend(
        "sql-sqlite",
        make_sync=make_sync,
        make_async=make_async,
        make_broken_sync=make_broken_sync,
        make_broken_async=make_broken_async,
    )


BACKENDS = [_server("postgresql"), _server("mysql"), _sqlite()]
