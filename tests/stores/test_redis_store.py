"""What the Redis store promises beyond the shared contract.

Key layout and hash slots, native TTLs that never undercut expiry, the
self-healing user index, half-registered passkeys, malformed data, script
cache loss, client settings, secrets in reprs, and the optional import.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.crc import key_slot

import secure_auth
from conftest import CHEAP
from redis_servers import (
    RedisServer,
    cluster_node_urls,
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


def passkey(cid: str = "cred-1", uid: str = "u1", **changes: object) -> PasskeyCredential:
    base = PasskeyCredential(cid, uid, "aGFuZGxl", b"\x01\x02key", 0, ("usb",), created_at=NOW)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


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


def tag_of(key: str) -> str:
    return key.split("{")[1].split("}", maxsplit=1)[0]


def test_ids_never_reach_key_names(store: RedisStore) -> None:
    sid = store.new_session_id(ODD)
    store.save_session(record(sid, ODD))
    store.save_session(record("sess {1}", ODD))  # an id this store did not make
    store.save_passkey(passkey("cred:*", ODD))
    expected = {
        store.session_key(sid),
        store.session_key("sess {1}"),
        store.user_sessions_key(ODD),
        store.passkey_key("cred:*", ODD),
        store.user_passkeys_key(ODD),
        store.passkey_owner_key("cred:*"),
    }
    assert keys(store) == expected
    for key in expected:
        assert key.isascii() and len(key) < 80
        assert key.count("{") == 1 and key.count("}") == 1
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", tag_of(key))  # 128 bits of SHA-256
    user_tag = store.user_tag(ODD)
    assert tag_of(store.session_key(sid)) == user_tag  # in the user's slot
    assert tag_of(store.passkey_key("cred:*", ODD)) == user_tag
    assert tag_of(store.session_key("sess {1}")) != user_tag  # a foreign id: its own slot
    assert raw(store).get(store.passkey_owner_key("cred:*")) == user_tag.encode()


def test_store_made_session_ids(store: RedisStore) -> None:
    sid = store.new_session_id("u1")
    tag, dot, rand = sid.partition(".")
    # 63 characters: the user index keeps its compact encoding up to 64.
    assert dot and tag == store.user_tag("u1") and len(sid) == 63
    assert re.fullmatch(r"[A-Za-z0-9_-]{40}", rand)  # 240 bits
    assert store.new_session_id("u1") != sid and store.new_session_id("u2").split(".")[0] != tag
    # Redis keeps the user index compact (listpack, ziplist before 7.0) only
    # while every member is at most 64 bytes: the ids are made to fit.
    for _ in range(3):
        store.save_session(record(store.new_session_id("u1")))
    encoding = raw(store).object("encoding", store.user_sessions_key("u1"))
    assert encoding in (b"listpack", b"ziplist")
    # The async store mints them the same way, without awaiting anything.
    assert AsyncRedisStore(redis.asyncio.Redis()).new_session_id("u1").startswith(tag + ".")


@pytest.mark.parametrize(
    "sid",
    [
        "s1",
        "x" * 43,  # an id of the service's default form
        "AAAAAAAAAAAAAAAAAAAAAA",  # a tag alone
        "AAAAAAAAAAAAAAAAAAAAAA.",  # a tag and nothing after it
        "AAAAAAAAAAAAAAAAAAAAAA.x y",
        "AAAAAAAAAAAAAAAAAAAAAA.x\n",
        "AAAAAAAAAAAAAAAAAAAA{}.x",
    ],
)
def test_ids_without_a_tag_keep_a_slot_of_their_own(store: RedisStore, sid: str) -> None:
    # Sessions made before this layout, or by any other code, keep working.
    assert store.session_key(sid) == f"{store.prefix}:session:{{{tag_of(store.session_key(sid))}}}"
    store.save_session(record(sid))
    assert store.get_session(sid, NOW) == record(sid)
    assert [r.session_id for r in store.list_sessions("u1", NOW)] == [sid]
    store.delete_session(sid)
    assert keys(store) == set()
    assert store.list_sessions("u1", NOW) == []


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


class Ids:
    """Session ids of one kind, by name: the names themselves (ids this store
    did not make: their own slot), or ids the store made for the given user
    (the user's slot)."""

    def __init__(self, store: RedisStore, kind: str) -> None:
        self.store, self.kind = store, kind
        self.made: dict[str, str] = {}

    def __call__(self, name: str, uid: str = "u1") -> str:
        if self.kind == "foreign":
            return name
        return self.made.setdefault(name, self.store.new_session_id(uid))


KINDS = pytest.mark.parametrize("kind", ["foreign", "store-made"])


@KINDS
@pytest.mark.parametrize(
    "clock", [time.time(), 1_000_000_000.0, NOW], ids=["real", "past", "future"]
)
def test_native_ttl_covers_the_expiry_on_every_clock(
    store: RedisStore, clock: float, kind: str
) -> None:
    # Whatever clock made the record, Redis keeps it at least until its
    # expiry on that clock and on this machine's, plus the tolerance.
    s1 = Ids(store, kind)("s1")
    store.save_session(record(s1, now=clock))
    ttl = pttl_s(store, store.session_key(s1))
    expected = max(clock + 3600 - time.time(), 3600) + store.clock_tolerance
    assert expected - 5 < ttl <= expected + 1
    assert pttl_s(store, store.user_sessions_key("u1")) >= ttl - 1
    assert store.get_session(s1, clock + 3599) is not None
    assert store.get_session(s1, clock + 3600) is None  # expiry on read, not by TTL
    assert store.rotate_refresh(s1, 0, clock + 1) is True
    assert pttl_s(store, store.session_key(s1)) > ttl - 5  # the rotation keeps the TTL

    store.put_challenge("c", "v", clock + 60)
    challenge_ttl = pttl_s(store, store.challenge_key("c"))
    assert (
        max(clock + 60 - time.time(), 0) + 299
        < challenge_ttl
        <= max(clock + 60 - time.time(), 0) + 301
    )
    assert store.pop_challenge("c", clock + 59) == "v"


@KINDS
def test_keys_really_expire_natively_and_the_index_heals(prefix: str, kind: str) -> None:
    store = RedisStore.from_url(shared_redis_url(), prefix=prefix, clock_tolerance=0)
    sid = Ids(store, kind)
    now = time.time()
    store.save_session(record(sid("brief"), now=now, expires_at=now + 0.2))
    store.save_session(record(sid("long"), now=now))
    time.sleep(0.4)
    assert raw(store).exists(store.session_key(sid("brief"))) == 0
    assert [r.session_id for r in store.list_sessions("u1", now)] == [sid("long")]
    members = raw(store).zrange(store.user_sessions_key("u1"), 0, -1)
    assert members == [sid("long").encode()]
    store.close()


def test_committed_passkeys_never_expire(store: RedisStore) -> None:
    assert store.save_passkey(passkey()) is True
    assert raw(store).pttl(store.passkey_key("cred-1", "u1")) == -1
    assert raw(store).pttl(store.passkey_owner_key("cred-1")) == -1
    assert raw(store).pttl(store.user_passkeys_key("u1")) == -1


# -- the user index heals itself ---------------------------------------------------


@KINDS
def test_vanished_sessions_are_pruned_from_the_index(store: RedisStore, kind: str) -> None:
    sid = Ids(store, kind)
    store.save_session(record(sid("a")))
    store.save_session(record(sid("b"), created_at=NOW + 1))
    raw(store).delete(store.session_key(sid("a")))  # as if it expired natively
    assert [r.session_id for r in store.list_sessions("u1", NOW)] == [sid("b")]
    assert raw(store).zrange(store.user_sessions_key("u1"), 0, -1) == [sid("b").encode()]


@KINDS
def test_a_stale_index_member_never_deletes_another_users_session(
    store: RedisStore, kind: str
) -> None:
    sid = Ids(store, kind)
    store.save_session(record(sid("mine", "u1"), "u1"))
    store.save_session(record(sid("theirs", "u2"), "u2"))
    # A member that points at someone else's session (a lost ZREM, a re-owned
    # id, a forged entry): listing skips it, logout_all leaves it alone.
    raw(store).zadd(store.user_sessions_key("u1"), {sid("theirs"): NOW})
    assert [r.session_id for r in store.list_sessions("u1", NOW)] == [sid("mine")]
    raw(store).zadd(store.user_sessions_key("u1"), {sid("theirs"): NOW})
    assert store.delete_user_sessions("u1") == 1
    got = store.get_session(sid("theirs"), NOW)
    assert got is not None and got.user_id == "u2"


@KINDS
def test_a_session_saved_for_another_user_moves_index(store: RedisStore, kind: str) -> None:
    s1 = Ids(store, kind)("s1", "u1")
    store.save_session(record(s1, "u1"))
    store.save_session(record(s1, "u2"))  # an id made for u1, now u2's: two slots
    assert store.list_sessions("u1", NOW) == []
    assert raw(store).zcard(store.user_sessions_key("u1")) == 0
    assert [r.user_id for r in store.list_sessions("u2", NOW)] == ["u2"]
    store.save_session(record(s1, "u1"))  # and back
    assert store.list_sessions("u2", NOW) == []
    assert [r.user_id for r in store.list_sessions("u1", NOW)] == ["u1"]
    store.delete_session(s1)
    assert keys(store) == set()


# -- passkeys ---------------------------------------------------------------------


def drive(
    store: RedisStore,
    plan: Any,
    between: dict[int, Callable[[], object]],
    twice: frozenset[int] = frozenset(),
) -> Any:
    """Run a plan step by step, calling ``between[n]`` before step ``n`` (from 0):
    another client acting, or a crash (raise) between two steps. A step in
    ``twice`` runs twice and the plan sees the second reply: redis-py's retry
    after a reply was lost."""
    n, reply = 0, None
    try:
        while True:
            step = plan.send(reply) if n else next(plan)
            if n in between:
                between[n]()
            reply = store._perform(step)
            if n in twice:
                reply = store._perform(step)
            n += 1
    except StopIteration as stop:
        return stop.value
    finally:
        plan.close()


class Crash(Exception):
    pass


def crash() -> None:
    raise Crash


def test_a_credential_being_registered_is_not_usable_yet(store: RedisStore) -> None:
    cred = passkey()
    seen: dict[str, object] = {}

    def look() -> None:  # after the claim and the record, before the commit
        pointer = raw(store).get(store.passkey_owner_key("cred-1"))
        seen["pointer"] = pointer
        seen["ttl"] = raw(store).pttl(store.passkey_owner_key("cred-1"))
        seen["get"] = store.get_passkey("cred-1")
        seen["list"] = store.list_passkeys("u1")
        seen["other"] = store.save_passkey(passkey(uid="u2"))
        seen["delete"] = store.delete_passkey("u1", "cred-1")
        store.update_passkey_usage("cred-1", 9, True, NOW)

    assert drive(store, store._save_passkey(cred), {2: look}) is True
    assert seen["pointer"] == b"pending:" + store.user_tag("u1").encode()
    assert 0 < int(seen["ttl"]) <= 60_000  # type: ignore[call-overload]
    assert seen["get"] is None and seen["list"] == []  # not usable, and not pruned
    assert seen["other"] is False and seen["delete"] is False  # the id is taken
    assert store.get_passkey("cred-1") == cred  # committed: usable, untouched
    assert store.list_passkeys("u1") == [cred]


@pytest.mark.parametrize("at", [1, 2], ids=["after-claim", "after-record"])
def test_a_registration_that_dies_midway_leaves_nothing_usable(store: RedisStore, at: int) -> None:
    with pytest.raises(Crash):
        drive(store, store._save_passkey(passkey()), {at: crash})
    assert store.get_passkey("cred-1") is None
    raw(store).delete(store.passkey_owner_key("cred-1"))  # the pending claim expires
    assert store.get_passkey("cred-1") is None
    assert store.list_passkeys("u1") == []  # and the listing removes a left-over record
    assert keys(store) == set()
    assert store.save_passkey(passkey()) is True  # the id is free again
    assert store.get_passkey("cred-1") == passkey()


def test_a_commit_after_the_claim_expired_withdraws_the_record(store: RedisStore) -> None:
    pointer = store.passkey_owner_key("cred-1")

    def expire_and_steal() -> None:
        raw(store).delete(pointer)
        assert store.save_passkey(passkey(uid="u2")) is True

    with pytest.raises(StoreUnavailable) as caught:
        drive(store, store._save_passkey(passkey()), {2: expire_and_steal})
    assert "expired before it was committed" in caught.value.reason
    assert store.get_passkey("cred-1") == passkey(uid="u2")
    assert store.list_passkeys("u1") == []
    assert raw(store).exists(store.passkey_key("cred-1", "u1"), store.user_passkeys_key("u1")) == 0


def test_replayed_passkey_steps_leave_a_consistent_credential(store: RedisStore) -> None:
    # Each step of a registration run twice (a retry after a lost reply).
    assert drive(store, store._save_passkey(passkey()), {}, frozenset({1, 2})) is True
    assert store.get_passkey("cred-1") == passkey()
    assert store.list_passkeys("u1") == [passkey()]
    # A retried claim finds its own pending claim: "taken", and it lapses.
    assert drive(store, store._save_passkey(passkey("cred-2")), {}, frozenset({0})) is False
    assert store.get_passkey("cred-2") is None and store.list_passkeys("u1") == [passkey()]


def test_replayed_session_steps_are_harmless(store: RedisStore) -> None:
    sid = store.new_session_id("u1")
    drive(store, store._save_session(record(sid)), {}, frozenset({0}))
    assert store.list_sessions("u1", NOW) == [record(sid)]
    # A replayed rotation answers "lost"; the service re-reads and applies grace.
    assert drive(store, store._rotate_refresh(sid, 0, NOW + 1), {}, frozenset({0})) is False
    assert store.get_session(sid, NOW + 1).refresh_generation == 1  # type: ignore[union-attr]
    drive(store, store._delete_session(sid), {}, frozenset({0}))
    assert keys(store) == set()


def test_a_deletion_that_dies_midway_leaves_nothing_usable(store: RedisStore) -> None:
    store.save_passkey(passkey())
    with pytest.raises(Crash):
        drive(store, store._delete_passkey("u1", "cred-1"), {1: crash})
    assert store.get_passkey("cred-1") is None  # the pointer went first
    store.update_passkey_usage("cred-1", 9, True, NOW)
    assert store.list_passkeys("u1") == []  # the record left over is removed
    assert keys(store) == set()
    assert store.save_passkey(passkey(uid="u2")) is True  # and the id is free


def test_a_left_over_record_never_shadows_the_ids_new_owner(store: RedisStore) -> None:
    store.save_passkey(passkey(uid="u1"))
    with pytest.raises(Crash):
        drive(store, store._delete_passkey("u1", "cred-1"), {1: crash})
    assert store.save_passkey(passkey(uid="u2", label="theirs")) is True
    assert store.get_passkey("cred-1") == passkey(uid="u2", label="theirs")
    assert store.list_passkeys("u1") == []
    assert store.delete_passkey("u1", "cred-1") is False
    assert store.get_passkey("cred-1") == passkey(uid="u2", label="theirs")
    assert keys(store) == {
        store.passkey_owner_key("cred-1"),
        store.passkey_key("cred-1", "u2"),
        store.user_passkeys_key("u2"),
    }


def test_a_pointer_without_its_record_reads_as_missing(store: RedisStore) -> None:
    store.save_passkey(passkey())
    raw(store).delete(store.passkey_key("cred-1", "u1"))  # lost (never done by the store)
    assert store.get_passkey("cred-1") is None
    store.update_passkey_usage("cred-1", 9, True, NOW)
    assert raw(store).exists(store.passkey_key("cred-1", "u1")) == 0  # never recreated
    assert store.list_passkeys("u1") == []
    assert raw(store).exists(store.user_passkeys_key("u1")) == 0  # the member is pruned


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
    store.save_passkey(passkey("p"))
    raw(store).set(store.passkey_key("p", "u1"), '{"credential_id": "p"}')
    for call in (lambda: store.get_passkey("p"), lambda: store.list_passkeys("u1")):
        with pytest.raises(StoreUnavailable):
            call()
    raw(store).set(store.passkey_owner_key("p"), "not a tag")
    with pytest.raises(StoreUnavailable):
        store.get_passkey("p")
    # A store-made session id in the user's slot fails closed the same way.
    sid = store.new_session_id("u1")
    store.save_session(record(sid))
    raw(store).set(store.session_key(sid), "garbage")
    for call in (lambda: store.get_session(sid, NOW), lambda: store.list_sessions("u1", NOW)):
        with pytest.raises(StoreUnavailable):
            call()
    with pytest.raises(StoreUnavailable):
        store.delete_user_sessions("u1")
    store.delete_session(sid)  # a logout clears it
    assert store.list_sessions("u1", NOW) == []


def test_lost_script_cache_is_reloaded(private_redis: RedisServer) -> None:
    async def run_async() -> None:
        store = AsyncRedisStore.from_url(private_redis.url, prefix="p")
        made = store.new_session_id("u1")
        await store.client.script_flush()
        await store.save_session(record(made))
        await store.save_session(record("a"))
        await store.client.script_flush()
        assert await store.rotate_refresh("a", 0, NOW) is True
        await store.client.script_flush()
        assert await store.delete_user_sessions("u1") == 2  # scripts in a pipeline
        await store.aclose()

    store = RedisStore.from_url(private_redis.url, prefix="p")
    made = store.new_session_id("u1")
    store.save_session(record("a"))
    store.save_session(record("b"))
    store.client.script_flush()
    store.save_session(record(made))  # one script: session and index
    assert store.rotate_refresh("a", 0, NOW) is True
    store.client.script_flush()
    assert store.delete_user_sessions("u1") == 3  # both kinds of script in one pipeline
    store.client.script_flush()
    assert store.save_passkey(passkey()) is True
    store.client.script_flush()
    assert store.delete_passkey("u1", "cred-1") is True
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


# -- Redis Cluster: every key of one user in one slot ----------------------------------


def test_every_key_of_one_user_is_in_one_cluster_slot(keypair: tuple[bytes, bytes]) -> None:
    pre = "slots" + secrets.token_hex(4)
    store = RedisStore.from_url(cluster_url(), cluster=True, prefix=pre)
    auth = SyncAuthService(*keypair, store, config=CHEAP)
    users = (ODD, "bob@example.com")
    for uid in users:  # sessions made by the service, as in production
        user = auth.register_user({"id": uid, "password": "pw"})
        tokens = [auth.login(user, "pw") for _ in range(4)]
        auth.refresh(tokens[0].refresh_token)
        auth.logout(tokens[1].session_id)
        for i in range(3):
            assert store.save_passkey(passkey(f"{uid}/cred-{i}", uid)) is True
    nodes = [redis.Redis.from_url(url) for url in cluster_node_urls()]
    node_of = {
        key.decode(): n for n, node in enumerate(nodes) for key in node.scan_iter(f"{pre}:*")
    }

    def keyslot(key: str) -> int:
        return int(nodes[0].execute_command("CLUSTER KEYSLOT", key))

    expected: set[str] = set()
    for uid in users:
        sessions = [s.session_id for s in auth.list_sessions(uid)]
        assert len(sessions) == 3
        own = {
            *(store.session_key(sid) for sid in sessions),
            store.user_sessions_key(uid),
            store.user_passkeys_key(uid),
            *(store.passkey_key(f"{uid}/cred-{i}", uid) for i in range(3)),
        }
        assert len(own) == 8 and own <= node_of.keys()
        # One slot (the user's tag's) and so one node, for every key of the user.
        assert {keyslot(k) for k in own} == {key_slot(store.user_tag(uid).encode())}
        assert len({node_of[k] for k in own}) == 1
        # Only the credential ids' owner pointers live elsewhere (their ids' slots).
        pointers = {store.passkey_owner_key(f"{uid}/cred-{i}") for i in range(3)}
        for key in pointers:
            assert keyslot(key) == key_slot(tag_of(key).encode())
        expected |= own | pointers
    assert node_of.keys() == expected  # and the store wrote nothing else
    auth.close()
    for node in nodes:
        node.close()


# -- round trips per operation ----------------------------------------------------------


@pytest.fixture(params=["single", "cluster"])
def either(request: pytest.FixtureRequest, prefix: str) -> Iterator[RedisStore]:
    if request.param == "single":
        s = RedisStore.from_url(shared_redis_url(), prefix=prefix)
    else:
        s = RedisStore.from_url(cluster_url(), cluster=True, prefix=prefix)
    yield s
    s.close()


def round_trips(store: RedisStore, call: Callable[[], object]) -> int:
    """How many steps (one command, one script or one pipeline each) a call sends."""
    count = 0
    perform = store._perform

    def counting(step: Any) -> Any:
        nonlocal count
        count += 1
        return perform(step)

    store._perform = counting  # type: ignore[method-assign]
    try:
        call()
    finally:
        del store._perform
    return count


def test_round_trips_per_operation(either: RedisStore) -> None:
    s = either
    made, other = s.new_session_id("u1"), s.new_session_id("u1")
    table = [
        ("save (store-made id)", lambda: s.save_session(record(made)), 1),
        ("save (another)", lambda: s.save_session(record(other, created_at=NOW + 1)), 1),
        ("save (foreign id)", lambda: s.save_session(record("foreign", created_at=NOW + 2)), 2),
        ("get", lambda: s.get_session(made, NOW), 1),
        ("get (foreign id)", lambda: s.get_session("foreign", NOW), 1),
        ("rotate", lambda: s.rotate_refresh(made, 0, NOW + 1), 1),
        ("list", lambda: s.list_sessions("u1", NOW), 2),
        ("delete (store-made id)", lambda: s.delete_session(made), 1),
        ("logout_all (mixed)", lambda: s.delete_user_sessions("u1", None), 3),
        ("save again", lambda: s.save_session(record(made)), 1),
        ("logout_all (store-made ids)", lambda: s.delete_user_sessions("u1", None), 2),
        ("save (foreign) again", lambda: s.save_session(record("foreign")), 2),
        ("delete (foreign id)", lambda: s.delete_session("foreign"), 2),
        ("save passkey", lambda: s.save_passkey(passkey()), 3),
        ("get passkey", lambda: s.get_passkey("cred-1"), 2),
        ("list passkeys", lambda: s.list_passkeys("u1"), 3),
        ("update passkey", lambda: s.update_passkey_usage("cred-1", 1, True, NOW), 2),
        ("rename passkey", lambda: s.rename_passkey("u1", "cred-1", "x"), 1),
        ("delete passkey", lambda: s.delete_passkey("u1", "cred-1"), 2),
        ("put challenge", lambda: s.put_challenge("c", "v", NOW + 60), 1),
        ("pop challenge", lambda: s.pop_challenge("c", NOW), 1),
    ]
    measured = [(name, round_trips(s, call)) for name, call, _ in table]
    assert measured == [(name, n) for name, _, n in table]
    if not s.cluster:
        assert keys(s) == set()  # everything cleaned up along the way


def test_store_made_ids_on_every_backend_and_face(prefix: str) -> None:
    async def scenario(store: AsyncRedisStore) -> None:
        sids = [store.new_session_id("u1") for _ in range(3)]
        for i, sid in enumerate(sids):
            await store.save_session(record(sid, created_at=NOW + i))
        await store.save_session(record("legacy", created_at=NOW + 3))  # an older id
        listed = await store.list_sessions("u1", NOW)
        assert [r.session_id for r in listed] == [*sids, "legacy"]
        assert await store.rotate_refresh(sids[0], 0, NOW + 1) is True
        assert (await store.get_session(sids[0], NOW + 1)).refresh_generation == 1  # type: ignore[union-attr]
        assert await store.delete_user_sessions("u1", sids[1]) == 3
        assert [r.session_id for r in await store.list_sessions("u1", NOW)] == [sids[1]]
        await store.delete_session(sids[1])
        assert await store.get_session(sids[1], NOW) is None
        assert await store.list_sessions("u1", NOW) == []
        assert await store.save_passkey(passkey()) is True
        assert await store.save_passkey(passkey(uid="u2")) is False
        await store.update_passkey_usage("cred-1", 3, True, NOW + 5)
        assert await store.rename_passkey("u1", "cred-1", "renamed") is True
        got = await store.get_passkey("cred-1")
        assert got == passkey(
            sign_count=3, backup_state=True, last_used_at=NOW + 5, label="renamed"
        )
        assert await store.list_passkeys("u1") == [got]
        assert await store.delete_passkey("u1", "cred-1") is True
        assert await store.get_passkey("cred-1") is None and await store.list_passkeys("u1") == []

    for url, cluster in ((shared_redis_url(), False), (cluster_url(), True)):
        pre = prefix + ("c" if cluster else "")

        async def run_async(url: str = url, cluster: bool = cluster, pre: str = pre) -> None:
            store = AsyncRedisStore.from_url(url, cluster=cluster, prefix=pre + "a")
            try:
                await scenario(store)
            finally:
                await store.aclose()

        asyncio.run(run_async())
        sync = RedisStore.from_url(url, cluster=cluster, prefix=pre + "s")

        class Awaitable:  # the same scenario through the blocking store
            def __getattr__(self, name: str) -> Any:
                attr = getattr(sync, name)
                if name == "new_session_id":
                    return attr

                async def call(*args: Any) -> Any:
                    return attr(*args)

                return call

        asyncio.run(scenario(Awaitable()))  # type: ignore[arg-type]
        sync.close()


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
