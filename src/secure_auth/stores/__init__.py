"""Session, challenge and passkey stores.

``memory`` and ``sqlite`` need nothing extra. ``redis`` and ``sql`` are
imported lazily so their drivers stay optional extras.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import (
    AsyncChallengeStore,
    AsyncMinimalSessionStore,
    AsyncPasskeyStore,
    AsyncSessionStore,
    ChallengeStore,
    MinimalSessionStore,
    PasskeyStore,
    SessionStore,
)
from .memory import MemorySessionStore, MemoryStore
from .sqlite import SQLiteSessionStore, SQLiteStore

__all__ = [
    "AsyncChallengeStore",
    "AsyncMinimalSessionStore",
    "AsyncPasskeyStore",
    "AsyncSessionStore",
    "ChallengeStore",
    "MemorySessionStore",
    "MemoryStore",
    "MinimalSessionStore",
    "PasskeyStore",
    "SQLiteSessionStore",
    "SQLiteStore",
    "SessionStore",
]

# Optional stores, imported on first use: name -> module. Their drivers are
# extras, and a missing one fails with the ``pip install`` line to run.
_LAZY = {
    "AsyncSQLSessionStore": "sql",
    "AsyncSQLStore": "sql",
    "SQLSessionStore": "sql",
    "SQLStore": "sql",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
