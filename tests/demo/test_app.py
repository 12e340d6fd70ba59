"""The demo's pages and rules, in-process with httpx (no browser)."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import sqlite3
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from passkeys.softauthn import SoftAuthenticator
from secure_auth.demo import DemoSettings, text
from secure_auth.demo.app import safe_next
from secure_auth.demo.text import describe_device, relative_time

from .conftest import ORIGIN, ClientFactory

PASSWORD = "correct horse battery"
EVIL = "https://evil.example"


async def sign_up(client: httpx.AsyncClient, login: str = "alice", password: str = PASSWORD):
    return await client.post("/signup", data={"login": login, "password": password})


async def sign_in(client: httpx.AsyncClient, login: str = "alice", password: str = PASSWORD):
    return await client.post("/signin", data={"login": login, "password": password})


def field_errors(page: str) -> dict[str, str]:
    """{input id: its error text} from a rendered form."""
    found = re.findall(r'<p class="field-error" id="([\w-]+)-error">(.*?)</p>', page, re.S)
    return {
        fid: html.unescape(re.sub(r"<[^>]+>", "", text)).replace("Error: ", "").strip()
        for fid, text in found
    }


def session_ids(page: str) -> list[str]:
    return re.findall(r'name="session_id" value="([^"]+)"', page)


# -- pages and accessibility basics --------------------------------------------


@pytest.mark.parametrize("path", ["/", "/signin", "/signup"])
async def test_every_input_has_a_label(client: httpx.AsyncClient, path: str) -> None:
    page = (await client.get(path)).text
    inputs = re.findall(r"<input\b[^>]*>", page)
    labelled = set(re.findall(r'<label for="([\w-]+)"', page))
    for tag in inputs:
        if 'type="hidden"' in tag or " hidden" in tag:
            continue
        fid = re.search(r'id="([\w-]+)"', tag)
        assert fid and fid.group(1) in labelled, tag


async def test_account_page_labels_every_input(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    page = (await client.get("/account")).text
    labelled = set(re.findall(r'<label for="([\w-]+)"', page))
    for tag in re.findall(r"<input\b[^>]*>", page):
        if 'type="hidden"' in tag or " hidden" in tag:
            continue
        assert re.search(r'id="([\w-]+)"', tag).group(1) in labelled, tag


async def test_pages_send_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/signin")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_library_serves_the_passkey_module_the_demo_its_own_files(
    client: httpx.AsyncClient,
) -> None:
    module = await client.get("/auth/passkeys.js")  # the integration's route
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert module.headers["cache-control"] == "no-cache"  # not the pages' no-store
    assert "script-src 'self'" in module.headers["content-security-policy"]
    assert "export async function signInWithPasskey" in module.text
    glue = await client.get("/static/demo.js")
    assert 'from "/auth/passkeys.js";' in glue.text
    for path in ("/static/demo.css", "/static/favicon.svg"):
        assert (await client.get(path)).status_code == 200, path
    # No second copy of what the library serves.
    assert (await client.get("/static/passkeys.js")).status_code == 404
    assert (await client.post("/passkeys/login/options", json={})).status_code == 404


async def test_unknown_page_is_a_friendly_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert "There is no page at this address." in response.text
    assert 'href="/signin"' in response.text
    await sign_up(client)
    signed_in = await client.get("/nowhere")
    assert 'href="/account"' in signed_in.text and 'href="/signin"' not in signed_in.text


# -- sign up ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "password", "errors"),
    [
        ("", "", {"login": "Choose a login.", "password": "Use at least 8 characters"}),
        ("al", PASSWORD, {"login": "Use at least 3 characters for your login."}),
        ("al ice", PASSWORD, {"login": "no spaces"}),
        ("alice", "short", {"password": "Use at least 8 characters for your password."}),
        ("alice-smith", "Alice-Smith", {"password": "must be different from your login"}),
        ("alice", "x" * 1025, {"password": "at most 1024 characters"}),
    ],
)
async def test_sign_up_shows_policy_errors_next_to_the_field(
    client: httpx.AsyncClient, login: str, password: str, errors: dict[str, str]
) -> None:
    response = await sign_up(client, login, password)
    assert response.status_code == 400
    shown = field_errors(response.text)
    assert shown.keys() == errors.keys()
    for name, words in errors.items():
        assert words in shown[name]
        assert re.search(rf'id="{name}"[^>]*aria-invalid="true"', response.text)
    assert "set-cookie" not in response.headers
    if login:
        assert f'value="{html.escape(login)}"' in response.text  # kept, not retyped
    assert PASSWORD not in response.text  # a password is never echoed


async def test_sign_up_refuses_a_taken_login_in_any_case(make_client: ClientFactory) -> None:
    assert (await sign_up(make_client(), "Alice")).status_code == 303
    response = await sign_up(make_client(), "ALICE")
    assert response.status_code == 400
    assert "That login is taken" in field_errors(response.text)["login"]


async def test_sign_up_signs_in_with_http_only_lax_cookies(client: httpx.AsyncClient) -> None:
    response = await sign_up(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/account?notice=welcome"
    access, refresh = response.headers.get_list("set-cookie")
    assert access.startswith("access_token=") and "Path=/;" in access
    assert refresh.startswith("refresh_token=") and "Path=/auth;" in refresh
    for cookie in (access, refresh):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # http://localhost cannot carry Secure cookies
    account = await client.get(response.headers["location"])
    assert account.status_code == 200
    assert "Welcome! Your account is ready" in account.text
    assert 'data-testid="auth-method">your password<' in account.text


# -- sign in ---------------------------------------------------------------------


async def test_wrong_password_and_unknown_login_get_the_same_answer(
    make_client: ClientFactory,
) -> None:
    await sign_up(make_client())
    wrong = await sign_in(make_client(), "alice", "not the password")
    unknown = await sign_in(make_client(), "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "That login and password do not match an account."
    assert message in wrong.text and message in unknown.text
    assert "set-cookie" not in wrong.headers


async def test_sign_in_with_empty_fields_says_what_is_missing(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "", "")
    assert response.status_code == 400
    assert field_errors(response.text) == {
        "login": "Enter your login.",
        "password": "Enter your password.",
    }


async def test_sign_in_returns_to_a_local_page_only(make_client: ClientFactory) -> None:
    await sign_up(make_client())
    client = make_client()
    form = {"login": "alice", "password": PASSWORD, "next": "/account#sessions"}
    assert (await client.post("/signin", data=form)).headers["location"] == "/account#sessions"
    client = make_client()
    form["next"] = "//evil.example/"
    assert (await client.post("/signin", data=form)).headers["location"] == "/account"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("/account", True),
        ("//evil.example", False),
        ("/\\evil", False),
        ("https://evil.example", False),
        ("/a\r\nSet-Cookie: x", False),
        (None, False),
    ],
)
def test_safe_next(value: object, safe: bool) -> None:
    assert (safe_next(value) is not None) is safe


# -- cross-site requests (CSRF) --------------------------------------------------


async def test_cross_site_post_with_the_session_cookie_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    forged = await client.post("/account/sessions/revoke-all", headers={"origin": EVIL})
    assert forged.status_code == 403
    assert "came from another site" in forged.text
    assert "set-cookie" not in forged.headers
    assert (await client.get("/account")).status_code == 200  # still signed in


async def test_post_without_origin_or_fetch_metadata_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    forged = await client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "a new password"},
        headers={"origin": ""},
    )
    assert forged.status_code == 403


async def test_cross_site_sign_in_is_refused(make_client: ClientFactory) -> None:
    await sign_up(make_client())
    forged = await make_client().post(
        "/signin", data={"login": "alice", "password": PASSWORD}, headers={"origin": EVIL}
    )
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers


# -- sessions ----------------------------------------------------------------------


async def test_revoking_a_session_signs_that_browser_out(make_client: ClientFactory) -> None:
    laptop = make_client()
    await sign_up(laptop)
    phone = make_client(
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/604.1"
    )
    await sign_in(phone)
    page = (await laptop.get("/account")).text
    assert "Safari on iPhone" in page and "This device" in page
    ids = session_ids(page)
    assert len(ids) == 2
    current, other = ids  # the current session is listed first
    revoked = await laptop.post("/account/sessions/revoke", data={"session_id": other})
    assert revoked.headers["location"] == "/account?notice=session_revoked#sessions"
    answer = await phone.get("/account")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?notice=session_ended"
    assert all("Max-Age=0" in c for c in answer.headers.get_list("set-cookie"))
    assert session_ids((await laptop.get("/account")).text) == [current]


async def test_a_user_cannot_revoke_another_users_session(make_client: ClientFactory) -> None:
    alice, bob = make_client(), make_client()
    await sign_up(alice)
    await sign_up(bob, "bob")
    [bobs] = session_ids((await bob.get("/account")).text)
    await alice.post("/account/sessions/revoke", data={"session_id": bobs})
    assert (await bob.get("/account")).status_code == 200


async def test_sign_out_everywhere(make_client: ClientFactory) -> None:
    laptop, phone = make_client(), make_client()
    await sign_up(laptop)
    await sign_in(phone)
    response = await laptop.post("/account/sessions/revoke-all")
    assert response.headers["location"] == "/signin?notice=signed_out_everywhere"
    for client in (laptop, phone):
        assert (await client.get("/account")).status_code == 303


async def test_sign_out_ends_the_session_server_side(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = client.cookies["access_token"]
    response = await client.post("/auth/signout")
    assert response.headers["location"] == "/signin?notice=signed_out"
    client.cookies.set("access_token", token)  # a copy of the cookie is worthless now
    assert (await client.get("/account")).headers["location"] == "/signin?notice=session_ended"


async def test_sign_out_after_the_access_cookie_expired_still_ends_the_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    client.cookies.delete("access_token")  # idle for 15 minutes: the browser dropped it
    response = await client.post("/auth/signout")
    assert response.headers["location"] == "/signin?notice=signed_out"
    user = app.state.demo.users.by_login("alice")
    assert await app.state.demo.service.list_sessions(user.id) == []


async def test_sign_out_from_another_site_is_refused(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    forged = await client.post("/auth/signout", headers={"origin": EVIL})
    assert forged.status_code == 403
    assert (await client.get("/account")).status_code == 200


async def test_no_cookie_means_sign_in_first(client: httpx.AsyncClient) -> None:
    response = await client.get("/account", follow_redirects=True)
    assert str(response.url).endswith("/signin?notice=sign_in_needed&next=/account")
    assert "Please sign in to see this page." in response.text


async def test_an_expired_access_cookie_is_renewed_with_the_refresh_cookie(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    client.cookies.delete("access_token")  # the browser drops it at Max-Age
    response = await client.get("/account")
    assert response.headers["location"] == "/auth/continue?next=/account"
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert 'data-refresh="/auth/refresh"' in page.text
    renewed = await client.post("/auth/refresh")  # what the page's script does
    assert renewed.status_code == 200
    assert "access_token" not in renewed.json()  # cookie transport: tokens stay out of JS
    assert (await client.get("/account")).status_code == 200


# -- change password ---------------------------------------------------------------


async def test_change_password_with_a_wrong_current_password(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    response = await client.post(
        "/account/password",
        data={"current_password": "not it at all", "new_password": "a brand new password"},
    )
    assert response.status_code == 400
    assert field_errors(response.text) == {
        "current_password": "Your current password is not right. Nothing was changed."
    }


async def test_change_password_policy_errors(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    response = await client.post(
        "/account/password", data={"current_password": PASSWORD, "new_password": "short"}
    )
    assert response.status_code == 400
    assert "at least 8 characters" in field_errors(response.text)["new_password"]


async def test_change_password_replaces_the_old_one_and_signs_out_other_sessions(
    make_client: ClientFactory,
) -> None:
    laptop, phone = make_client(), make_client()
    await sign_up(laptop)
    await sign_in(phone)
    response = await laptop.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert response.headers["location"] == "/account?notice=password_changed#password"
    assert (await laptop.get("/account")).status_code == 200  # this session stays
    assert (await phone.get("/account")).headers["location"] == "/signin?notice=session_ended"
    assert (await sign_in(make_client())).status_code == 401
    assert (await sign_in(make_client(), "alice", "a brand new password")).status_code == 303


# -- passkeys: the library's /auth routes, through the demo app -------------------
# The same requests the pages' script makes; test_journey.py runs them in Chromium.


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id="localhost", origin=ORIGIN)


def page_data(page: str, name: str) -> str:
    """The value of the page's first ``data-<name>`` attribute."""
    found = re.search(rf"""data-{name}=(["'])(.*?)\1""", page, re.S)
    assert found, f"no data-{name} on the page"
    return html.unescape(found.group(2))


async def add_passkey(client: httpx.AsyncClient, authenticator: SoftAuthenticator) -> Any:
    """What the account page's script does: options, the ceremony, the answer
    with the label the page proposes. The stored passkey's JSON."""
    label = page_data((await client.get("/account")).text, "label")
    options = await client.post("/auth/passkey/register/options", json={})
    assert options.status_code == 200, options.text
    credential = authenticator.create(options.json())
    response = await client.post("/auth/passkey/register", json={**credential, "label": label})
    assert response.status_code == 201, response.text
    return response.json()


async def passkey_sign_in(
    client: httpx.AsyncClient, authenticator: SoftAuthenticator
) -> httpx.Response:
    """What the sign-in page's script does: usernameless options, the assertion."""
    options = await client.post("/auth/passkey/login/options", json={})
    assert options.status_code == 200, options.text
    return await client.post("/auth/passkey/login", json=authenticator.get(options.json()))


async def test_usernameless_passkey_options_for_localhost(client: httpx.AsyncClient) -> None:
    options = (await client.post("/auth/passkey/login/options", json={})).json()
    assert options["rpId"] == "localhost"
    assert options.get("allowCredentials", []) == []
    assert options["challenge"]


async def test_registering_a_passkey_needs_a_session(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/passkey/register/options", json={})
    assert response.status_code == 401
    assert response.json() == {"error": "authentication_required"}
    await sign_up(client)
    options = (await client.post("/auth/passkey/register/options", json={})).json()
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == options["user"]["displayName"] == "alice"  # get_user_name


async def test_add_a_passkey_then_sign_in_with_it_elsewhere(
    make_client: ClientFactory, authenticator: SoftAuthenticator
) -> None:
    laptop = make_client()
    await sign_up(laptop)
    stored = await add_passkey(laptop, authenticator)
    assert stored["label"] == "Firefox on Linux"  # named after the device that made it
    page = (await laptop.get("/account?notice=passkey_added")).text
    assert "Your passkey is added." in page
    assert re.search(r'class="item-title">.*?Firefox on Linux</p>', page)

    phone = make_client()
    response = await passkey_sign_in(phone, authenticator)
    assert response.status_code == 200
    assert "access_token" not in response.json()  # cookie transport: tokens stay out of JS
    cookies = response.headers.get_list("set-cookie")
    assert [c.split("=")[0] for c in cookies] == ["access_token", "refresh_token"]
    assert all("HttpOnly" in c for c in cookies)
    account = await phone.get("/account")
    assert account.status_code == 200
    assert 'data-testid="auth-method">a passkey<' in account.text


async def test_a_deleted_accounts_passkey_signs_nobody_in(
    app: Starlette, make_client: ClientFactory, authenticator: SoftAuthenticator
) -> None:
    client = make_client()
    await sign_up(client)
    await add_passkey(client, authenticator)
    demo = app.state.demo
    user = demo.users.by_login("alice")
    with contextlib.closing(sqlite3.connect(demo.settings.database)) as db:
        db.execute("DELETE FROM demo_users WHERE id = ?", (user.id,))
        db.commit()
    response = await passkey_sign_in(make_client(), authenticator)
    assert response.status_code == 401
    assert response.json() == {"error": "passkey_verification_failed"}
    assert "set-cookie" not in response.headers
    # The session the verified assertion opened is already closed.
    assert [s.auth_method for s in await demo.service.list_sessions(user.id)] == ["password"]
    registration = await client.post("/auth/passkey/register/options", json={})
    assert registration.status_code == 401
    assert registration.json() == {"error": "invalid_token"}


async def test_every_passkey_route_answer_has_words_on_the_page(
    make_client: ClientFactory,
) -> None:
    """The routes answer a code; the pages carry the demo's words for it."""
    client = make_client()
    words = json.loads(page_data((await client.get("/signin")).text, "messages"))
    assert words == text.ERRORS
    stranger = SoftAuthenticator(rp_id="localhost", origin=ORIGIN)
    stranger.create({"user": {"id": "AAAA"}, "challenge": "AAAA"})  # never registered here
    answers = [
        (await passkey_sign_in(client, stranger), 401, "passkey_verification_failed"),
        (await client.post("/auth/passkey/login", json={"id": "x"}), 400, "passkey_malformed"),
        (
            await client.post("/auth/passkey/register/options", json={}),
            401,
            "authentication_required",
        ),
        (
            await client.post("/auth/passkey/login/options", json={}, headers={"origin": EVIL}),
            403,
            "csrf_rejected",
        ),
    ]
    for response, status, code in answers:
        assert response.status_code == status, response.text
        assert response.json() == {"error": code}
        assert code in words
    signed_in = make_client()
    await sign_up(signed_in)
    assert json.loads(page_data((await signed_in.get("/account")).text, "messages")) == words


# -- settings and words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "rp_id", "url"),
    [
        ("127.0.0.1", "localhost", "http://localhost:8000"),
        ("localhost", "localhost", "http://localhost:8000"),
        ("0.0.0.0", "localhost", "http://localhost:8000"),
        ("::1", "localhost", "http://localhost:8000"),
        ("demo.test", "demo.test", "http://demo.test:8000"),
    ],
)
def test_relying_party_follows_the_host(host: str, rp_id: str, url: str) -> None:
    settings = DemoSettings(host=host, port=8000)
    assert settings.rp_id == rp_id and settings.url == url
    config = settings.auth_config()
    assert config.rp_id == rp_id and config.expected_origins == (url,)


def test_cheap_hashing_is_opt_in(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("SECURE_AUTH_DEMO_CHEAP_HASH", raising=False)
    normal = DemoSettings.from_env("127.0.0.1", 8000, tmp_path).auth_config()
    assert normal.argon2_memory_cost >= 64 * 1024
    monkeypatch.setenv("SECURE_AUTH_DEMO_CHEAP_HASH", "1")
    assert DemoSettings.from_env("127.0.0.1", 8000, tmp_path).auth_config().argon2_memory_cost == 64


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/140.0 Safari/537.36",
            "Chrome on Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/140.0 Safari/537.36 Edg/140.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:140.0) Gecko/20100101 Firefox/140.0",
            "Firefox on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/140.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "curl/8.5.0"),
        (None, "Unknown device"),
    ],
)
def test_describe_device(agent: str | None, device: str) -> None:
    assert describe_device(agent) == device


def test_relative_time() -> None:
    now = 1_800_000_000.0
    assert relative_time(now - 5, now) == "just now"
    assert relative_time(now - 60, now) == "1 minute ago"
    assert relative_time(now - 7200, now) == "2 hours ago"
    assert relative_time(now - 86400 * 3, now) == "3 days ago"
    assert relative_time(now - 86400 * 30, now).endswith("UTC")
    assert relative_time(None, now) == "never"


def test_origin_constant_matches_the_default_settings() -> None:
    assert DemoSettings().url == ORIGIN


# -- attacks on the demo (issue 11) --------------------------------------------------


async def test_cross_site_sign_out_via_empty_form_post_clears_no_cookie(
    client: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    await sign_up(client)
    # What the browser sends for another site's auto-submitted form: Lax
    # cookies stay home, the Origin (or Sec-Fetch-Site) says cross-site.
    forger = make_client()
    for headers in ({"origin": EVIL}, {"origin": "null"}, {"sec-fetch-site": "cross-site"}):
        if "origin" not in headers:
            forger.headers.pop("origin", None)
        response = await forger.post("/auth/signout", headers=headers)
        assert "set-cookie" not in response.headers, headers
        assert response.status_code == 403
    assert (await client.get("/account")).status_code == 200


async def test_chunked_form_past_the_body_limit_is_413(client: httpx.AsyncClient) -> None:
    # 900 KiB without Content-Length: only counting the bytes read stops it.
    async def chunks() -> Any:
        yield b"login=alice&password="
        for _ in range(112):
            yield b"x" * 8192

    response = await client.post(
        "/signin",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


async def test_lone_surrogate_login_is_400_not_500(client: httpx.AsyncClient) -> None:
    for body in (
        rb'{"login": "al\udc80ice", "password": "secret-password"}',
        rb'{"login": "alice", "password": "abc\udc80def"}',
    ):
        response = await client.post(
            "/auth/login", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json() == {"error": "invalid_request"}
    for form in (b"login=al%ED%B2%80ice&password=secret-password", b"login=\xed\xb2\x80"):
        response = await client.post(
            "/signin", content=form, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 400, response.text


async def test_password_guessing_on_the_sign_in_form_is_throttled(
    make_client: ClientFactory,
) -> None:
    await sign_up(make_client())
    guesser = make_client()
    statuses = []
    for attempt in range(6):
        response = await guesser.post(
            "/signin", data={"login": "alice", "password": f"guess {attempt}"}
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
    assert "Too many" in response.text or "about" in response.text


DOCUMENTED = {200, 204, 303, 400, 401, 403, 404, 405, 413, 429, 503}
DEMO_POSTS = [
    "/signin",
    "/signup",
    "/auth/signout",
    "/account/password",
    "/account/sessions/revoke",
    "/account/sessions/revoke-all",
    "/account/passkeys/rename",
    "/account/passkeys/delete",
    "/auth/login",
    "/auth/refresh",
    "/auth/logout",
    "/auth/passkey/login/options",
    "/auth/passkey/login",
    "/auth/passkey/register/options",
    "/auth/passkey/register",
    "/auth/passkeys/rename",
    "/auth/passkeys/delete",
]


@st.composite
def demo_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "form", "json", "nested", "escapes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "form":
        names = st.sampled_from(
            [
                "login",
                "password",
                "next",
                "current_password",
                "new_password",
                "session_id",
                "credential_id",
                "label",
            ]
        )
        values = st.text(max_size=40) | st.binary(max_size=20).map(lambda b: b.decode("latin-1"))
        pairs = draw(st.lists(st.tuples(names, values), max_size=25))
        return "&".join(f"{n}={v}" for n, v in pairs).encode("utf-8", "surrogatepass")
    if kind == "json":
        return json.dumps(draw(st.dictionaries(st.text(max_size=8), st.text(max_size=20)))).encode()
    if kind == "nested":
        return draw(st.sampled_from([b"[", b'{"a":'])) * draw(st.sampled_from([40, 1200, 3000]))
    return rb'{"login": "al\udc80ice", "password": "x\ud800"}'


@settings(
    max_examples=int(os.environ.get("SECURE_AUTH_FUZZ_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@example(route="/signin", body=b"login=\xed\xb2\x80&password=x", media="form")
@example(route="/auth/login", body=rb'{"login":"al\udc80ice","password":"x"}', media="json")
@example(route="/auth/passkey/login", body=b"[" * 3000, media="json")
@given(
    route=st.sampled_from(DEMO_POSTS),
    body=demo_bodies(),
    media=st.sampled_from(["form", "json", "text", "multipart", "none"]),
)
async def test_hostile_bodies_on_every_demo_route_get_only_documented_statuses(
    client: httpx.AsyncClient, route: str, body: bytes, media: str
) -> None:
    if "access_token" not in client.cookies:
        await client.post(
            "/signup", data={"login": f"fuzz{len(client.cookies)}", "password": PASSWORD}
        )
        if "access_token" not in client.cookies:
            await client.post("/signin", data={"login": "fuzz0", "password": PASSWORD})
    content_type = {
        "form": "application/x-www-form-urlencoded",
        "json": "application/json",
        "text": "text/plain",
        "multipart": "multipart/form-data; boundary=zz",
    }.get(media)
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(route, content=body, headers=headers)
    assert response.status_code in DOCUMENTED, (route, body[:80], response.status_code)
