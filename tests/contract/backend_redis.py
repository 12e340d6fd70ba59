"""Redis backends: one server and a 3-node Cluster, blocking and async.

* ``redis``: the shared server at ``SECURE_AUTH_REDIS_URL``, each test under
  its own key prefix (deleted afterwards).
* ``redis-cluster``: a private Cluster started once per session
  (``redis_servers.cluster_url``).
* broken forms: clients aimed at a loopback port where nothing listens,
  with short timeouts and no retries (the outage test must not wait).
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from .backends import Backend

try:
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    from secure_auth.stores.redis import AsyncRedisStore, RedisStore
except ImportError:  # redis-py missing: every Redis test skips (fails under CI)
    from conftest import skip_or_fail

    @contextlib.contextmanager
    def _missing(ns: str, tmp: Path) -> Iterator[Any]:
        skip_or_fail("redis-py is not installed: pip install 'secure-auth[redis]'")
        yield None

    BACKENDS = [Backend("redis", make_sync=_missing)]
else:
    from redis_servers import cluster_url, free_port, shared_redis_url

    # The outage forms: connection refused at once, no retries, short timeouts.
    _BROKEN = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry": Retry(NoBackoff(), 0)}

    def _dead_url() -> str:
        return f"redis://127.0.0.1:{free_port()}/0"

    @contextlib.contextmanager
    def _single(ns: str, tmp: Path) -> Iterator[RedisStore]:
        store = RedisStore.from_url(shared_redis_url(), prefix=ns)
        try:
            yield store
        finally:
            with contextlib.suppress(Exception):
                for key in store.client.scan_iter(match=f"{ns}:*", count=1000):
                    store.client.unlink(key)
            store.close()

    @contextlib.asynccontextmanager
    async def _single_async(ns: str, tmp: Path) -> AsyncIterator[AsyncRedisStore]:
        store = AsyncRedisStore.from_url(shared_redis_url(), prefix=ns)
        try:
            yield store
        finally:
            with contextlib.suppress(Exception):
                async for key in store.client.scan_iter(match=f"{ns}:*", count=1000):
                    await store.client.unlink(key)
            await store.aclose()

    @contextlib.contextmanager
    def _broken(ns: str, tmp: Path) -> Iterator[RedisStore]:
        store = RedisStore.from_url(_dead_url(), prefix=ns, **_BROKEN)
        try:
            yield store
        finally:
            store.close()

    @contextlib.asynccontextmanager
    async def _broken_async(ns: str, tmp: Path) -> AsyncIterator[AsyncRedisStore]:
        store = AsyncRedisStore.from_url(_dead_url(), prefix=ns, **_BROKEN)
        try:
            yield store
        finally:
            await store.aclose()

    # The Cluster is private and thrown away at the end: no per-test cleanup.
    # A Cluster client costs ~0.1-0.2 s to start (it reads the slot map and
    # the COMMAND table), so the blocking tests share one; async clients
    # belong to one event loop, and each contract test has its own loop.
    _shared: dict[str, RedisCluster] = {}

    @contextlib.contextmanager
    def _cluster(ns: str, tmp: Path) -> Iterator[RedisStore]:
        url = cluster_url()
        if url not in _shared:
            _shared[url] = RedisCluster.from_url(url)
            atexit.register(_shared[url].close)
        yield RedisStore(_shared[url], prefix=ns)

    @contextlib.asynccontextmanager
    async def _cluster_async(ns: str, tmp: Path) -> AsyncIterator[AsyncRedisStore]:
        store = AsyncRedisStore.from_url(cluster_url(), cluster=True, prefix=ns)
        try:
            yield store
        finally:
            await store.aclose()

    @contextlib.asynccontextmanager
    async def _cluster_broken_async(ns: str, tmp: Path) -> AsyncIterator[AsyncRedisStore]:
        # The async Cluster client discovers its nodes on first use, so this
        # fails inside the store call. (The blocking one fails at
        # construction, in ``from_url``, which tests/stores covers.)
        store = AsyncRedisStore.from_url(
            "redis+cluster://" + _dead_url().removeprefix("redis://"), **_BROKEN, prefix=ns
        )
        try:
            yield store
        finally:
            await store.aclose()

    BACKENDS = [
        Backend(
            "redis",
            make_sync=_single,
            make_async=_single_async,
            make_broken_sync=_broken,
            make_broken_async=_broken_async,
        ),
        Backend(
            "redis-cluster",
            make_sync=_cluster,
            make_async=_cluster_async,
            make_broken_async=_cluster_broken_async,
        ),
    ]
