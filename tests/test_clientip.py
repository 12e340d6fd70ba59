"""Which address is the client: spoofed X-Forwarded-For must never win."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secure_auth.clientip import client_ip, parse_ip

PROXY = "10.0.0.5"


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip("203.0.113.9", "1.2.3.4", 0) == "203.0.113.9"


def test_spoofed_forwarded_for_is_ignored_when_no_proxy_is_trusted() -> None:
    # A client talking to the app directly sends its own header.
    assert client_ip("203.0.113.9", "127.0.0.1, 198.51.100.1", 0) == "203.0.113.9"


def test_one_trusted_proxy_gives_the_address_it_appended() -> None:
    assert client_ip(PROXY, "203.0.113.9", 1) == "203.0.113.9"


def test_spoofed_entries_left_of_the_proxys_entry_are_ignored() -> None:
    # The client sent "X-Forwarded-For: 127.0.0.1"; the proxy appended its peer.
    assert client_ip(PROXY, "127.0.0.1, 203.0.113.9", 1) == "203.0.113.9"
    assert client_ip(PROXY, "1.1.1.1, 2.2.2.2, 3.3.3.3, 203.0.113.9", 1) == "203.0.113.9"


def test_two_proxies_each_append_one_entry() -> None:
    # client -> CDN (appends client) -> load balancer (appends CDN) -> app
    assert client_ip(PROXY, "6.6.6.6, 203.0.113.9, 198.51.100.20", 2) == "203.0.113.9"


def test_several_header_lines_joined_with_commas() -> None:
    assert client_ip(PROXY, "6.6.6.6,203.0.113.9", 1) == "203.0.113.9"


def test_request_that_bypassed_the_proxy_gets_its_peer_address() -> None:
    assert client_ip("203.0.113.9", None, 1) == "203.0.113.9"
    assert client_ip("203.0.113.9", "", 2) == "203.0.113.9"


def test_shorter_chain_than_configured_gives_the_leftmost_real_hop() -> None:
    assert client_ip(PROXY, "203.0.113.9", 3) == "203.0.113.9"


def test_garbage_in_the_trusted_part_stops_at_the_last_good_address() -> None:
    assert client_ip(PROXY, "203.0.113.9, not-an-ip", 2) == PROXY
    assert client_ip(PROXY, "<script>, 203.0.113.9", 2) == "203.0.113.9"
    assert client_ip(PROXY, "unknown", 1) == PROXY


def test_ports_brackets_and_zones_are_stripped() -> None:
    assert client_ip(PROXY, "203.0.113.9:51234", 1) == "203.0.113.9"
    assert client_ip(PROXY, "[2001:db8::1]:443", 1) == "2001:db8::1"
    assert client_ip("[2001:DB8::1]", None, 0) == "2001:db8::1"
    assert parse_ip("fe80::1%eth0") == "fe80::1"
    assert parse_ip('"192.0.2.1"') == "192.0.2.1"


@pytest.mark.parametrize("bad", [None, "", "localhost", "unix:/run/sock", "[::1", "999.1.1.1"])
def test_non_addresses_are_none(bad: str | None) -> None:
    assert parse_ip(bad) is None
    assert client_ip(bad, "203.0.113.9", 1) is None


def test_negative_proxy_count_is_refused() -> None:
    with pytest.raises(ValueError):
        client_ip(PROXY, None, -1)


def test_spoofed_header_cannot_buy_a_fresh_throttling_budget(keypair, clock) -> None:
    """End to end: an attacker varying X-Forwarded-For stays one client."""
    from conftest import CHEAP
    from secure_auth import InvalidCredentials, MemoryStore, SyncAuthService, Throttled

    auth = SyncAuthService(*keypair, MemoryStore(), config=CHEAP, clock=clock)
    alice = auth.register_user({"id": "alice", "password": "pw"})
    for i in range(5):
        ip = client_ip(PROXY, f"10.9.9.{i}, 203.0.113.66", 1)
        with pytest.raises(InvalidCredentials):
            auth.login(alice, "guess", ip_address=ip)
    with pytest.raises(Throttled):
        auth.login(alice, "guess", ip_address=client_ip(PROXY, "10.9.9.99, 203.0.113.66", 1))


def _web(keypair: Any, clock: Any, trusted_proxies: int) -> Any:
    from conftest import CHEAP
    from secure_auth import MemoryStore, SyncAuthService
    from secure_auth.web import WebAuth, WebConfig

    service = SyncAuthService(*keypair, MemoryStore(), config=CHEAP, clock=clock)
    users = {"alice": {"id": "u1", "password": service.hash_password("pw")}}
    config = WebConfig(transport="bearer", trusted_proxies=trusted_proxies)
    return WebAuth(service, config=config, get_user=users.get)


def _login(web: Any, login: str, forwarded: str, peer: str = PROXY) -> int:
    from secure_auth.web import Request

    body = json.dumps({"login": login, "password": "guess"}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": forwarded}
    request = Request.build("POST", headers, path="/auth/login", body=body, client_ip=peer)
    response = web.handle_sync("login", request)
    if response.status == 429:
        assert dict(response.headers)["Retry-After"] == "300"
    return int(response.status)


def test_web_login_behind_a_proxy_throttles_the_real_client(keypair, clock) -> None:
    web = _web(keypair, clock, trusted_proxies=1)
    statuses = [_login(web, "alice", f"10.0.{i}.1, 203.0.113.66") for i in range(6)]
    assert statuses == [401] * 5 + [429]
    assert _login(web, "alice", "198.51.100.7") == 401  # another client is not locked out


def test_web_login_throttles_unknown_names_like_known_ones(keypair, clock) -> None:
    web = _web(keypair, clock, trusted_proxies=1)
    known = [_login(web, "alice", "192.0.2.1") for _ in range(6)]
    unknown = [_login(web, "nobody", "192.0.2.2") for _ in range(6)]
    assert known == unknown == [401] * 5 + [429]


def test_web_without_trusted_proxies_ignores_forwarded_for(keypair, clock) -> None:
    web = _web(keypair, clock, trusted_proxies=0)
    statuses = [_login(web, "alice", f"10.9.9.{i}", peer="203.0.113.66") for i in range(6)]
    assert statuses == [401] * 5 + [429]
