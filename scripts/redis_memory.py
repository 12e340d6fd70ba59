"""Measure Redis memory per secure-auth session (docs/redis.md quotes it).

    PYTHONPATH=src python scripts/redis_memory.py [redis://127.0.0.1:6379/0] [10000]

Saves N realistic sessions through ``RedisStore`` under a fresh prefix:
one session per user (each session brings its own user index) and ten
sessions per user, each with ids the store makes (``new_session_id``: what
the service uses) and with ids of the default form (what a session made by
another store or an earlier version has: the own-slot layout). Prints the
``INFO memory`` ``used_memory`` delta per session and ``MEMORY USAGE`` of
one session value and one user index, then deletes everything it wrote.
Run it against a quiet server: other clients' writes land in the delta too.
"""

from __future__ import annotations

import secrets
import sys
import time

import redis

from secure_auth.models import SessionRecord
from secure_auth.stores.redis import RedisStore

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def measure(client: redis.Redis, n: int, per_user: int, *, store_made: bool) -> None:
    store = RedisStore(client, prefix="mem" + secrets.token_hex(4))
    now = time.time()
    before = used_memory(client)
    first = None
    for i in range(n):
        user_id = f"user-{i // per_user:08d}"
        record = SessionRecord(
            session_id=store.new_session_id(user_id) if store_made else secrets.token_urlsafe(32),
            user_id=user_id,
            created_at=now,
            expires_at=now + 30 * 86400,
            last_used_at=now,
            auth_method="password",
            user_agent=UA,
            ip_address=f"203.0.113.{i % 250}",
        )
        first = first or record
        store.save_session(record)
    after = used_memory(client)
    assert first is not None
    session = client.memory_usage(store.session_key(first.session_id), samples=0)
    index = client.memory_usage(store.user_sessions_key(first.user_id), samples=0)
    kind = "store-made ids" if store_made else "ids of the default form"
    print(
        f"{kind}: {n} sessions, {per_user} per user: {(after - before) / n:.0f} bytes/session "
        f"(used_memory delta); MEMORY USAGE session value {session} B, "
        f"user index ({per_user} members) {index} B"
    )
    for key in client.scan_iter(match=f"{store.prefix}:*", count=1000):
        client.unlink(key)


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    client = redis.Redis.from_url(url)
    print("redis", client.info("server")["redis_version"])
    for store_made in (True, False):
        for per_user in (1, 10):
            measure(client, n, per_user, store_made=store_made)
    client.close()


if __name__ == "__main__":
    main()
