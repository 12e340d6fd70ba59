"""A Redis outage in the middle of use: fail closed, then recover unaided.

A private redis-server is killed (a crash) or frozen (a hang) under a live
service. Every call that needs the store must raise ``StoreUnavailable`` —
never return, never answer "invalid" — and once a server is back on the same
port the very same service objects work again, without being rebuilt.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import pytest
from redis.backoff import NoBackoff
from redis.retry import Retry

from conftest import FaceFactory
from redis_servers import RedisServer, face_kind, private_redis, redis_store
from secure_auth import RefreshReuseDetected, SessionRevoked, StoreUnavailable
from secure_auth.stores.redis import RedisStore

__all__ = ["private_redis"]  # the fixture, imported for pytest

pytestmark = pytest.mark.integration

# Short timeouts and one retry: an outage is noticed in about a second.
FAST: dict[str, Any] = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 0.5,
    "retry": Retry(NoBackoff(), 1),
}


def store_calls(auth: Any, user: dict[str, Any], tokens: Any) -> list[Callable[[], object]]:
    return [
        lambda: auth.validate_session(tokens.access_token),
        lambda: auth.refresh(tokens.refresh_token),
        lambda: auth.login(user, "pw"),
        lambda: auth.logout(tokens.session_id),
        lambda: auth.logout_all("alice"),
        lambda: auth.list_sessions("alice"),
    ]


def test_killed_server_fails_closed_then_the_same_service_recovers(
    make_face: FaceFactory, request: pytest.FixtureRequest, private_redis: RedisServer
) -> None:
    auth = make_face(redis_store(face_kind(request), private_redis.url, **FAST))
    user = auth.register_user({"id": "alice", "password": "pw"})
    tokens = auth.login(user, "pw")
    assert auth.validate_session(tokens.access_token).user_id == "alice"

    private_redis.stop()  # SIGKILL
    for call in store_calls(auth, user, tokens):
        with pytest.raises(StoreUnavailable) as caught:
            call()
        # A store failure is never a verdict on the session.
        assert not isinstance(caught.value, SessionRevoked | RefreshReuseDetected)
        assert caught.value.status == 503

    private_redis.start()  # same port, empty: the old session died with it
    with pytest.raises(SessionRevoked):
        auth.validate_session(tokens.access_token)
    fresh = auth.login(user, "pw")
    assert auth.validate_session(fresh.access_token).session_id == fresh.session_id
    rotated = auth.refresh(fresh.refresh_token)
    assert auth.validate_session(rotated.access_token).user_id == "alice"


def test_hung_server_times_out_into_store_unavailable(
    make_face: FaceFactory, request: pytest.FixtureRequest, private_redis: RedisServer
) -> None:
    auth = make_face(redis_store(face_kind(request), private_redis.url, **FAST))
    user = auth.register_user({"id": "alice", "password": "pw"})
    tokens = auth.login(user, "pw")
    assert private_redis.process is not None
    pid = private_redis.process.pid
    os.kill(pid, signal.SIGSTOP)  # accepts nothing, answers nothing
    try:
        with pytest.raises(StoreUnavailable):
            auth.validate_session(tokens.access_token)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert auth.validate_session(tokens.access_token).user_id == "alice"


def test_blocking_cluster_client_that_cannot_reach_a_node_is_store_unavailable(
    tmp_path: Any,
) -> None:
    # The blocking RedisCluster reads the slot map when it is made, so the
    # outage surfaces in from_url, still as StoreUnavailable.
    dead = RedisServer(folder=tmp_path).port
    with pytest.raises(StoreUnavailable):
        RedisStore.from_url(f"redis+cluster://127.0.0.1:{dead}", **FAST)
