"""What the SQL store tests share: a store per database kind with its own tables."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import skip_or_fail
from contract.backend_sql import connect_args, require, server_url

try:
    from secure_auth.stores.sql import AsyncSQLStore, SQLStore
except ImportError:  # pragma: no cover - the [sql] extra is part of the dev install
    SQLStore = AsyncSQLStore = None  # type: ignore[assignment,misc]

KINDS = ["postgresql", "mysql", "sqlite"]
SERVER_KINDS = ["postgresql", "mysql"]


def url_for(kind: str, tmp: Path, *, is_async: bool) -> Any:
    """The test database of ``kind``; a server that does not answer skips (fails in CI)."""
    if SQLStore is None:
        skip_or_fail("SQLAlchemy is not installed")
    if kind == "sqlite":
        return f"sqlite{'+aiosqlite' if is_async else ''}:///{tmp / 'store.db'}"
    require(kind)
    return server_url(kind, is_async=is_async)


def make_store(kind: str, tmp: Path, prefix: str, *, is_async: bool) -> Any:
    """A store with its own engine (the ``from_url`` path users take)."""
    url = url_for(kind, tmp, is_async=is_async)
    cls = AsyncSQLStore if is_async else SQLStore
    options = connect_args(url) if kind != "sqlite" else {}
    return cls.from_url(url, table_prefix=prefix, connect_args=options)


@contextlib.contextmanager
def tables(kind: str, tmp: Path) -> Iterator[str]:
    """Create a fresh set of tables; yield their prefix; drop them afterwards."""
    prefix = "t" + secrets.token_hex(6) + "_"
    admin = make_store(kind, tmp, prefix, is_async=False)
    admin.create_schema()
    try:
        yield prefix
    finally:
        admin.drop_schema()
        admin.close()
