"""The throttle-counter contract: every backend, blocking and async.

What the throttling flows rely on from a ``ThrottleStore``: a fixed window
that starts with the first hit, atomic increments (concurrent hits are all
counted, each caller sees its own count), expiry on read, and a reset.
"""

from __future__ import annotations

import pytest

from secure_auth.errors import StoreUnavailable

from .conftest import Handle

NOW = 1_800_000_000.0
KEY = "thr:account_ip:AbCdEfGhIjKlMnOpQrStUvWx:f"


def test_first_hit_starts_a_window(handle: Handle) -> None:
    assert handle.call("throttle_get", KEY, NOW) is None
    assert tuple(handle.call("throttle_hit", KEY, 300, NOW)) == (1, NOW + 300)
    assert tuple(handle.call("throttle_get", KEY, NOW + 1)) == (1, NOW + 300)


def test_more_hits_count_up_without_extending_the_window(handle: Handle) -> None:
    handle.call("throttle_hit", KEY, 300, NOW)
    assert tuple(handle.call("throttle_hit", KEY, 300, NOW + 10)) == (2, NOW + 300)
    assert tuple(handle.call("throttle_hit", KEY, 300, NOW + 299)) == (3, NOW + 300)


def test_expired_window_reads_as_none_and_restarts_on_hit(handle: Handle) -> None:
    handle.call("throttle_hit", KEY, 300, NOW)
    handle.call("throttle_hit", KEY, 300, NOW)
    assert handle.call("throttle_get", KEY, NOW + 300) is None
    assert tuple(handle.call("throttle_hit", KEY, 60, NOW + 300)) == (1, NOW + 360)


def test_negative_amount_gives_an_attempt_back(handle: Handle) -> None:
    for _ in range(3):
        handle.call("throttle_hit", KEY, 60, NOW)
    assert tuple(handle.call("throttle_hit", KEY, 60, NOW + 1, -1)) == (2, NOW + 60)


def test_reset_deletes_only_that_counter_and_is_idempotent(handle: Handle) -> None:
    handle.call("throttle_hit", KEY, 60, NOW)
    handle.call("throttle_hit", KEY + "x", 60, NOW)
    handle.call("throttle_reset", KEY)
    handle.call("throttle_reset", KEY)
    assert handle.call("throttle_get", KEY, NOW) is None
    assert tuple(handle.call("throttle_get", KEY + "x", NOW)) == (1, NOW + 60)


def test_fractional_windows_and_times_round_trip(handle: Handle) -> None:
    count, reset_at = handle.call("throttle_hit", KEY, 0.25, NOW + 0.5)
    assert count == 1 and reset_at == pytest.approx(NOW + 0.75, abs=1e-3)
    assert handle.call("throttle_get", KEY, NOW + 0.76) is None


def test_fifty_concurrent_hits_count_fifty_each_seeing_its_own_count(handle: Handle) -> None:
    # No warm-up call: the first use of a store may be this burst (the async
    # Cluster store initialises its client once, under a lock).
    results = handle.race("throttle_hit", [(KEY, 300, NOW)] * 50)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert sorted(r[0] for r in results) == list(range(1, 51))
    assert {r[1] for r in results} == {NOW + 300}
    assert tuple(handle.call("throttle_get", KEY, NOW)) == (50, NOW + 300)


@pytest.mark.parametrize("method", ["throttle_hit", "throttle_get", "throttle_reset"])
def test_throttle_outage_raises_store_unavailable(broken_handle: Handle, method: str) -> None:
    args = {
        "throttle_hit": (KEY, 60, NOW),
        "throttle_get": (KEY, NOW),
        "throttle_reset": (KEY,),
    }[method]
    with pytest.raises(StoreUnavailable):
        broken_handle.call(method, *args)
