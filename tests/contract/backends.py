"""The store contract's backend registry.

A backend builds a fresh, isolated store (its own prefix/table/file) in the
blocking form, the async form, or both, and optionally a *broken* one whose
server is unreachable. Each ``backend_*.py`` module beside this file exposes
``BACKENDS: list[Backend]``; ``conftest.py`` collects them all.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SyncFactory = Callable[[str, Path], contextlib.AbstractContextManager[Any]]
AsyncFactory = Callable[[str, Path], contextlib.AbstractAsyncContextManager[Any]]


@dataclass(frozen=True)
class Backend:
    """``make_*`` get a unique namespace (a safe identifier) and a temp dir."""

    name: str
    make_sync: SyncFactory | None = None
    make_async: AsyncFactory | None = None
    make_broken_sync: SyncFactory | None = None
    make_broken_async: AsyncFactory | None = None
    # Real connections run truly concurrently (threads/tasks over a pool).
    concurrent: bool = True


def sync_only(factory: Callable[[str, Path], Any]) -> SyncFactory:
    @contextlib.contextmanager
    def make(ns: str, tmp: Path) -> Iterator[Any]:
        store = factory(ns, tmp)
        try:
            yield store
        finally:
            close = getattr(store, "close", None)
            if callable(close):
                close()

    return make


def async_of(factory: Callable[[str, Path], Any]) -> AsyncFactory:
    @contextlib.asynccontextmanager
    async def make(ns: str, tmp: Path) -> AsyncIterator[Any]:
        store = factory(ns, tmp)
        try:
            yield store
        finally:
            closer = getattr(store, "aclose", None) or getattr(store, "close", None)
            if callable(closer):
                result = closer()
                if hasattr(result, "__await__"):
                    await result

    return make
