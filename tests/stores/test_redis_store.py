"""What the Redis store promises beyond the shared contract.

Key layout and hash slots, native TTLs that never undercut expiry, the
self-healing user index, half-registered passkeys, malformed data, script
cache loss, client settings, secrets in reprs, and the optional import.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

import secure_auth
from conftest import CHEAP
from redis_servers import (
    RedisServer,
    cluster_url,
    free_port,
    prefix,
    private_redis,
    shared_redis_url,
)
from secure_auth import ConfigurationError, StoreUnavailable, SyncAuthService
from secure_auth.models import PasskeyCredential, SessionRecord
from secure_auth.stores import (
    AsyncChallengeStore,
    AsyncPasskeyStore,
    AsyncSessionStore,
    ChallengeStore,
    PasskeyStore,
    SessionStore,
)
from secure_auth.stores.redis import AsyncRedisStore, RedisStore, _split_cluster_url

__all__ = ["prefix", "private_redis"]  # fixtures, imported for pytest

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0
ODD = "{odd}:user*[?] 'quoted' ü-用户-🙂 " + "x" * 300


def record(sid: str = "s1", uid: str = "u1", now: float = NOW, **changes: object) -> SessionRecord:
    base = SessionRecord(sid, uid, created_at=now, expires_at=now + 3600, last_used_at=now)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def passkey(cid: str = "cred-1", uid: str = "u1") -> PasskeyCredential:
    return PasskeyCredential(cid, uid, "aGFuZGxl", b"\x01\x02key", 0, ("usb",), created_at=NOW)


@pytest.fixture
def store(prefix: str) -> Iterator[RedisStore]:
    s = RedisStore.from_url(shared_redis_url(), prefix=prefix)
    yield s
    s.close()


def raw(store: RedisStore) -> redis.Redis:
    assert isinstance(store.client, redis.Redis)
    return store.client


def keys(store: RedisStore) -> set[str]:
    return {k.decode() for k in raw(store).scan_iter(match=f"{store.prefix}:*")}


# -- key layout ------------------------------------------------------------------


def test_ids_never_reach_key_names_and_a_users_keys_share_one_slot(store: RedisStore) -> None:
    store.save_session(record("sess {1}", ODD))
    store.save_passkey(passkey("cred:*", ODD))
    expected = {
        store.session_key("sess {1}"),
        store.user_sessions_key(ODD),
        store.passkey_key("cred:*"),
        store.user_passkeys_key(ODD),
    }
    assert keys(store) == expected
    for key in expected:
        assert key.isascii() and len(key) < 80
        assert key.count("{") == 1 and key.count("}") == 1
        tag = key.split("{")[1].split("}")[0]
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", tag)  # 128 bits of SHA-256
    # Every key of the user is in one slot; records sit in their own id's slot.
    assert key_slot(store.user_sessions_key(ODD).encode()) == key_slot(
        store.user_passkeys_key(ODD).encode()
    )
    tag = store.session_key("sess {1}").split("{")[1].split("}")[0]
    assert key_slot(store.session_key("sess {1}").encode()) == key_slot(tag.encode())


def test_prefix_cannot_smuggle_a_hash_tag() -> None:
    client = redis.Redis()
    for bad in ("", "app{x}", "{", "}"):
        with pytest.raises(ConfigurationError):
            RedisStore(client, prefix=bad)
    with pytest.raises(ConfigurationError):
        RedisStore(client, clock_tolerance=-1)
    client.close()


# -- native TTL -------------------------------------------------------------------


def pttl_s(store: RedisStore, key: str) -> float:
    return int(raw(store).pttl(key)) / 1000


@pytest.mark.parametrize(
    "clock", [time.time(), 1_000_000_000.0, NOW], ids=["real", "past", "future"]
)
def test_native_ttl_covers_the_expiry_on_every_clock(store: RedisStore, clock: float) -> None:
    # Whatever clock made the record, Redis keeps it at least until its
    # expiry on that clock and on this machine's, plus the tolerance.
    store.save_session(record(now=clock))
    ttl = pttl_s(store, store.session_key("s1"))
    expected = max(clock + 3600 - time.time(), 3600) + store.clock_tolerance
    assert expected - 5 < ttl <= expected + 1
    assert pttl_s(store, store.user_sessions_key("u1")) >= ttl - 1
    assert store.get_session("s1", clock + 3599) is not None
    assert store.get_session("s1", clock + 3600) is None  # expiry on read, not by TTL

    store.put_challenge("c", "v", clock + 60)
    challenge_ttl = pttl_s(store, store.challenge_key("c"))
    assert (
        max(clock + 60 - time.time(), 0) + 299
        < challenge_ttl
        <= max(clock + 60 - time.time(), 0) + 301
    )
    assert store.pop_challenge("c", clock + 59) == "v"


def test_keys_really_expire_natively_and_the_index_heals(prefix: str) -> None:
    store = RedisStore.from_url(shared_redis_url(), prefix=prefix, clock_tolerance=0)
    now = time.time()
    store.save_session(record("brief", now=now, expires_at=now + 0.2))
    store.save_session(record("long", now=now))
    time.sleep(0.4)
    assert raw(store).exists(store.session_key("brief")) == 0
    assert [r.session_id for r in store.list_sessions("u1", now)] == ["long"]
    members = raw(store).zrange(store.user_sessions_key("u1"), 0, -1)
    assert members == [b"long"]
    store.close()


def test_committed_passkeys_never_expire(store: RedisStore) -> None:
    assert store.save_passkey(passkey()) is True
    assert raw(store).pttl(store.passkey_key("cred-1")) == -1
    assert raw(store).pttl(store.user_passkeys_key("u1")) == -1


# -- the user index heals itself ---------------------------------------------------


def test_vanished_sessions_are_pruned_from_the_index(store: RedisStore) -> None:
    store.save_session(record("a"))
    store.save_session(record("b", created_at=NOW + 1))
    raw(store).delete(store.session_key("a"))  # as if it expired natively
    assert [r.session_id for r in store.list_sessions("u1", NOW)] == ["b"]
    assert raw(store).zrange(store.user_sessions_key("u1"), 0, -1) == [b"b"]


def test_a_stale_index_member_never_deletes_another_users_session(store: RedisStore) -> None:
    store.save_session(record("mine", "u1"))
    store.save_session(record("theirs", "u2"))
    # A member that points at someone else's session (a lost ZREM, a re-owned
    # id, a forged entry): listing skips it, logout_all leaves it alone.
    raw(store).zadd(store.user_sessions_key("u1"), {"theirs": NOW})
    assert [r.session_id for r in store.list_sessions("u1", NOW)] == ["mine"]
    raw(store).zadd(store.user_sessions_key("u1"), {"theirs": NOW})
    assert store.delete_user_sessions("u1") == 1
    got = store.get_session("theirs", NOW)
    assert got is not None and got.user_id == "u2"


def test_a_session_saved_for_another_user_moves_index(store: RedisStore) -> None:
    store.save_session(record("s1", "u1"))
    store.save_session(record("s1", "u2"))
    assert store.list_sessions("u1", NOW) == []
    assert raw(store).zcard(store.user_sessions_key("u1")) == 0
    assert [r.user_id for r in store.list_sessions("u2", NOW)] == ["u2"]


# -- passkeys ---------------------------------------------------------------------


def test_a_half_registered_passkey_is_invisible(store: RedisStore) -> None:
    assert store.save_passkey(passkey()) is True
    key = store.passkey_key("cred-1")
    committed = raw(store).get(key)
    doc = json.loads(committed)
    raw(store).set(key, json.dumps({**doc, "pending": "1"}))  # as if never committed
    assert store.get_passkey("cred-1") is None
    assert store.list_passkeys("u1") == []
    assert store.rename_passkey("u1", "cred-1", "x") is False
    store.update_passkey_usage("cred-1", 9, True, NOW)
    assert store.save_passkey(passkey(uid="u2")) is False  # the id stays taken
    assert raw(store).sismember(store.user_passkeys_key("u1"), "cred-1")  # not pruned
    raw(store).set(key, committed)
    assert store.get_passkey("cred-1") == passkey()


def test_a_deleted_passkey_is_not_recreated_by_a_late_usage_update(store: RedisStore) -> None:
    store.save_passkey(passkey())
    assert store.delete_passkey("u1", "cred-1") is True
    store.update_passkey_usage("cred-1", 5, True, NOW)
    assert store.get_passkey("cred-1") is None
    assert keys(store) == set()


# -- malformed data and errors ---------------------------------------------------------


def test_malformed_records_fail_closed(store: RedisStore) -> None:
    for garbage in ("not json", '{"session_id": "s1", "expires_at": "soon"}', "[1]", '{"a": 1}'):
        raw(store).set(store.session_key("s1"), garbage)
        with pytest.raises(StoreUnavailable):
            store.get_session("s1", NOW)
    store.save_session(record("s1"))  # a save or a logout clears the garbage
    assert store.get_session("s1", NOW) == record("s1")
    raw(store).set(store.session_key("s3"), "garbage")
    store.delete_session("s3")
    assert raw(store).exists(store.session_key("s3")) == 0
    raw(store).hset(store.session_key("s2"), "a", "hash, not a string")  # WRONGTYPE
    for call in (
        lambda: store.get_session("s2", NOW),
        lambda: store.rotate_refresh("s2", 0, NOW),
        lambda: store.delete_session("s2"),
    ):
        with pytest.raises(StoreUnavailable):
            call()
    raw(store).set(store.challenge_key("c"), "never\nvalue")
    with pytest.raises(StoreUnavailable):
        store.pop_challenge("c", NOW)
    raw(store).set(store.passkey_key("p"), '{"credential_id": "p"}')
    with pytest.raises(StoreUnavailable):
        store.get_passkey("p")


def test_lost_script_cache_is_reloaded(private_redis: RedisServer) -> None:
    async def run_async() -> None:
        store = AsyncRedisStore.from_url(private_redis.url, prefix="p")
        await store.save_session(record("a"))
        await store.client.script_flush()
        assert await store.rotate_refresh("a", 0, NOW) is True
        await store.client.script_flush()
        assert await store.delete_user_sessions("u1") == 1  # scripts in a pipeline
        await store.aclose()

    store = RedisStore.from_url(private_redis.url, prefix="p")
    store.save_session(record("a"))
    store.save_session(record("b"))
    store.client.script_flush()
    assert store.rotate_refresh("a", 0, NOW) is True
    store.client.script_flush()
    assert store.delete_user_sessions("u1") == 2
    store.close()
    asyncio.run(run_async())


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_any_client_settings_give_the_same_records(
    prefix: str, decode: bool, protocol: int
) -> None:
    client = redis.Redis.from_url(shared_redis_url(), decode_responses=decode, protocol=protocol)
    store = RedisStore(client, prefix=prefix)
    rec = record(ODD, ODD, user_agent="UA 'q'", ip_address="::1", rotated_at=NOW)
    store.save_session(rec)
    assert store.get_session(ODD, NOW) == rec
    assert store.list_sessions(ODD, NOW) == [rec]
    assert store.save_passkey(passkey(ODD, ODD)) is True
    assert store.list_passkeys(ODD) == [passkey(ODD, ODD)]
    store.put_challenge(ODD, "line1\nline2", NOW + 60)
    assert store.pop_challenge(ODD, NOW) == "line1\nline2"
    client.close()


def test_repr_and_errors_never_show_the_password() -> None:
    url = f"redis://admin:s3cr3t-pw@127.0.0.1:{free_port()}/0"
    store = RedisStore.from_url(url, socket_connect_timeout=0.2, retry=None)
    assert repr(store) == "RedisStore(prefix='secure-auth', mode='single')"
    with pytest.raises(StoreUnavailable) as caught:
        store.get_session("s1", NOW)
    for text in (str(caught.value), repr(caught.value), caught.value.reason):
        assert "s3cr3t" not in text
    store.close()
    astore = AsyncRedisStore.from_url(url)
    assert "s3cr3t" not in repr(astore)
    asyncio.run(astore.aclose())


# -- construction -----------------------------------------------------------------------


def test_cluster_is_chosen_by_scheme_or_flag() -> None:
    assert _split_cluster_url("redis+cluster://h:1/0", None) == ("redis://h:1/0", True)
    assert _split_cluster_url("rediss+cluster://u:p@h:1", None) == ("rediss://u:p@h:1", True)
    assert _split_cluster_url("redis://h:1", True) == ("redis://h:1", True)
    assert _split_cluster_url("redis://h:1", None) == ("redis://h:1", False)
    url = cluster_url().replace("redis://", "redis+cluster://")
    store = RedisStore.from_url(url, prefix="scheme")
    assert store.cluster and repr(store).endswith("mode='cluster')")
    store.save_session(record())
    assert store.get_session("s1", NOW) == record()
    store.close()


def test_stores_satisfy_their_protocols_and_faces(keypair: tuple[bytes, bytes]) -> None:
    sync, async_ = RedisStore(redis.Redis()), AsyncRedisStore(redis.asyncio.Redis())
    for proto in (SessionStore, ChallengeStore, PasskeyStore):
        assert isinstance(sync, proto)
    for proto in (AsyncSessionStore, AsyncChallengeStore, AsyncPasskeyStore):
        assert isinstance(async_, proto)
    SyncAuthService(*keypair, sync, config=CHEAP)
    with pytest.raises(ConfigurationError):
        SyncAuthService(*keypair, async_, config=CHEAP)


def test_redis_is_an_optional_extra() -> None:
    code = """
import sys
import secure_auth, secure_auth.stores
assert "redis" not in sys.modules, "import secure_auth pulled in redis"
sys.modules["redis"] = None  # as if redis-py were not installed
for attempt in ("import secure_auth.stores.redis",
                "from secure_auth.stores import RedisStore"):
    try:
        exec(attempt)
    except ImportError as exc:
        print(exc)
    else:
        raise SystemExit("imported without redis")
del sys.modules["redis"]  # installed again: the lazy names resolve
from secure_auth.stores import AsyncRedisStore, RedisSessionStore, RedisStore
assert RedisSessionStore is RedisStore and AsyncRedisStore.__name__ == "AsyncRedisStore"
"""
    # This checkout's sources, not whatever secure_auth the venv has installed.
    env = {**os.environ, "PYTHONPATH": str(Path(secure_auth.__file__).parent.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    assert len(out) == 2
    assert all("pip install 'secure-auth[redis]'" in line for line in out)
    with pytest.raises(AttributeError):
        import secure_auth.stores as stores

        stores.NoSuchStore
