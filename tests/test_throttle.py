"""Login, refresh and change-of-password throttling, on both faces and stores.

Each security test is named after the attack it stops. The clock is
injected, so lockouts of an hour take no time.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import CHEAP, Clock, Face, FaceFactory
from secure_auth import (
    AuthEvent,
    AuthService,
    ConfigurationError,
    InvalidCredentials,
    InvalidToken,
    MemoryStore,
    SQLiteStore,
    StoreUnavailable,
    SyncAuthService,
    ThrottleConfig,
    Throttled,
    ThrottleLimit,
)
from secure_auth.throttle import login_scopes, normalize_ip, parse_state

ATTACKER = "203.0.113.66"
VICTIM_IP = "198.51.100.7"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")


@pytest.fixture
def events() -> list[AuthEvent]:
    return []


@pytest.fixture
def auth(make_face: FaceFactory, store: Any, events: list[AuthEvent]) -> Face:
    return make_face(store, on_event=events.append)


class CountingHasher:
    """Counts Argon2 verifications behind the service's hasher."""

    def __init__(self, auth: Face) -> None:
        self.calls = 0
        hasher = auth.service._hasher
        inner = hasher._hasher
        outer = self
        lock = threading.Lock()

        class Counting:
            def verify(self, h: str, p: str) -> bool:
                with lock:
                    outer.calls += 1
                return inner.verify(h, p)

            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

        hasher._hasher = Counting()


def user(auth: Face, uid: str = "alice", password: str = "correct horse") -> dict[str, Any]:
    return auth.register_user({"id": uid, "login": uid, "password": password})


def fail(auth: Face, who: Any, ip: str, times: int = 1, **kw: Any) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            auth.login(who, "wrong guess", ip_address=ip, **kw)


# -- one account, one place ------------------------------------------------------


def test_password_guessing_is_locked_out_after_five_failures(auth: Face) -> None:
    alice = user(auth)
    fail(auth, alice, ATTACKER, 5)
    with pytest.raises(Throttled) as info:
        auth.login(alice, "correct horse", ip_address=ATTACKER)  # even the right one
    assert info.value.retry_after == 300 and info.value.status == 429
    assert info.value.code == "throttled"


def test_throttled_attempt_costs_no_argon2(auth: Face) -> None:
    alice = user(auth)
    fail(auth, alice, ATTACKER, 5)
    counter = CountingHasher(auth)
    for _ in range(20):
        with pytest.raises(Throttled):
            auth.login(alice, "guess", ip_address=ATTACKER)
    assert counter.calls == 0


def test_lockout_ends_after_retry_after_and_counts_down(auth: Face, clock: Clock) -> None:
    alice = user(auth)
    fail(auth, alice, ATTACKER, 5)
    with pytest.raises(Throttled):
        auth.login(alice, "x", ip_address=ATTACKER)
    clock.advance(100)
    with pytest.raises(Throttled) as info:
        auth.login(alice, "x", ip_address=ATTACKER)
    assert info.value.retry_after == 200
    clock.advance(200)
    assert auth.login(alice, "correct horse", ip_address=ATTACKER).user_id == "alice"


def test_repeated_lockouts_back_off_exponentially_up_to_the_cap(auth: Face, clock: Clock) -> None:
    alice = user(auth)
    seen = []
    for _ in range(6):
        fail(auth, alice, ATTACKER, 5)
        with pytest.raises(Throttled) as info:
            auth.login(alice, "x", ip_address=ATTACKER)
        seen.append(info.value.retry_after)
        clock.advance(info.value.retry_after)
    assert seen == [300, 600, 1200, 2400, 3600, 3600]


def test_parallel_guesses_cannot_outrun_the_limit_threads(keypair, store: Any) -> None:
    auth = SyncAuthService(*keypair, store, config=CHEAP)
    alice = user(Face(auth))
    results: list[BaseException] = []
    barrier = threading.Barrier(20)

    def guess() -> None:
        barrier.wait()
        try:
            auth.login(alice, "parallel guess", ip_address=ATTACKER)
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = sorted(type(r).__name__ for r in results)
    assert kinds.count("InvalidCredentials") == 5 and kinds.count("Throttled") == 15


def test_parallel_guesses_cannot_outrun_the_limit_tasks(keypair, store: Any) -> None:
    async def main() -> list[BaseException]:
        auth = AuthService(*keypair, store, config=CHEAP)
        alice = await auth.register_user({"id": "alice", "password": "pw"})
        out = await asyncio.gather(
            *(auth.login(alice, "guess", ip_address=ATTACKER) for _ in range(20)),
            return_exceptions=True,
        )
        await auth.aclose()
        return [r for r in out if isinstance(r, BaseException)]

    kinds = [type(r).__name__ for r in asyncio.run(main())]
    assert kinds.count("InvalidCredentials") == 5 and kinds.count("Throttled") == 15


# -- the owner is never locked out by somebody else ------------------------------


def test_attacker_cannot_lock_the_victim_out_from_the_victims_ip(auth: Face) -> None:
    alice = user(auth)
    fail(auth, alice, ATTACKER, 5)
    with pytest.raises(Throttled):
        auth.login(alice, "x", ip_address=ATTACKER)
    # The per-account budget is per account *and IP*: the owner signs in from home.
    assert auth.login(alice, "correct horse", ip_address=VICTIM_IP).user_id == "alice"


def test_attacker_rotating_ips_gets_five_guesses_per_ip_and_never_locks_the_owner(
    auth: Face,
) -> None:
    alice = user(auth)
    for i in range(1, 8):
        fail(auth, alice, f"192.0.2.{i}", 5)
        with pytest.raises(Throttled):
            auth.login(alice, "x", ip_address=f"192.0.2.{i}")
    auth.login(alice, "correct horse", ip_address=VICTIM_IP)


def test_success_from_one_ip_does_not_reset_another_ips_counters(auth: Face) -> None:
    alice = user(auth)
    fail(auth, alice, ATTACKER, 4)
    auth.login(alice, "correct horse", ip_address=VICTIM_IP)  # the owner, elsewhere
    fail(auth, alice, ATTACKER, 1)  # the attacker's fifth
    with pytest.raises(Throttled):
        auth.login(alice, "x", ip_address=ATTACKER)


def test_success_clears_the_account_ip_budget_of_that_ip(auth: Face) -> None:
    alice = user(auth)
    fail(auth, alice, VICTIM_IP, 4)  # typos
    auth.login(alice, "correct horse", ip_address=VICTIM_IP)
    fail(auth, alice, VICTIM_IP, 5)  # a fresh budget of five
    with pytest.raises(Throttled):
        auth.login(alice, "x", ip_address=VICTIM_IP)


# -- many accounts, one place -----------------------------------------------------


def test_password_spraying_from_one_ip_hits_the_ip_limit(auth: Face) -> None:
    for i in range(30):
        fail(auth, None, ATTACKER, account=f"user{i}")
    with pytest.raises(Throttled) as info:
        auth.login(None, "x", ip_address=ATTACKER, account="user-new")
    assert info.value.retry_after == 60


def test_own_account_successes_do_not_wash_the_ip_budget(auth: Face) -> None:
    mine = user(auth, "mallory", "my own password")
    for i in range(29):
        fail(auth, None, ATTACKER, account=f"victim{i}")
        auth.login(mine, "my own password", ip_address=ATTACKER)
    fail(auth, None, ATTACKER, account="victim29")  # the 30th failure
    with pytest.raises(Throttled):
        auth.login(None, "x", ip_address=ATTACKER, account="victim-next")


def test_ipv6_addresses_in_one_64_share_a_budget(auth: Face) -> None:
    alice = user(auth)
    for i in range(1, 6):
        fail(auth, alice, f"2001:db8:1:2::{i:x}")
    with pytest.raises(Throttled):
        auth.login(alice, "x", ip_address="2001:db8:1:2:ffff::9")
    auth.login(alice, "correct horse", ip_address="2001:db8:1:3::1")  # another /64


def test_ipv4_mapped_ipv6_counts_as_the_ipv4_address(auth: Face) -> None:
    alice = user(auth)
    fail(auth, alice, "::ffff:203.0.113.66", 5)
    with pytest.raises(Throttled):
        auth.login(alice, "x", ip_address=ATTACKER)


# -- no user enumeration through throttling ------------------------------------------


def test_unknown_account_is_throttled_exactly_like_a_known_one(auth: Face) -> None:
    alice = user(auth)

    def outcomes(who: Any, name: str, ip: str) -> list[str]:
        out = []
        for _ in range(7):
            try:
                auth.login(who, "wrong", ip_address=ip, account=name)
            except (InvalidCredentials, Throttled) as exc:
                out.append(f"{exc.code}:{getattr(exc, 'retry_after', '')}")
        return out

    assert outcomes(alice, "alice", "192.0.2.1") == outcomes(None, "nobody", "192.0.2.2")


def test_account_names_differing_in_case_or_unicode_form_share_a_budget(auth: Face) -> None:
    for name in ["Bob", "bob", "BOB", "\uff42\uff4f\uff42", " bob "]:
        fail(auth, None, ATTACKER, account=name)
    with pytest.raises(Throttled):
        auth.login(None, "x", ip_address=ATTACKER, account="bob")


# -- other doors ------------------------------------------------------------------------


def test_refresh_token_scanning_is_throttled_per_ip(auth: Face) -> None:
    tokens = auth.login(user(auth), "correct horse", ip_address=VICTIM_IP)
    for i in range(30):
        with pytest.raises(InvalidToken):
            auth.refresh(f"not.a.token{i}", ip_address=ATTACKER)
    with pytest.raises(Throttled):
        auth.refresh(tokens.refresh_token, ip_address=ATTACKER)
    # Other places refresh normally.
    assert auth.refresh(tokens.refresh_token, ip_address=VICTIM_IP).session_id


def test_successful_refreshes_are_never_throttled(auth: Face) -> None:
    tokens = auth.login(user(auth), "correct horse", ip_address=VICTIM_IP)
    for _ in range(40):
        tokens = auth.refresh(tokens.refresh_token, ip_address=VICTIM_IP)


def test_guessing_the_current_password_through_change_password_is_throttled(
    auth: Face,
) -> None:
    alice = user(auth)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            auth.change_password(alice, "guess", "new pw", lambda u, h: None, ip_address=ATTACKER)
    with pytest.raises(Throttled):
        auth.change_password(
            alice, "correct horse", "new pw", lambda u, h: None, ip_address=ATTACKER
        )


# -- events, configuration, failure ------------------------------------------------------


def test_throttled_events_say_who_where_and_how_long(auth: Face, events: list[AuthEvent]) -> None:
    alice = user(auth)
    fail(auth, alice, ATTACKER, 5, user_agent="curl/8")
    for _ in range(2):
        with pytest.raises(Throttled):
            auth.login(alice, "x", ip_address=ATTACKER, user_agent="curl/8")
    throttled = [e for e in events if e.type == "throttled"]
    assert [e.detail["action"] for e in throttled] == ["locked", "refused"]
    for e in throttled:
        assert (e.user_id, e.ip_address, e.user_agent) == ("alice", ATTACKER, "curl/8")
        assert e.reason == "account_ip" and e.detail["retry_after"] == 300
        assert e.detail["operation"] == "login"
    assert throttled[0].detail["strikes"] == 1


def test_limits_are_configurable(make_face: FaceFactory, store: Any) -> None:
    config = CHEAP.replace(
        throttle=ThrottleConfig(account_ip=ThrottleLimit(2, 10, 40), ip=ThrottleLimit(100, 60, 60))
    )
    auth = make_face(store, config=config)
    alice = user(auth)
    fail(auth, alice, ATTACKER, 2)
    with pytest.raises(Throttled) as info:
        auth.login(alice, "x", ip_address=ATTACKER)
    assert info.value.retry_after == 10


def test_disabled_throttling_counts_nothing(make_face: FaceFactory, store: Any) -> None:
    auth = make_face(store, config=CHEAP.replace(throttle=ThrottleConfig(enabled=False)))
    alice = user(auth)
    fail(auth, alice, ATTACKER, 12)
    assert auth.service.throttle_store is None


def test_login_without_ip_is_not_throttled_and_a_warning_says_so(auth: Face, caplog) -> None:
    alice = user(auth)
    fail(auth, alice, None, 8)  # type: ignore[arg-type]
    assert "without ip_address" in caplog.text


def test_throttle_store_outage_fails_closed_before_any_hash(make_face: FaceFactory) -> None:
    class DownThrottle:
        def throttle_hit(self, *a: Any) -> Any:
            raise ConnectionError("down")

        throttle_get = throttle_reset = throttle_hit

    auth = make_face(MemoryStore(), throttle_store=DownThrottle())
    alice = user(auth)
    counter = CountingHasher(auth)
    with pytest.raises(StoreUnavailable):
        auth.login(alice, "correct horse", ip_address=ATTACKER)
    assert counter.calls == 0


def test_throttle_store_answering_garbage_fails_closed(make_face: FaceFactory) -> None:
    class Liar(MemoryStore):
        def throttle_hit(self, *a: Any) -> Any:
            return "1"

    auth = make_face(Liar())
    with pytest.raises(StoreUnavailable) as info:
        auth.login(user(auth), "correct horse", ip_address=ATTACKER)
    assert "count" in info.value.reason


def test_store_without_counters_falls_back_to_process_counters(
    make_face: FaceFactory, caplog
) -> None:
    from test_service import MinimalStore

    auth = make_face(MinimalStore())
    assert "throttling counts in this process only" in caplog.text
    alice = user(auth)
    fail(auth, alice, ATTACKER, 5)
    with pytest.raises(Throttled):
        auth.login(alice, "x", ip_address=ATTACKER)


def test_throttle_store_lacking_methods_is_refused(keypair) -> None:
    with pytest.raises(ConfigurationError, match="throttle_store"):
        SyncAuthService(*keypair, MemoryStore(), config=CHEAP, throttle_store=object())


# -- pure rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "counted"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("unix:/run/app.sock", "unix:/run/app.sock"),
    ],
)
def test_normalize_ip(given: str, counted: str) -> None:
    assert normalize_ip(given) == counted


def test_lockout_schedule_doubles_and_caps() -> None:
    limit = ThrottleLimit(5, 300, 3600)
    assert [limit.lockout(s) for s in range(1, 7)] == [300, 600, 1200, 2400, 3600, 3600]
    assert limit.lockout(10**6) == 3600


def test_keys_are_opaque_and_never_account_only() -> None:
    scopes = login_scopes(ThrottleConfig(), account="alice@example.org", ip_address=ATTACKER)
    assert [s.name for s in scopes] == ["account_ip", "ip"]
    for s in scopes:
        assert "alice" not in s.base and ATTACKER not in s.base and len(s.block_key) <= 64
    assert login_scopes(ThrottleConfig(), account="alice", ip_address=None) == ()


@pytest.mark.parametrize(
    "bad",
    [
        dict(max_failures=0, window=1, max_lockout=1),
        dict(max_failures=1, window=10, max_lockout=5),
        dict(max_failures=True, window=1, max_lockout=1),
    ],
)
def test_bad_limits_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ThrottleLimit(**bad)


@pytest.mark.parametrize("answer", [None, "1", (1,), (True, 1.0), (1, "x"), (1, float("nan"))])
def test_parse_state_refuses_anything_but_count_and_time(answer: Any) -> None:
    with pytest.raises(StoreUnavailable):
        parse_state(answer)
