"""Session, challenge and passkey stores.

``memory`` and ``sqlite`` need nothing extra. ``redis`` and ``sql`` are
imported lazily so their drivers stay optional extras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import (
    AsyncChallengeStore,
    AsyncMinimalSessionStore,
    AsyncPasskeyStore,
    AsyncSessionStore,
    AsyncThrottleStore,
    ChallengeStore,
    MinimalSessionStore,
    PasskeyStore,
    SessionIdMinter,
    SessionStore,
    ThrottleStore,
)
from .memory import MemorySessionStore, MemoryStore
from .sqlite import SQLiteSessionStore, SQLiteStore

if TYPE_CHECKING:
    from .redis import AsyncRedisSessionStore as AsyncRedisSessionStore
    from .redis import AsyncRedisStore as AsyncRedisStore
    from .redis import RedisSessionStore as RedisSessionStore
    from .redis import RedisStore as RedisStore
    from .sql import AsyncSQLSessionStore as AsyncSQLSessionStore
    from .sql import AsyncSQLStore as AsyncSQLStore
    from .sql import SQLSessionStore as SQLSessionStore
    from .sql import SQLStore as SQLStore

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
    "SessionIdMinter",
    "SessionStore",
    "ThrottleStore",
]

# Optional backends, imported on first use so their drivers stay extras
# (``from secure_auth.stores import RedisStore`` needs ``secure-auth[redis]``,
# ``SQLStore`` needs ``secure-auth[sql]``).
_LAZY = {
    "AsyncRedisSessionStore": ".redis",
    "AsyncRedisStore": ".redis",
    "RedisSessionStore": ".redis",
    "RedisStore": ".redis",
    "AsyncSQLSessionStore": ".sql",
    "AsyncSQLStore": ".sql",
    "SQLSessionStore": ".sql",
    "SQLStore": ".sql",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
