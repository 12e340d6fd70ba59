"""Session, challenge and passkey stores.

``memory`` and ``sqlite`` need nothing extra. ``redis`` and ``sql`` are
imported lazily so their drivers stay optional extras.
"""

from __future__ import annotations

from .base import (
    AsyncChallengeStore,
    AsyncMinimalSessionStore,
    AsyncPasskeyStore,
    AsyncSessionStore,
    AsyncThrottleStore,
    ChallengeStore,
    MinimalSessionStore,
    PasskeyStore,
    SessionStore,
    ThrottleStore,
)
from .memory import MemorySessionStore, MemoryStore
from .sqlite import SQLiteSessionStore, SQLiteStore

__all__ = [
    "AsyncChallengeStore",
    "AsyncMinimalSessionStore",
    "AsyncPasskeyStore",
    "AsyncSessionStore",
    "AsyncThrottleStore",
    "ChallengeStore",
    "MemorySessionStore",
    "MemoryStore",
    "MinimalSessionStore",
    "PasskeyStore",
    "SQLiteSessionStore",
    "SQLiteStore",
    "SessionStore",
    "ThrottleStore",
]
