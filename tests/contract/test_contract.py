"""The store contract: one suite, every backend, blocking and async.

What secure-auth relies on from a store, stated as tests. A new store is
done when it passes this file unchanged.
"""

from __future__ import annotations

import dataclasses

import pytest

from secure_auth.errors import StoreUnavailable
from secure_auth.models import PasskeyCredential, SessionRecord

from .conftest import Handle

NOW = 1_800_000_000.0

ODD_IDS = [
    "plain",
    "ü-ñíçødé-用户-🙂",
    "x" * 255,
    "quote'\"; DROP TABLE sessions; --",
    "{hash}:tag*[?]\\ \r\n\t%_",
    "redis key {with} braces and * glob",
]


def record(session_id: str = "s1", user_id: str = "u1", **changes: object) -> SessionRecord:
    base = SessionRecord(
        session_id=session_id,
        user_id=user_id,
        created_at=NOW,
        expires_at=NOW + 3600,
        last_used_at=NOW,
        refresh_generation=0,
        rotated_at=None,
        auth_method="password",
        user_agent="Mozilla/5.0 (X11) 'quoted'",
        ip_address="2001:db8::1",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def passkey(
    credential_id: str = "cred-1", user_id: str = "u1", **changes: object
) -> PasskeyCredential:
    base = PasskeyCredential(
        credential_id=credential_id,
        user_id=user_id,
        user_handle="aGFuZGxl",
        public_key=b"\xa5\x01\x02\x03&" + bytes(range(40)),
        sign_count=0,
        transports=("internal", "hybrid"),
        aaguid="00000000-0000-0000-0000-000000000000",
        backup_eligible=True,
        backup_state=False,
        created_at=NOW,
        last_used_at=None,
        label="My laptop",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# -- sessions ----------------------------------------------------------------


def test_saved_session_reads_back_equal(handle: Handle) -> None:
    rec = record()
    handle.call("save_session", rec)
    assert handle.call("get_session", "s1", NOW) == rec


def test_missing_session_is_none(handle: Handle) -> None:
    assert handle.call("get_session", "nope", NOW) is None


def test_delete_removes_session_and_is_idempotent(handle: Handle) -> None:
    handle.call("save_session", record())
    handle.call("delete_session", "s1")
    assert handle.call("get_session", "s1", NOW) is None
    handle.call("delete_session", "s1")  # deleting again is not an error


def test_save_replaces_existing_session(handle: Handle) -> None:
    handle.call("save_session", record())
    handle.call("save_session", record(auth_method="passkey"))
    got = handle.call("get_session", "s1", NOW)
    assert got is not None and got.auth_method == "passkey"


def test_expiry_is_enforced_on_read(handle: Handle) -> None:
    handle.call("save_session", record(expires_at=NOW + 10))
    assert handle.call("get_session", "s1", NOW + 9.5) is not None
    assert handle.call("get_session", "s1", NOW + 10) is None
    assert handle.call("list_sessions", "u1", NOW + 10) == []
    assert handle.call("rotate_refresh", "s1", 0, NOW + 10) is False


def test_list_sessions_returns_only_that_users_live_sessions(handle: Handle) -> None:
    handle.call("save_session", record("a", "u1", created_at=NOW))
    handle.call("save_session", record("b", "u1", created_at=NOW + 1))
    handle.call("save_session", record("c", "u2"))
    handle.call("save_session", record("d", "u1", expires_at=NOW - 1))
    listed = handle.call("list_sessions", "u1", NOW)
    assert [r.session_id for r in listed] == ["a", "b"]


def test_delete_user_sessions_keeps_the_exception_and_other_users(handle: Handle) -> None:
    for sid, uid in [("a", "u1"), ("b", "u1"), ("c", "u1"), ("x", "u2")]:
        handle.call("save_session", record(sid, uid))
    assert handle.call("delete_user_sessions", "u1", "b") == 2
    assert [r.session_id for r in handle.call("list_sessions", "u1", NOW)] == ["b"]
    assert handle.call("get_session", "x", NOW) is not None
    assert handle.call("delete_user_sessions", "u1", None) == 1
    assert handle.call("list_sessions", "u1", NOW) == []


@pytest.mark.parametrize("odd", ODD_IDS)
def test_odd_ids_round_trip_and_stay_separate(handle: Handle, odd: str) -> None:
    handle.call("save_session", record(odd, odd))
    handle.call("save_session", record(odd + "2", "other"))
    got = handle.call("get_session", odd, NOW)
    assert got is not None and got.user_id == odd and got.session_id == odd
    assert [r.session_id for r in handle.call("list_sessions", odd, NOW)] == [odd]
    assert handle.call("rotate_refresh", odd, 0, NOW + 1) is True
    assert handle.call("delete_user_sessions", odd, None) == 1
    assert handle.call("get_session", odd + "2", NOW) is not None


# -- refresh compare-and-set ---------------------------------------------------


def test_rotate_refresh_compare_and_set(handle: Handle) -> None:
    handle.call("save_session", record())
    assert handle.call("rotate_refresh", "s1", 1, NOW + 1) is False  # wrong generation
    assert handle.call("rotate_refresh", "s1", 0, NOW + 1) is True
    got = handle.call("get_session", "s1", NOW + 1)
    assert got.refresh_generation == 1
    assert got.rotated_at == NOW + 1 and got.last_used_at == NOW + 1
    assert handle.call("rotate_refresh", "s1", 0, NOW + 2) is False  # stale generation
    assert handle.call("rotate_refresh", "missing", 0, NOW) is False


def test_exactly_one_of_fifty_concurrent_rotations_wins(handle: Handle) -> None:
    handle.call("save_session", record())
    results = handle.race("rotate_refresh", [("s1", 0, NOW + 1)] * 50)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert results.count(True) == 1 and results.count(False) == 49
    assert handle.call("get_session", "s1", NOW + 1).refresh_generation == 1


# -- challenges ----------------------------------------------------------------


def test_challenge_pops_once(handle: Handle) -> None:
    handle.call("put_challenge", "c1", '{"type": "registration"}', NOW + 60)
    assert handle.call("pop_challenge", "c1", NOW) == '{"type": "registration"}'
    assert handle.call("pop_challenge", "c1", NOW) is None


def test_expired_challenge_is_not_returned(handle: Handle) -> None:
    handle.call("put_challenge", "c1", "v", NOW + 60)
    assert handle.call("pop_challenge", "c1", NOW + 60) is None


def test_concurrent_pops_of_one_challenge_have_one_winner(handle: Handle) -> None:
    handle.call("put_challenge", "c1", "value", NOW + 60)
    results = handle.race("pop_challenge", [("c1", NOW)] * 20)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count("value") == 1 and results.count(None) == 19


@pytest.mark.parametrize("odd", ODD_IDS)
def test_odd_challenge_keys(handle: Handle, odd: str) -> None:
    handle.call("put_challenge", odd, odd, NOW + 60)
    assert handle.call("pop_challenge", odd + "x", NOW) is None
    assert handle.call("pop_challenge", odd, NOW) == odd


# -- passkeys ------------------------------------------------------------------


def test_passkey_round_trip(handle: Handle) -> None:
    cred = passkey()
    assert handle.call("save_passkey", cred) is True
    assert handle.call("get_passkey", "cred-1") == cred
    assert handle.call("get_passkey", "missing") is None


def test_passkey_id_is_unique_across_users(handle: Handle) -> None:
    assert handle.call("save_passkey", passkey(user_id="u1")) is True
    assert handle.call("save_passkey", passkey(user_id="u2", label="theirs")) is False
    got = handle.call("get_passkey", "cred-1")
    assert got.user_id == "u1" and got.label == "My laptop"


def test_list_passkeys_per_user_oldest_first(handle: Handle) -> None:
    handle.call("save_passkey", passkey("b", created_at=NOW + 1))
    handle.call("save_passkey", passkey("a", created_at=NOW))
    handle.call("save_passkey", passkey("z", user_id="u2"))
    assert [c.credential_id for c in handle.call("list_passkeys", "u1")] == ["a", "b"]


def test_update_passkey_usage(handle: Handle) -> None:
    handle.call("save_passkey", passkey())
    handle.call("update_passkey_usage", "cred-1", 7, True, NOW + 5)
    got = handle.call("get_passkey", "cred-1")
    assert (got.sign_count, got.backup_state, got.last_used_at) == (7, True, NOW + 5)


def test_passkey_rename_and_delete_are_scoped_to_the_owner(handle: Handle) -> None:
    handle.call("save_passkey", passkey(user_id="u1"))
    assert handle.call("rename_passkey", "attacker", "cred-1", "pwned") is False
    assert handle.call("delete_passkey", "attacker", "cred-1") is False
    assert handle.call("get_passkey", "cred-1").label == "My laptop"
    assert handle.call("rename_passkey", "u1", "cred-1", "Work key 🔑") is True
    assert handle.call("get_passkey", "cred-1").label == "Work key 🔑"
    assert handle.call("delete_passkey", "u1", "cred-1") is True
    assert handle.call("get_passkey", "cred-1") is None


# -- outages -------------------------------------------------------------------

OUTAGE_CALLS = [
    ("get_session", ("s1", NOW)),
    ("save_session", (record(),)),
    ("delete_session", ("s1",)),
    ("rotate_refresh", ("s1", 0, NOW)),
    ("list_sessions", ("u1", NOW)),
    ("delete_user_sessions", ("u1", None)),
    ("pop_challenge", ("c1", NOW)),
    ("get_passkey", ("cred-1",)),
]


@pytest.mark.parametrize(("method", "args"), OUTAGE_CALLS, ids=[m for m, _ in OUTAGE_CALLS])
def test_outage_raises_store_unavailable(broken_handle: Handle, method: str, args: tuple) -> None:
    with pytest.raises(StoreUnavailable):
        broken_handle.call(method, *args)
