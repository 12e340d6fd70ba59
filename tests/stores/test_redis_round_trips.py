"""Validation costs exactly one Redis round trip (DESIGN.md, "Scale").

Counted on the servers themselves: ``INFO commandstats`` before and after
one ``validate_session``, on a private server and summed over the Cluster's
nodes. One command, not pipelined, is one round trip.
"""

from __future__ import annotations

from collections import Counter

import pytest
import redis

from conftest import FaceFactory
from redis_servers import (
    RedisServer,
    cluster_node_urls,
    cluster_url,
    face_kind,
    private_redis,
    redis_store,
)

__all__ = ["private_redis"]  # the fixture, imported for pytest

pytestmark = pytest.mark.integration


def commands(observers: list[redis.Redis]) -> Counter[str]:
    """Calls per command on these servers, minus the observers' own INFO."""
    total: Counter[str] = Counter()
    for client in observers:
        for name, stats in client.info("commandstats").items():
            if name != "cmdstat_info":
                total[name.removeprefix("cmdstat_")] += int(stats["calls"])
    return total


def assert_one_round_trip_per_validation(auth: object, node_urls: list[str]) -> None:
    user = auth.register_user({"id": "alice", "password": "pw"})  # type: ignore[attr-defined]
    tokens = auth.login(user, "pw")  # type: ignore[attr-defined]
    auth.validate_session(tokens.access_token)  # type: ignore[attr-defined]  # warm connection
    observers = [redis.Redis.from_url(url) for url in node_urls]
    try:
        commands(observers)  # connect the observers before counting
        for _ in range(3):
            before = commands(observers)
            info = auth.validate_session(tokens.access_token)  # type: ignore[attr-defined]
            after = commands(observers)
            assert info.session_id == tokens.session_id
            assert after - before == Counter({"get": 1})
    finally:
        for client in observers:
            client.close()


def test_validation_is_one_round_trip_on_one_node(
    make_face: FaceFactory, request: pytest.FixtureRequest, private_redis: RedisServer
) -> None:
    auth = make_face(redis_store(face_kind(request), private_redis.url))
    assert_one_round_trip_per_validation(auth, [private_redis.url])


def test_validation_is_one_round_trip_on_the_cluster(
    make_face: FaceFactory, request: pytest.FixtureRequest
) -> None:
    store = redis_store(face_kind(request), cluster_url(), cluster=True, prefix="rt")
    assert_one_round_trip_per_validation(make_face(store), cluster_node_urls())
