"""The verified-token cache: what it may skip and what it must never skip.

It saves the signature check (and the claim checks that cannot change) for
a token seen before. It must never save the session read (revocation is
instant), the clock checks, or a check on a token that differs by one byte;
it is bounded, and cleared when the keys change. Service-level tests run on
both faces and both local stores; codec-level ones use the codec directly.
(Expiry, the size bound, rotation and type confusion from the cache are in
test_tokens.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conftest import CHEAP, Clock, Face, FaceFactory
from secure_auth import (
    AuthConfig,
    ExpiredToken,
    InvalidToken,
    KeySet,
    MemoryStore,
    SessionExpired,
    SessionRevoked,
    SQLiteStore,
)
from secure_auth.tokens import ACCESS_TYPE, TokenCodec
from tokens_util import forge

NOW = 1_800_000_000.0


class CountingStore:
    """Wraps a store and counts the ``get_session`` calls it serves."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads = 0

    def get_session(self, session_id: str, now: float) -> Any:
        self.reads += 1
        return self.inner.get_session(session_id, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> CountingStore:
    inner = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    return CountingStore(inner)


@pytest.fixture
def auth(make_face: FaceFactory, store: CountingStore) -> Face:
    return make_face(store)


def login(auth: Face, uid: str = "alice") -> Any:
    user = auth.register_user({"id": uid, "password": "correct horse"})
    return auth.login(user, "correct horse")


# -- the session is read every time ---------------------------------------------------


def test_a_cached_token_still_reads_its_session_every_time(
    auth: Face, store: CountingStore
) -> None:
    tokens = login(auth)
    for expected in range(1, 6):
        auth.validate_session(tokens.access_token)
        assert store.reads == expected
    assert len(auth.service._codec._cache) == 1  # one token, verified once


def test_logout_revokes_a_cached_token_at_once(auth: Face) -> None:
    tokens = login(auth)
    for _ in range(3):
        auth.validate_session(tokens.access_token)  # cached now
    auth.logout(tokens.session_id)
    with pytest.raises(SessionRevoked):
        auth.validate_session(tokens.access_token)


def test_logout_all_revokes_every_cached_token_of_the_user(auth: Face) -> None:
    first, second = login(auth), login(auth)
    for tokens in (first, second):
        auth.validate_session(tokens.access_token)
    auth.logout_all("alice")
    for tokens in (first, second):
        with pytest.raises(SessionRevoked):
            auth.validate_session(tokens.access_token)


def test_a_cached_token_of_an_idle_session_is_refused(
    make_face: FaceFactory, store: CountingStore, clock: Clock
) -> None:
    auth = make_face(store, config=CHEAP.replace(idle_timeout=60))
    tokens = login(auth)
    auth.validate_session(tokens.access_token)  # cached; the token lives 15 minutes
    clock.advance(61)
    with pytest.raises(SessionExpired):
        auth.validate_session(tokens.access_token)


def test_a_cached_token_expires_on_time(auth: Face, clock: Clock) -> None:
    tokens = login(auth)
    auth.validate_session(tokens.access_token)
    clock.advance(auth.service.config.access_token_ttl + 1)
    with pytest.raises(ExpiredToken):
        auth.validate_session(tokens.access_token)


def test_rotating_keys_clears_the_cache_and_old_tokens_need_the_old_key(auth: Face) -> None:
    tokens = login(auth)
    auth.validate_session(tokens.access_token)
    assert len(auth.service._codec._cache) == 1
    auth.rotate_keys(KeySet(Ed25519PrivateKey.generate()))
    assert len(auth.service._codec._cache) == 0
    with pytest.raises(InvalidToken):
        auth.validate_session(tokens.access_token)


def test_the_cache_can_be_switched_off(make_face: FaceFactory, store: CountingStore) -> None:
    auth = make_face(store, config=CHEAP.replace(token_cache_size=0))
    tokens = login(auth)
    for _ in range(2):
        assert auth.validate_session(tokens.access_token).user_id == "alice"
    assert auth.service._codec._cache is None


# -- the codec: exact keys, the clock, bounds -----------------------------------------


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def codec(key: Ed25519PrivateKey) -> TokenCodec:
    return TokenCodec(KeySet(key), AuthConfig(token_cache_size=4))


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "secure-auth",
        "sub": "u1",
        "sid": "s1",
        "iat": int(NOW),
        "exp": int(NOW) + 900,
        "jti": "j1",
    }
    base.update(changes)
    return base


def refused(codec: TokenCodec, token: str, reason: str, *, typ: str, now: float) -> None:
    """The token is refused for ``reason`` (the logged reason, not the public text)."""
    with pytest.raises(InvalidToken) as info:
        codec.decode(token, typ=typ, now=now)
    assert reason in info.value.reason


def header(codec: TokenCodec) -> dict[str, Any]:
    return {"alg": "EdDSA", "kid": codec.keys.signing_kid, "typ": ACCESS_TYPE}


def test_one_changed_byte_is_a_miss_and_fully_checked(codec: TokenCodec) -> None:
    token = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    codec.decode(token, typ=ACCESS_TYPE, now=NOW)  # cached
    # The same signature with its last character changed decodes to the same
    # 64 bytes when only unused bits change: the cache must not answer for it.
    last = token[-1]
    twin = token[:-1] + {"A": "B", "Q": "R", "g": "h", "w": "x"}[last]
    refused(codec, twin, "non-canonical", typ=ACCESS_TYPE, now=NOW)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    refused(codec, flipped, "bad signature", typ=ACCESS_TYPE, now=NOW)


def test_not_before_is_checked_against_the_clock_on_every_use(
    codec: TokenCodec, key: Ed25519PrivateKey
) -> None:
    token = forge(header(codec), claims(nbf=int(NOW) + 60), key)
    refused(codec, token, "nbf", typ=ACCESS_TYPE, now=NOW)
    assert codec.decode(token, typ=ACCESS_TYPE, now=NOW + 61).user_id == "u1"
    refused(codec, token, "nbf", typ=ACCESS_TYPE, now=NOW)  # from the cache, still refused


def test_issued_in_the_future_is_checked_on_every_use(
    codec: TokenCodec, key: Ed25519PrivateKey
) -> None:
    token = forge(header(codec), claims(iat=int(NOW) + 60), key)
    assert codec.decode(token, typ=ACCESS_TYPE, now=NOW + 60).user_id == "u1"
    refused(codec, token, "'iat'", typ=ACCESS_TYPE, now=NOW)


def test_a_token_with_bad_claims_stays_refused(codec: TokenCodec, key: Ed25519PrivateKey) -> None:
    token = forge(header(codec), claims(iss="evil"), key)
    for _ in range(3):
        refused(codec, token, "wrong 'iss'", typ=ACCESS_TYPE, now=NOW)
    assert codec._cache is not None and len(codec._cache) == 0  # never cached


def test_the_cache_evicts_the_least_recently_used_token(codec: TokenCodec) -> None:
    tokens = [
        codec.encode(typ=ACCESS_TYPE, user_id=f"u{i}", session_id="s", now=NOW, expires_at=NOW + 60)
        for i in range(5)
    ]
    for token in tokens[:4]:
        codec.decode(token, typ=ACCESS_TYPE, now=NOW)
    codec.decode(tokens[0], typ=ACCESS_TYPE, now=NOW)  # the oldest, used again
    codec.decode(tokens[4], typ=ACCESS_TYPE, now=NOW)  # evicts tokens[1]
    assert codec._cache is not None
    cached = set(codec._cache._data)
    assert tokens[0] in cached and tokens[1] not in cached and len(cached) == 4


def test_the_header_memo_takes_only_headers_of_valid_signatures(
    codec: TokenCodec, key: Ed25519PrivateKey
) -> None:
    forged = forge({**header(codec), "x": 1}, claims(), Ed25519PrivateKey.generate())
    refused(codec, forged, "bad signature", typ=ACCESS_TYPE, now=NOW)
    assert codec._verified_headers == {}
    codec.decode(forge(header(codec), claims(), key), typ=ACCESS_TYPE, now=NOW)
    assert len(codec._verified_headers) == 1


def test_the_header_memo_is_bounded(codec: TokenCodec, key: Ed25519PrivateKey) -> None:
    for i in range(100):
        codec.decode(forge({**header(codec), "n": i}, claims(), key), typ=ACCESS_TYPE, now=NOW)
    assert len(codec._verified_headers) <= 32


def test_a_memoised_header_still_enforces_the_token_type(
    codec: TokenCodec, key: Ed25519PrivateKey
) -> None:
    codec.decode(forge(header(codec), claims(), key), typ=ACCESS_TYPE, now=NOW)
    other = forge(header(codec), claims(jti="j2", gen=0), key)  # same header segment
    refused(codec, other, "wrong token type", typ="rt+jwt", now=NOW)


def test_new_keys_clear_the_header_memo(codec: TokenCodec, key: Ed25519PrivateKey) -> None:
    token = forge(header(codec), claims(), key)
    codec.decode(token, typ=ACCESS_TYPE, now=NOW)
    codec.set_keys(KeySet(Ed25519PrivateKey.generate()))
    assert codec._verified_headers == {}
    refused(codec, token, "unknown 'kid'", typ=ACCESS_TYPE, now=NOW)
