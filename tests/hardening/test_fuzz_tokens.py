"""Fuzzing ``validate_session`` and ``refresh``: only AuthErrors come out, fast.

Arbitrary text and bytes, mutations of real tokens, and validly signed tokens
with arbitrary headers and claims, on both faces. Any other exception (a
``TypeError`` from an odd claim, a ``RecursionError``...) or an example that
takes over 5 s fails the test.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CHEAP, Clock, Face
from secure_auth import AuthError, AuthService, MemoryStore, SyncAuthService
from secure_auth.tokens import ACCESS_TYPE, REFRESH_TYPE

from .fuzzing import anything, mutated, signed, time_limit

# CI-sized by default; SECURE_AUTH_FUZZ_EXAMPLES=100000 for a long run.
EXAMPLES = int(os.environ.get("SECURE_AUTH_FUZZ_EXAMPLES", "100"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # hangs are caught by time_limit (SIGALRM, 5 s): load-proof
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


class Target:
    def __init__(self, face: Face) -> None:
        self.face = face
        user = face.register_user({"id": "fuzz", "password": "pw"})
        self.tokens = face.login(user, "pw")

    def claims(self, token: str) -> dict[str, Any]:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "==")))


def _target(cls: Any, keypair: tuple[bytes, bytes]) -> Iterator[Target]:
    face = Face(cls(*keypair, MemoryStore(), config=CHEAP, clock=Clock()))
    yield Target(face)
    face.close()


# The decisions are one flow for both faces; the faces differ only in how
# effects run, so the async face gets the arbitrary-input runs only.
@pytest.fixture(scope="module")
def target(keypair: tuple[bytes, bytes]) -> Iterator[Target]:
    yield from _target(SyncAuthService, keypair)


@pytest.fixture(scope="module")
def async_target(keypair: tuple[bytes, bytes]) -> Iterator[Target]:
    yield from _target(AuthService, keypair)


def only_auth_errors(call: Any, value: Any) -> Any:
    with time_limit(5):
        try:
            return call(value)
        except AuthError:
            return None


@SETTINGS
@given(data=st.data())
def test_validate_session_survives_arbitrary_input(target: Target, data: st.DataObject) -> None:
    value = data.draw(anything())
    assert only_auth_errors(target.face.validate_session, value) is None


@SETTINGS
@given(data=st.data())
def test_async_face_survives_arbitrary_and_mutated_input(
    async_target: Target, data: st.DataObject
) -> None:
    face, tokens = async_target.face, async_target.tokens
    value = data.draw(st.one_of(anything(), mutated(tokens.access_token)))
    assert only_auth_errors(face.validate_session, value) is None or value == tokens.access_token
    value = data.draw(st.one_of(anything(), mutated(tokens.refresh_token)))
    assert only_auth_errors(face.refresh, value) is None or value == tokens.refresh_token


@SETTINGS
@given(data=st.data())
def test_validate_session_rejects_every_mutated_token(target: Target, data: st.DataObject) -> None:
    original = target.tokens.access_token
    token = data.draw(mutated(original))
    info = only_auth_errors(target.face.validate_session, token)
    # Nothing but the very token itself may pass: no malleable encoding.
    assert info is None or token == original


@SETTINGS
@given(data=st.data())
def test_validate_session_survives_signed_tokens_with_arbitrary_claims(
    target: Target, data: st.DataObject
) -> None:
    keys = target.face.service.keys
    claims = target.claims(target.tokens.access_token)
    token = data.draw(signed(keys, ACCESS_TYPE, claims))
    info = only_auth_errors(target.face.validate_session, token)
    if info is not None:  # only if it still says exactly the same session
        assert (info.user_id, info.session_id) == ("fuzz", target.tokens.session_id)


@SETTINGS
@given(data=st.data())
def test_refresh_survives_arbitrary_and_mutated_input(target: Target, data: st.DataObject) -> None:
    original = target.tokens.refresh_token
    value = data.draw(st.one_of(anything(), mutated(original)))
    tokens = only_auth_errors(target.face.refresh, value)
    assert tokens is None or value == original


@SETTINGS
@given(data=st.data())
def test_refresh_survives_signed_tokens_with_arbitrary_claims(
    target: Target, data: st.DataObject
) -> None:
    keys = target.face.service.keys
    claims = target.claims(target.tokens.refresh_token)
    token = data.draw(signed(keys, REFRESH_TYPE, claims))
    tokens = only_auth_errors(target.face.refresh, token)
    if tokens is not None:
        assert tokens.session_id == target.tokens.session_id
