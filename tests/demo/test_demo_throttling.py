"""The demo's sign-in form under password guessing: a clear 429, never a 500."""

from __future__ import annotations

from .conftest import ClientFactory
from .test_app import PASSWORD, sign_in, sign_up


async def test_guessing_on_the_sign_in_form_is_throttled_with_a_message(
    make_client: ClientFactory,
) -> None:
    owner = make_client(ip="198.51.100.7")
    await sign_up(owner)
    attacker = make_client(ip="203.0.113.66")
    for _ in range(5):
        assert (await sign_in(attacker, password="guess")).status_code == 401
    page = await sign_in(attacker)  # even the right password waits now
    assert page.status_code == 429
    assert "Too many attempts" in page.text and "300 s" in page.text
    # The owner, from elsewhere, is not locked out.
    assert (await sign_in(owner, password=PASSWORD)).status_code == 303


async def test_unknown_login_is_throttled_like_a_known_one(make_client: ClientFactory) -> None:
    owner = make_client(ip="198.51.100.7")
    await sign_up(owner)
    for login, ip in (("alice", "192.0.2.1"), ("nobody", "192.0.2.2")):
        client = make_client(ip=ip)
        statuses = []
        for _ in range(6):
            statuses.append((await sign_in(client, login=login, password="guess")).status_code)
        assert statuses == [401] * 5 + [429], login
