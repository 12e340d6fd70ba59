"""Two app servers, one Redis: what one instance revokes, the other rejects.

Each instance is its own service with its own client and connections, as
two processes behind a load balancer would be; they share only the keys
(and, here, the signing key and the test clock). Runs on one Redis node and
on the Cluster, with both faces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import CHEAP, Clock, Face, FaceFactory
from redis_servers import cluster_url, face_kind, prefix, redis_store, shared_redis_url
from secure_auth import RefreshReuseDetected, SessionRevoked

__all__ = ["prefix"]  # the fixture, imported for pytest

pytestmark = pytest.mark.integration


@pytest.fixture(params=["single", "cluster"])
def two(
    request: pytest.FixtureRequest, make_face: FaceFactory, prefix: str
) -> Iterator[tuple[Face, Face]]:
    url = shared_redis_url() if request.param == "single" else cluster_url()
    kind = face_kind(request)
    faces = [
        make_face(redis_store(kind, url, prefix=prefix, cluster=request.param == "cluster"))
        for _ in range(2)
    ]
    yield faces[0], faces[1]
    if kind == "sync":  # the async faces close their stores themselves
        for face in faces:
            face.service.close()


def login(auth: Face, uid: str = "alice") -> Any:
    user = auth.register_user({"id": uid, "password": "pw"})
    return auth.login(user, "pw")


def test_logout_on_one_instance_is_rejected_by_the_other(two: tuple[Face, Face]) -> None:
    a, b = two
    tokens = login(a)
    assert b.validate_session(tokens.access_token).session_id == tokens.session_id
    a.logout(tokens.session_id)
    with pytest.raises(SessionRevoked):
        b.validate_session(tokens.access_token)
    with pytest.raises(SessionRevoked):
        b.refresh(tokens.refresh_token)


def test_logout_all_on_one_instance_ends_sessions_made_by_the_other(
    two: tuple[Face, Face], clock: Clock
) -> None:
    a, b = two
    first = login(b)
    clock.advance(1)
    second = login(b)
    other_user = login(b, "bob")
    listed = a.list_sessions("alice")
    assert [s.session_id for s in listed] == [first.session_id, second.session_id]
    assert a.logout_all("alice") == 2
    for tokens in (first, second):
        with pytest.raises(SessionRevoked):
            b.validate_session(tokens.access_token)
    assert b.list_sessions("alice") == []
    assert b.validate_session(other_user.access_token).user_id == "bob"


def test_refresh_replay_on_another_instance_revokes_the_session(
    two: tuple[Face, Face], clock: Clock
) -> None:
    a, b = two
    tokens = login(a)
    rotated = a.refresh(tokens.refresh_token)
    clock.advance(CHEAP.refresh_grace_period + 1)
    with pytest.raises(RefreshReuseDetected):
        b.refresh(tokens.refresh_token)  # the old token, replayed elsewhere
    for face in (a, b):
        with pytest.raises(SessionRevoked):
            face.validate_session(rotated.access_token)
    with pytest.raises(SessionRevoked):
        a.refresh(rotated.refresh_token)


def test_two_tabs_refreshing_through_two_instances_log_nobody_out(
    two: tuple[Face, Face],
) -> None:
    a, b = two
    tokens = login(a)
    first = a.refresh(tokens.refresh_token)
    second = b.refresh(tokens.refresh_token)  # inside the grace window
    for face, new in ((a, second), (b, first)):
        assert face.validate_session(new.access_token).session_id == tokens.session_id
    record = a.session_store.get_session(tokens.session_id, a.service._clock())
    if hasattr(record, "__await__"):
        record = a._loop.run_until_complete(record)  # type: ignore[union-attr]
    assert record.refresh_generation == 1
