"""Backends that need no server: memory and the embedded SQLite store."""

from __future__ import annotations

from pathlib import Path

from secure_auth.stores import MemoryStore, SQLiteStore

from .backends import Backend, async_of, sync_only


def _sqlite(ns: str, tmp: Path) -> SQLiteStore:
    return SQLiteStore(tmp / f"{ns}.db")


def _broken_sqlite(ns: str, tmp: Path) -> SQLiteStore:
    # The database path is a directory: every open fails, as with a lost disk.
    path = tmp / f"{ns}-broken.db"
    path.mkdir()
    return SQLiteStore(path)


BACKENDS = [
    Backend("memory", make_sync=sync_only(lambda ns, tmp: MemoryStore())),
    Backend(
        "sqlite",
        make_sync=sync_only(_sqlite),
        # The async face calls SQLite directly (microsecond reads), so the
        # async form of the contract drives the same class from a loop.
        make_async=async_of(_sqlite),
        make_broken_sync=sync_only(_broken_sqlite),
        make_broken_async=async_of(_broken_sqlite),
    ),
]
