"""Behaviour of the service, run unchanged against both faces and local stores."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import CHEAP, Clock, Face, FaceFactory
from secure_auth import (
    AuthEvent,
    AuthService,
    ConfigurationError,
    ExpiredToken,
    InvalidCredentials,
    InvalidPasswordHash,
    InvalidToken,
    MemoryStore,
    PasswordPolicyError,
    RefreshReuseDetected,
    SessionExpired,
    SessionRevoked,
    SQLiteStore,
    StoreUnavailable,
    SyncAuthService,
    UnsupportedByStore,
)
from secure_auth.sessions import decide_refresh


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")


@pytest.fixture
def events() -> list[AuthEvent]:
    return []


@pytest.fixture
def auth(make_face: FaceFactory, store: Any, events: list[AuthEvent]) -> Face:
    return make_face(store, on_event=events.append)


def new_user(auth: Face, password: str = "correct horse", uid: str = "alice") -> dict[str, Any]:
    return auth.register_user({"id": uid, "login": uid, "password": password})


# -- the Node package's flow ---------------------------------------------------


def test_register_login_validate_refresh_logout(auth: Face) -> None:
    user = new_user(auth)
    assert user["login"] == "alice" and user["password"].startswith("$argon2id$")
    tokens = auth.login(user, "correct horse", user_agent="UA", ip_address="203.0.113.9")
    info = auth.validate_session(tokens.access_token)
    assert (info.user_id, info.session_id, info.auth_method) == (
        "alice",
        tokens.session_id,
        "password",
    )
    rotated = auth.refresh(tokens.refresh_token)
    assert rotated.session_id == tokens.session_id
    assert rotated.refresh_token != tokens.refresh_token
    assert auth.validate_session(rotated.access_token).user_id == "alice"
    auth.logout(tokens.session_id)
    for token in (tokens.access_token, rotated.access_token):
        with pytest.raises(SessionRevoked):
            auth.validate_session(token)
    with pytest.raises(SessionRevoked):
        auth.refresh(rotated.refresh_token)


def test_register_user_keeps_other_fields_and_does_not_mutate_input(auth: Face) -> None:
    data = {"id": 7, "login": "bob", "password": "pw", "email": "b@example.org"}
    result = auth.register_user(data)
    assert data["password"] == "pw"
    assert {k: v for k, v in result.items() if k != "password"} == {
        "id": 7,
        "login": "bob",
        "email": "b@example.org",
    }


def test_user_objects_and_integer_ids_work(auth: Face) -> None:
    @dataclasses.dataclass
    class User:
        id: int
        password: str

    user = User(42, auth.register_user({"password": "pw"})["password"])
    tokens = auth.login(user, "pw")
    assert auth.validate_session(tokens.access_token).user_id == "42"


def test_tokens_stay_out_of_repr(auth: Face) -> None:
    tokens = auth.login(new_user(auth), "correct horse")
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)


# -- credentials ----------------------------------------------------------------


def test_wrong_password_and_unknown_user_raise_the_same_error(auth: Face, events) -> None:
    user = new_user(auth)
    with pytest.raises(InvalidCredentials) as wrong:
        auth.login(user, "wrong")
    with pytest.raises(InvalidCredentials) as unknown:
        auth.login(None, "correct horse")
    assert str(wrong.value) == str(unknown.value)
    assert wrong.value.code == unknown.value.code == "invalid_credentials"
    failed = [e for e in events if e.type == "login_failed"]
    assert [e.reason for e in failed] == ["wrong_password", "unknown_user"]


def test_unknown_user_spends_one_hash(auth: Face) -> None:
    seen = []
    hasher = auth.service._hasher
    inner = hasher._hasher

    class Counting:
        def verify(self, h: str, p: str) -> bool:
            seen.append(h)
            return inner.verify(h, p)

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    hasher._hasher = Counting()
    with pytest.raises(InvalidCredentials):
        auth.login(None, "pw")
    assert seen == [hasher._dummy_hash]


def test_login_policy_errors(auth: Face) -> None:
    user = new_user(auth)
    with pytest.raises(PasswordPolicyError):
        auth.login(user, "")
    with pytest.raises(PasswordPolicyError):
        auth.login(user, "x" * 1025)
    with pytest.raises(PasswordPolicyError):
        auth.register_user({"id": "x", "password": ""})


def test_stored_hash_that_is_not_argon2id_fails_clearly_after_one_hash(auth: Face) -> None:
    seen = []
    hasher = auth.service._hasher
    inner = hasher._hasher

    class Counting:
        def verify(self, h: str, p: str) -> bool:
            seen.append(h)
            return inner.verify(h, p)

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    hasher._hasher = Counting()
    with pytest.raises(InvalidPasswordHash):
        auth.login({"id": "u", "password": "$2b$12$notargon"}, "pw")
    # Timing like any failed login: a broken record is not told apart.
    assert seen == [hasher._dummy_hash]


def test_outdated_hash_is_upgraded_through_the_callback(make_face: FaceFactory, store: Any) -> None:
    weak = make_face(store)
    strong_config = CHEAP.replace(argon2_time_cost=2)
    updates: list[tuple[str, str]] = []
    strong = make_face(
        store, config=strong_config, update_password=lambda uid, h: updates.append((uid, h))
    )
    user = new_user(weak)
    strong.login(user, "correct horse")
    assert len(updates) == 1 and updates[0][0] == "alice"
    assert "t=2" in updates[0][1] and strong.verify_password(updates[0][1], "correct horse")
    strong.login({**user, "password": updates[0][1]}, "correct horse")
    assert len(updates) == 1  # already current: no second upgrade


def test_async_update_callback_is_awaited(keypair, clock: Clock) -> None:
    updates: list[str] = []

    async def update(uid: str, new_hash: str) -> None:
        await asyncio.sleep(0)
        updates.append(uid)

    async def main() -> None:
        weak = AuthService(*keypair, MemoryStore(), config=CHEAP, clock=clock)
        user = await weak.register_user({"id": "a", "password": "pw"})
        strong = AuthService(
            *keypair,
            MemoryStore(),
            clock=clock,
            config=CHEAP.replace(argon2_time_cost=2),
            update_password=update,
        )
        await strong.login(user, "pw")

    asyncio.run(main())
    assert updates == ["a"]


def test_sync_face_refuses_an_async_callback_clearly(keypair, clock: Clock) -> None:
    async def update(uid: str, new_hash: str) -> None: ...

    weak = SyncAuthService(*keypair, MemoryStore(), config=CHEAP, clock=clock)
    strong = SyncAuthService(
        *keypair,
        MemoryStore(),
        config=CHEAP.replace(argon2_time_cost=2),
        update_password=update,
        clock=clock,
    )
    with pytest.raises(ConfigurationError, match="async"):
        strong.login(weak.register_user({"id": "a", "password": "pw"}), "pw")


# -- expiry -----------------------------------------------------------------------


def test_access_token_expires_after_its_lifetime(auth: Face, clock: Clock) -> None:
    tokens = auth.login(new_user(auth), "correct horse")
    clock.advance(CHEAP.access_token_ttl - 1)
    auth.validate_session(tokens.access_token)
    clock.advance(1)
    with pytest.raises(ExpiredToken):
        auth.validate_session(tokens.access_token)
    assert auth.validate_session(auth.refresh(tokens.refresh_token).access_token)


def test_session_absolute_lifetime_caps_everything(
    make_face: FaceFactory, store: Any, clock: Clock
) -> None:
    config = CHEAP.replace(session_max_age=3600, access_token_ttl=900, refresh_token_ttl=7200)
    auth = make_face(store, config=config)
    tokens = auth.login(new_user(auth), "correct horse")
    assert tokens.refresh_expires_at == int(clock.now) + 3600
    start = int(clock.now)
    for _ in range(3):
        clock.advance(899)
        tokens = auth.refresh(tokens.refresh_token)
        assert tokens.refresh_expires_at == start + 3600  # capped, never extended
    clock.advance(3600 - 3 * 899 - 1)
    tokens = auth.refresh(tokens.refresh_token)
    assert tokens.access_expires_at == start + 3600  # capped by the session
    clock.advance(1)
    with pytest.raises(ExpiredToken):
        auth.refresh(tokens.refresh_token)
    with pytest.raises(ExpiredToken):
        auth.validate_session(tokens.access_token)


def test_idle_timeout_ends_unrefreshed_sessions(
    make_face: FaceFactory, store: Any, clock: Clock
) -> None:
    auth = make_face(store, config=CHEAP.replace(idle_timeout=1800))
    tokens = auth.login(new_user(auth), "correct horse")
    clock.advance(1000)
    tokens = auth.refresh(tokens.refresh_token)  # activity resets idle time
    clock.advance(1000)
    tokens = auth.refresh(tokens.refresh_token)
    clock.advance(1801)
    with pytest.raises(SessionExpired):
        auth.refresh(tokens.refresh_token)


# -- refresh rotation -------------------------------------------------------------


def test_replayed_refresh_token_revokes_the_session_and_emits_events(
    auth: Face, clock: Clock, events: list[AuthEvent]
) -> None:
    first = auth.login(new_user(auth), "correct horse")
    second = auth.refresh(first.refresh_token)
    clock.advance(CHEAP.refresh_grace_period + 1)
    with pytest.raises(RefreshReuseDetected):
        auth.refresh(first.refresh_token)  # the thief (or a stale client) comes back
    with pytest.raises(SessionRevoked):
        auth.validate_session(second.access_token)  # the legitimate user is out too
    with pytest.raises(SessionRevoked):
        auth.refresh(second.refresh_token)
    kinds = [e.type for e in events]
    assert "refresh_reuse_detected" in kinds
    reuse = next(e for e in events if e.type == "refresh_reuse_detected")
    assert reuse.session_id == first.session_id and reuse.detail["presented_generation"] == 0


def test_older_generations_are_replays_even_inside_the_window(auth: Face) -> None:
    t0 = auth.login(new_user(auth), "correct horse")
    t1 = auth.refresh(t0.refresh_token)
    auth.refresh(t1.refresh_token)
    with pytest.raises(RefreshReuseDetected):
        auth.refresh(t0.refresh_token)  # two generations back: never a race


def test_duplicate_inside_grace_window_gets_current_tokens_without_logout(
    auth: Face, clock: Clock
) -> None:
    t0 = auth.login(new_user(auth), "correct horse")
    t1 = auth.refresh(t0.refresh_token)
    clock.advance(CHEAP.refresh_grace_period)  # still inside the window
    t1b = auth.refresh(t0.refresh_token)  # the second tab
    assert auth.validate_session(t1b.access_token).session_id == t0.session_id
    assert auth.validate_session(t1.access_token).session_id == t0.session_id
    t2 = auth.refresh(t1b.refresh_token)  # its refresh token is current
    assert auth.validate_session(t2.access_token)


def test_grace_window_zero_makes_every_duplicate_a_replay(
    make_face: FaceFactory, store: Any
) -> None:
    auth = make_face(store, config=CHEAP.replace(refresh_grace_period=0))
    t0 = auth.login(new_user(auth), "correct horse")
    auth.service._clock.advance(0.001)
    auth.refresh(t0.refresh_token)
    auth.service._clock.advance(0.001)
    with pytest.raises(RefreshReuseDetected):
        auth.refresh(t0.refresh_token)


def test_refresh_race_with_threads_logs_nobody_out(keypair, store: Any) -> None:
    auth = SyncAuthService(*keypair, store, config=CHEAP)
    tokens = auth.login(new_user(Face(auth)), "correct horse")
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def tab() -> None:
        barrier.wait()
        try:
            results.append(auth.refresh(tokens.refresh_token))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r for r in results if isinstance(r, Exception)] == []
    record = store.get_session(tokens.session_id, auth._clock())
    assert record.refresh_generation == 1  # exactly one rotation won
    for r in results:
        assert auth.validate_session(r.access_token).session_id == tokens.session_id


def test_refresh_race_with_tasks_logs_nobody_out(keypair, store: Any) -> None:
    async def main() -> None:
        auth = AuthService(*keypair, store, config=CHEAP)
        user = await auth.register_user({"id": "a", "password": "pw"})
        tokens = await auth.login(user, "pw")
        results = await asyncio.gather(
            *(auth.refresh(tokens.refresh_token) for _ in range(8)), return_exceptions=True
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        record = store.get_session(tokens.session_id, auth._clock())
        assert record.refresh_generation == 1
        for r in results:
            assert (await auth.validate_session(r.access_token)).user_id == "a"
        await auth.aclose()

    asyncio.run(main())


def test_refresh_token_from_another_session_user_is_rejected(auth: Face) -> None:
    a = auth.login(new_user(auth), "correct horse")
    b = auth.login(new_user(auth, uid="bob"), "correct horse")
    auth.session_store.delete_session(b.session_id)
    forged_record = auth.session_store.get_session(a.session_id, auth.service._clock())
    auth.session_store.save_session(dataclasses.replace(forged_record, session_id=b.session_id))
    # b's token names bob, the session under b's id now belongs to alice
    with pytest.raises(InvalidToken) as info:
        auth.validate_session(b.access_token)
    assert "does not match the session's user" in info.value.reason


# -- management ---------------------------------------------------------------------


def test_logout_all_and_list_sessions(auth: Face, clock: Clock) -> None:
    user = new_user(auth)
    sessions = []
    for _ in range(3):
        sessions.append(auth.login(user, "correct horse"))
        clock.advance(1)
    other = auth.login(new_user(auth, uid="bob"), "correct horse")
    listed = auth.list_sessions("alice")
    assert [r.session_id for r in listed] == [s.session_id for s in sessions]
    assert auth.logout_all("alice", except_session_id=sessions[0].session_id) == 2
    auth.validate_session(sessions[0].access_token)
    for s in sessions[1:]:
        with pytest.raises(SessionRevoked):
            auth.validate_session(s.access_token)
    assert auth.logout_all("alice") == 1
    auth.validate_session(other.access_token)


def test_change_password_revokes_other_sessions(auth: Face) -> None:
    user = new_user(auth)
    keep = auth.login(user, "correct horse")
    lose = auth.login(user, "correct horse")
    stored: dict[str, str] = {}
    with pytest.raises(InvalidCredentials):
        auth.change_password(user, "wrong", "new pw", lambda uid, h: stored.update({uid: h}))
    assert stored == {}
    new_hash = auth.change_password(
        user,
        "correct horse",
        "new pw",
        lambda uid, h: stored.update({uid: h}),
        keep_session_id=keep.session_id,
    )
    assert stored == {"alice": new_hash}
    auth.validate_session(keep.access_token)
    with pytest.raises(SessionRevoked):
        auth.validate_session(lose.access_token)
    with pytest.raises(InvalidCredentials):
        auth.login({**user, "password": new_hash}, "correct horse")
    auth.login({**user, "password": new_hash}, "new pw")


def test_change_password_policy_is_checked_first(auth: Face) -> None:
    user = new_user(auth)
    with pytest.raises(PasswordPolicyError):
        auth.change_password(user, "correct horse", "", lambda uid, h: None)


def test_verify_token_is_offline_and_not_revocation_aware(auth: Face) -> None:
    tokens = auth.login(new_user(auth), "correct horse")
    auth.logout(tokens.session_id)
    claims = auth.verify_token(tokens.access_token)  # by design: no store
    assert claims.session_id == tokens.session_id
    with pytest.raises(InvalidToken):
        auth.verify_token(tokens.refresh_token)


def test_session_records_capture_client_details(auth: Face) -> None:
    auth.login(new_user(auth), "correct horse", user_agent="Firefox", ip_address="198.51.100.7")
    (record,) = auth.list_sessions("alice")
    assert (record.user_agent, record.ip_address, record.auth_method) == (
        "Firefox",
        "198.51.100.7",
        "password",
    )


def test_jwks_lists_the_signing_key(auth: Face) -> None:
    (jwk,) = auth.jwks()["keys"]
    assert jwk["kid"] == auth.keys.signing_kid and jwk["alg"] == "EdDSA"


# -- fail closed --------------------------------------------------------------------


class FlakyStore(MemoryStore):
    """An application store whose backend goes down (its own code raising)."""

    down = False

    def get_session(self, session_id: str, now: float):  # type: ignore[override]
        if self.down:
            raise ConnectionError("backend unreachable")
        return super().get_session(session_id, now)

    def is_session_valid(self, session_id: str) -> bool:  # used when minimal
        raise ConnectionError("backend unreachable")


def test_store_failure_is_store_unavailable_never_valid(make_face: FaceFactory) -> None:
    store = FlakyStore()
    auth = make_face(store)
    tokens = auth.login(new_user(auth), "correct horse")
    store.down = True
    with pytest.raises(StoreUnavailable) as info:
        auth.validate_session(tokens.access_token)
    assert info.value.status == 503 and "ConnectionError" in info.value.reason


def test_store_returning_garbage_is_not_a_valid_session(make_face: FaceFactory) -> None:
    class Liar(MemoryStore):
        def get_session(self, session_id: str, now: float):  # type: ignore[override]
            return True  # not a SessionRecord

    auth = make_face(Liar())
    tokens = auth.login(new_user(auth), "correct horse")
    with pytest.raises(StoreUnavailable) as info:
        auth.validate_session(tokens.access_token)
    assert "not a SessionRecord" in info.value.reason


def test_minimal_store_answering_non_bool_fails_closed(make_face: FaceFactory) -> None:
    class Sloppy(MinimalStore):
        def is_session_valid(self, session_id: str) -> bool:
            return 1  # type: ignore[return-value]

    auth = make_face(Sloppy())
    tokens = auth.login(new_user(auth), "correct horse")
    with pytest.raises(StoreUnavailable) as info:
        auth.validate_session(tokens.access_token)
    assert "must return a bool" in info.value.reason


# -- store-made session ids (the optional new_session_id hook) -----------------------


class TaggingStore(MemoryStore):
    """A store that mints its own ids, as the Redis store does (tag + random)."""

    def __init__(self, mint: Callable[[str], object] | None = None) -> None:
        super().__init__()
        self.asked: list[str] = []
        self._mint = mint

    def new_session_id(self, user_id: str) -> str:
        self.asked.append(user_id)
        if self._mint is not None:
            return self._mint(user_id)  # type: ignore[return-value]
        return f"tag-{user_id}." + secrets.token_urlsafe(32)


def test_a_store_can_mint_the_session_ids(make_face: FaceFactory) -> None:
    store = TaggingStore()
    auth = make_face(store)
    tokens = auth.login(new_user(auth), "correct horse")
    assert store.asked == ["alice"]
    assert tokens.session_id.startswith("tag-alice.") and len(tokens.session_id) == 53
    info = auth.validate_session(tokens.access_token)
    assert info.session_id == tokens.session_id
    rotated = auth.refresh(tokens.refresh_token)
    assert rotated.session_id == tokens.session_id  # refresh keeps the session
    assert [s.session_id for s in auth.list_sessions("alice")] == [tokens.session_id]
    second = auth.login(new_user(auth, uid="bob"), "correct horse")
    assert second.session_id.startswith("tag-bob.") and store.asked == ["alice", "bob"]
    auth.logout(tokens.session_id)
    with pytest.raises(SessionRevoked):
        auth.validate_session(tokens.access_token)


def test_a_minimal_store_can_mint_the_session_ids_too(make_face: FaceFactory) -> None:
    class MintingMinimal(MinimalStore):
        def new_session_id(self, user_id: str) -> str:
            return "m~" + secrets.token_urlsafe(24)

    store = MintingMinimal()
    auth = make_face(store)
    tokens = auth.login(new_user(auth), "correct horse")
    assert tokens.session_id.startswith("m~") and tokens.session_id in store.rows


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        42,
        b"bytes-are-not-an-id-at-all-no",
        "too-short",  # 9 characters cannot hold 128 bits
        "x" * 21,
        "x" * 129,
        "has a space" + "x" * 30,
        "slash/" + "x" * 30,
        "percent%20" + "x" * 30,
        "ü" * 30,
        "newline\n" + "x" * 30,
        "x" * 30 + "\n",
    ],
    ids=repr,
)
def test_a_garbage_store_made_id_creates_no_session(
    make_face: FaceFactory, garbage: object
) -> None:
    store = TaggingStore(lambda uid: garbage)
    auth = make_face(store)
    with pytest.raises(ConfigurationError, match="new_session_id"):
        auth.login(new_user(auth), "correct horse")
    assert auth.list_sessions("alice") == [] and store._sessions == {}


def test_the_longest_and_shortest_allowed_store_made_ids_work(make_face: FaceFactory) -> None:
    for sid in ("a" * 22, "A-z_0.9~" * 16):
        auth = make_face(TaggingStore(lambda uid, sid=sid: sid))
        tokens = auth.login(new_user(auth), "correct horse")
        assert tokens.session_id == sid
        assert auth.validate_session(tokens.access_token).session_id == sid


def test_an_async_or_non_callable_id_hook_is_refused(keypair) -> None:
    class AsyncHook(MemoryStore):
        async def new_session_id(self, user_id: str) -> str:
            return secrets.token_urlsafe(32)

    class NotCallable(MemoryStore):
        new_session_id = "sid"

    for face in (SyncAuthService, AuthService):
        with pytest.raises(ConfigurationError, match="new_session_id"):
            face(*keypair, AsyncHook(), config=CHEAP)
        with pytest.raises(ConfigurationError, match="new_session_id"):
            face(*keypair, NotCallable(), config=CHEAP)


# -- minimal (Node) store ---------------------------------------------------------


class MinimalStore:
    """The Node package's three methods, as an application would write them."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, datetime]] = {}

    def save_session(self, session_id: str, user_id: str, expires_at: datetime) -> None:
        self.rows[session_id] = (user_id, expires_at)

    def is_session_valid(self, session_id: str) -> bool:
        row = self.rows.get(session_id)
        return row is not None and row[1] > datetime.now(row[1].tzinfo)

    def delete_session(self, session_id: str) -> None:
        self.rows.pop(session_id, None)


def test_minimal_store_supports_login_validate_logout(make_face: FaceFactory, caplog) -> None:
    store = MinimalStore()
    auth = make_face(store)
    assert "lacks" in caplog.text and "rotate_refresh" in caplog.text
    assert set(auth.unsupported) == {
        "refresh rotation",
        "list_sessions",
        "logout_all / change_password",
    }
    tokens = auth.login(new_user(auth), "correct horse")
    user_id, expires = store.rows[tokens.session_id]
    assert user_id == "alice" and expires.tzinfo is not None
    assert auth.validate_session(tokens.access_token).user_id == "alice"
    auth.logout(tokens.session_id)
    with pytest.raises(SessionRevoked):
        auth.validate_session(tokens.access_token)


@pytest.mark.parametrize(
    ("call", "feature"),
    [
        (lambda a, t: a.refresh(t.refresh_token), "rotate_refresh"),
        (lambda a, t: a.list_sessions("alice"), "list_sessions"),
        (lambda a, t: a.logout_all("alice"), "delete_user_sessions"),
    ],
)
def test_minimal_store_says_which_methods_a_feature_lacks(
    make_face: FaceFactory, call: Callable[[Face, Any], Any], feature: str
) -> None:
    auth = make_face(MinimalStore())
    tokens = auth.login(new_user(auth), "correct horse")
    with pytest.raises(UnsupportedByStore, match=feature):
        call(auth, tokens)


def test_store_lacking_required_methods_is_refused(keypair) -> None:
    class Broken:
        def save_session(self, *a: Any) -> None: ...

    with pytest.raises(ConfigurationError, match="lacks"):
        SyncAuthService(*keypair, Broken(), config=CHEAP)


def test_sync_face_refuses_async_stores(keypair) -> None:
    class AsyncMinimal:
        async def save_session(
            self, session_id: str, user_id: str, expires_at: datetime
        ) -> None: ...
        async def is_session_valid(self, session_id: str) -> bool:
            return True

        async def delete_session(self, session_id: str) -> None: ...

    with pytest.raises(ConfigurationError, match="async store"):
        SyncAuthService(*keypair, AsyncMinimal(), config=CHEAP)
    # The async face takes it.
    auth = AuthService(*keypair, AsyncMinimal(), config=CHEAP)
    assert auth.unsupported


def test_default_store_is_sqlite_in_dot_secure_auth(keypair, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    auth = SyncAuthService(*keypair, None, config=CHEAP)
    assert isinstance(auth.session_store, SQLiteStore)
    tokens = auth.login(auth.register_user({"id": "a", "password": "pw"}), "pw")
    assert (tmp_path / ".secure-auth" / "sessions.db").exists()
    assert auth.validate_session(tokens.access_token).user_id == "a"
    auth.close()


def test_faces_have_the_same_public_methods_and_signatures() -> None:
    import inspect

    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(getattr(cls, name))
            for name in dir(cls)
            if not name.startswith("_") and callable(getattr(cls, name))
        }

    sync_methods, async_methods = public(SyncAuthService), public(AuthService)
    sync_methods.pop("close")
    async_methods.pop("aclose")
    assert sync_methods.keys() == async_methods.keys()
    for name in sync_methods:
        assert str(sync_methods[name]).replace("Awaitable", "") == str(async_methods[name]), name


def test_decide_refresh_is_pure_and_exact(clock: Clock) -> None:
    from secure_auth.models import SessionRecord
    from secure_auth.sessions import RefreshDecision

    rec = SessionRecord("s", "u", 0.0, 1e10, 0.0, refresh_generation=3, rotated_at=100.0)
    assert decide_refresh(rec, 3, 200.0, CHEAP) is RefreshDecision.ROTATE
    assert decide_refresh(rec, 2, 105.0, CHEAP) is RefreshDecision.GRACE
    assert decide_refresh(rec, 2, 105.01, CHEAP) is RefreshDecision.REPLAY
    assert decide_refresh(rec, 1, 100.0, CHEAP) is RefreshDecision.REPLAY
    with pytest.raises(InvalidToken):
        decide_refresh(rec, 4, 100.0, CHEAP)
