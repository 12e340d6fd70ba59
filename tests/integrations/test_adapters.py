"""One behavioural suite, run unchanged over every framework adapter.

Starlette, FastAPI, Flask, Django (WSGI with sync views and decorator; ASGI
with async views and the class-based-view mixin), aiohttp, and the plain
ASGI and WSGI middleware all answer the same requests the same way, because
every decision lives in ``secure_auth.web``. See ``_apps.py`` for the apps.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _apps import ADAPTERS, NEEDS, Env, Target, build, parse_set_cookie, require
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import CHEAP, Clock
from passkeys.softauthn import SoftAuthenticator
from secure_auth import MemoryStore, SQLiteStore, SyncAuthService
from secure_auth.web import WebConfig

WEB = WebConfig(realm="tests")
# The WebAuthn origin is what the (software) browser puts in clientDataJSON;
# every app is reached as https://testserver but aiohttp's loopback server.
RP_ID = "testserver"
WEBAUTHN_ORIGIN = "https://testserver"
CONFIG = CHEAP.replace(rp_id=RP_ID, rp_name="Tests", expected_origins=(WEBAUTHN_ORIGIN,))
ACCESS = WEB.access_cookie_name  # __Host-access_token
REFRESH = WEB.refresh_cookie_name  # __Secure-refresh_token
EVIL = "https://evil.example"
INVALID = {"error": "invalid_token"}


@pytest.fixture(scope="module")
def users(keypair: tuple[bytes, bytes]) -> dict[str, dict[str, str]]:
    hasher = SyncAuthService(keypair[0], keypair[1], MemoryStore(), config=CHEAP)
    return {
        "alice": {"id": "u1", "password": hasher.hash_password("wonderland")},
        "bob": {"id": "u2", "password": hasher.hash_password("builder")},
    }


Factory = Callable[..., AbstractAsyncContextManager[Target]]


@pytest.fixture(params=ADAPTERS)
async def make_app(
    request: pytest.FixtureRequest,
    keypair: tuple[bytes, bytes],
    clock: Clock,
    users: dict[str, dict[str, str]],
) -> AsyncIterator[Factory]:
    """Build the parametrized adapter's app over a store (memory by default)."""
    require(*NEEDS[request.param])

    def make(store: object | None = None, web: WebConfig = WEB) -> Any:
        env = Env(keypair, clock, CONFIG, web, users, store if store is not None else MemoryStore())
        return build(request.param, env)

    yield make


@pytest.fixture
async def app(make_app: Factory) -> AsyncIterator[Target]:
    async with make_app() as target:
        yield target


def assert_challenge(response: Any, error: str | None) -> None:
    assert response.status_code == 401
    expected = 'Bearer realm="tests"' + (f', error="{error}"' if error else "")
    assert response.headers["www-authenticate"] == expected
    assert response.headers["cache-control"] == "no-store"


# -- authentication ------------------------------------------------------------------


async def test_no_token_is_401_with_a_challenge(app: Target) -> None:
    response = await app.request("GET", "/me")
    assert_challenge(response, None)
    assert response.json() == {"error": "authentication_required"}


async def test_valid_bearer_token_reaches_the_handler(app: Target) -> None:
    tokens = await app.login()
    response = await app.request("GET", "/me", bearer=tokens["access_token"], cookies=False)
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "u1",
        "session_id": tokens["session_id"],
        "auth_method": "password",
    }


async def test_valid_cookie_reaches_the_handler(app: Target) -> None:
    tokens = await app.login()
    response = await app.request("GET", "/me")
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "u1",
        "session_id": tokens["session_id"],
        "auth_method": "password",
    }


async def test_forged_token_is_refused(app: Target) -> None:
    tokens = await app.login()
    header, payload, signature = tokens["access_token"].split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    response = await app.request("GET", "/me", bearer=forged, cookies=False)
    assert_challenge(response, "invalid_token")
    assert response.json() == INVALID


async def test_bad_expired_and_revoked_tokens_get_one_answer(app: Target, clock: Clock) -> None:
    answers = []
    answers.append(await app.request("GET", "/me", bearer="garbage", cookies=False))
    answers.append(await app.request("GET", "/me", bearer="not a token", cookies=False))
    tokens = await app.login()
    revoked = await app.login()
    response = await app.request("POST", "/auth/logout", bearer=revoked["access_token"])
    assert response.status_code == 204
    answers.append(await app.request("GET", "/me", bearer=revoked["access_token"], cookies=False))
    clock.advance(CHEAP.access_token_ttl + 1)
    answers.append(await app.request("GET", "/me", bearer=tokens["access_token"], cookies=False))
    for response in answers:
        assert_challenge(response, "invalid_token")
        assert response.json() == INVALID


async def test_expired_cookie_is_refused(app: Target, clock: Clock) -> None:
    await app.login()
    clock.advance(CHEAP.access_token_ttl + 1)
    response = await app.request("GET", "/me")
    assert_challenge(response, "invalid_token")


async def test_logout_ends_the_session(app: Target) -> None:
    tokens = await app.login()
    response = await app.request("POST", "/auth/logout", headers={"Origin": app.origin})
    assert response.status_code == 204
    cleared = {parse_set_cookie(h)[0]: parse_set_cookie(h)[2] for h in app.set_cookies}
    assert cleared[ACCESS]["max-age"] == "0"
    assert cleared[REFRESH]["max-age"] == "0"
    assert app.jar == {}
    response = await app.request("GET", "/me", bearer=tokens["access_token"], cookies=False)
    assert_challenge(response, "invalid_token")


async def test_logout_with_expired_access_token_and_refresh_token_ends_the_session(
    app: Target, clock: Clock
) -> None:
    tokens = await app.login()
    clock.advance(CHEAP.access_token_ttl + 1)
    response = await app.request(
        "POST",
        "/auth/logout",
        bearer=tokens["access_token"],
        json_body={"refresh_token": tokens["refresh_token"]},
        cookies=False,
    )
    assert response.status_code == 204
    response = await app.request(
        "POST", "/auth/refresh", json_body={"refresh_token": tokens["refresh_token"]}
    )
    assert_challenge(response, "invalid_token")


async def test_browser_logout_with_expired_access_cookie_still_revokes_the_session(
    app: Target, clock: Clock
) -> None:
    tokens = await app.login()
    clock.advance(CHEAP.access_token_ttl + 1)  # the jar still holds the stale access cookie
    response = await app.request("POST", "/auth/logout", headers={"Origin": app.origin})
    assert response.status_code == 204
    # Revoked on the server, not only forgotten by the browser:
    response = await app.request(
        "POST", "/auth/refresh", json_body={"refresh_token": tokens["refresh_token"]}, cookies=False
    )
    assert_challenge(response, "invalid_token")


async def test_logout_without_credentials_is_401(app: Target) -> None:
    response = await app.request("POST", "/auth/logout")
    assert_challenge(response, None)


async def test_optional_route_serves_anonymous_and_signed_in_callers(app: Target) -> None:
    assert (await app.request("GET", "/maybe")).json() == {"user_id": None}
    response = await app.request("GET", "/maybe", bearer="garbage")
    assert response.status_code == 200
    assert response.json() == {"user_id": None}
    tokens = await app.login()
    response = await app.request("GET", "/maybe", bearer=tokens["access_token"])
    assert response.json() == {"user_id": "u1"}


# -- login ----------------------------------------------------------------------------


async def test_login_sets_hardened_cookies_and_returns_tokens(app: Target) -> None:
    response = await app.request(
        "POST",
        "/auth/login",
        json_body={"login": "alice", "password": "wonderland"},
        headers={"Origin": app.origin},
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == CHEAP.access_token_ttl
    cookies = {
        name: (value, attrs) for name, value, attrs in map(parse_set_cookie, app.set_cookies)
    }
    assert set(cookies) == {ACCESS, REFRESH}
    access_value, access = cookies[ACCESS]
    refresh_value, refresh = cookies[REFRESH]
    assert access_value == body["access_token"]
    assert refresh_value == body["refresh_token"]
    for attrs in (access, refresh):
        assert {"secure", "httponly"} <= set(attrs)
        assert attrs["samesite"].lower() == "lax"
        assert "domain" not in attrs
    assert access["path"] == "/"
    assert access["max-age"] == str(CHEAP.access_token_ttl)
    assert refresh["path"] == "/auth"
    assert refresh["max-age"] == str(CHEAP.refresh_token_ttl)


async def test_login_accepts_a_form(app: Target) -> None:
    response = await app.request(
        "POST",
        "/auth/login",
        content=b"login=alice&password=wonderland",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": app.origin},
    )
    assert response.status_code == 200
    assert response.json()["user_id"] == "u1"


async def test_login_failures_collapse_to_one_answer(app: Target) -> None:
    attempts = [
        {"login": "alice", "password": "wrong"},
        {"login": "mallory", "password": "wonderland"},
        {"login": "alice", "password": "x" * 5000},
        {"login": "alice", "password": ""},
    ]
    for credentials in attempts:
        response = await app.request("POST", "/auth/login", json_body=credentials)
        assert_challenge(response, None)
        assert response.json() == {"error": "invalid_credentials"}
        assert "set-cookie" not in response.headers


async def test_malformed_login_is_400(app: Target) -> None:
    for content, media in [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"login": 5, "password": "x"}', "application/json"),
        (b"<xml/>", "application/xml"),
    ]:
        response = await app.request(
            "POST", "/auth/login", content=content, headers={"Content-Type": media}
        )
        assert response.status_code == 400, content[:20]
        assert response.json() == {"error": "invalid_request"}
    response = await app.request(
        "POST",
        "/auth/login",
        content=b"x" * (WEB.max_body_bytes + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {"error": "body_too_large"}


async def test_wrong_method_on_an_auth_route_is_405(app: Target) -> None:
    response = await app.request("GET", "/auth/login")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"error": "method_not_allowed"}


# -- refresh ---------------------------------------------------------------------------


async def test_refresh_rotates_the_cookies(app: Target, clock: Clock) -> None:
    first = await app.login()
    clock.advance(60)
    response = await app.request("POST", "/auth/refresh", headers={"Origin": app.origin})
    assert response.status_code == 200
    cookies = {name: value for name, value, _ in map(parse_set_cookie, app.set_cookies)}
    assert set(cookies) == {ACCESS, REFRESH}
    assert cookies[ACCESS] != first["access_token"]
    assert cookies[REFRESH] != first["refresh_token"]
    assert app.jar[(REFRESH, "/auth")] == cookies[REFRESH]
    response = await app.request("GET", "/me")
    assert response.json()["session_id"] == first["session_id"]


async def test_refresh_with_a_body_token(app: Target) -> None:
    first = await app.login()
    response = await app.request(
        "POST", "/auth/refresh", json_body={"refresh_token": first["refresh_token"]}, cookies=False
    )
    assert response.status_code == 200
    second = response.json()
    assert second["session_id"] == first["session_id"]
    me = await app.request("GET", "/me", bearer=second["access_token"], cookies=False)
    assert me.status_code == 200


async def test_replayed_refresh_token_ends_the_session(app: Target, clock: Clock) -> None:
    first = await app.login()
    stolen = first["refresh_token"]
    response = await app.request("POST", "/auth/refresh", headers={"Origin": app.origin})
    assert response.status_code == 200
    fresh = app.jar[(ACCESS, "/")]
    clock.advance(CHEAP.refresh_grace_period + 1)
    replay = await app.request(
        "POST", "/auth/refresh", json_body={"refresh_token": stolen}, cookies=False
    )
    assert_challenge(replay, "invalid_token")
    assert replay.json() == INVALID
    # The legitimate client's fresh tokens died with the session.
    response = await app.request("GET", "/me", bearer=fresh, cookies=False)
    assert_challenge(response, "invalid_token")


async def test_refresh_without_a_token_is_401(app: Target) -> None:
    response = await app.request("POST", "/auth/refresh", headers={"Origin": app.origin})
    assert_challenge(response, None)


async def test_refresh_with_an_access_token_is_refused(app: Target) -> None:
    tokens = await app.login()
    response = await app.request(
        "POST", "/auth/refresh", json_body={"refresh_token": tokens["access_token"]}
    )
    assert_challenge(response, "invalid_token")


# -- CSRF -------------------------------------------------------------------------------


async def test_cross_site_post_with_cookie_is_refused(app: Target) -> None:
    await app.login()
    response = await app.request("POST", "/me", headers={"Origin": EVIL})
    assert response.status_code == 403
    assert response.json() == {"error": "csrf_rejected"}


async def test_same_origin_post_with_cookie_is_accepted(app: Target) -> None:
    await app.login()
    response = await app.request("POST", "/me", headers={"Origin": app.origin})
    assert response.status_code == 200
    assert response.json()["user_id"] == "u1"


async def test_post_with_cookie_and_sec_fetch_site_same_origin_is_accepted(app: Target) -> None:
    await app.login()
    response = await app.request("POST", "/me", headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200


async def test_cross_site_post_by_sec_fetch_site_is_refused(app: Target) -> None:
    await app.login()
    response = await app.request("POST", "/me", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


async def test_post_with_cookie_and_no_origin_is_refused(app: Target) -> None:
    # What an old browser sends for a form another site submits.
    await app.login()
    response = await app.request("POST", "/me")
    assert response.status_code == 403


async def test_null_origin_post_with_cookie_is_refused(app: Target) -> None:
    # Sandboxed iframes and some redirects send "Origin: null".
    await app.login()
    response = await app.request("POST", "/me", headers={"Origin": "null"})
    assert response.status_code == 403


async def test_sibling_origin_post_with_cookie_is_refused(app: Target) -> None:
    await app.login()
    sibling = app.origin.replace("://", "://evil.")
    response = await app.request("POST", "/me", headers={"Origin": sibling})
    assert response.status_code == 403


async def test_bearer_post_needs_no_origin(app: Target) -> None:
    tokens = await app.login()
    response = await app.request(
        "POST", "/me", bearer=tokens["access_token"], headers={"Origin": EVIL}, cookies=False
    )
    assert response.status_code == 200


async def test_cross_site_get_with_cookie_is_served(app: Target) -> None:
    # Safe methods change nothing; SameSite=Lax already limits what they see.
    await app.login()
    response = await app.request("GET", "/me", headers={"Origin": EVIL})
    assert response.status_code == 200


async def test_cross_site_login_is_refused(app: Target) -> None:
    # Login CSRF: signing the victim into the attacker's account.
    for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}):
        response = await app.request(
            "POST",
            "/auth/login",
            json_body={"login": "alice", "password": "wonderland"},
            headers=headers,
        )
        assert response.status_code == 403
        assert "set-cookie" not in response.headers


async def test_cross_site_refresh_with_cookie_is_refused(app: Target) -> None:
    await app.login()
    response = await app.request("POST", "/auth/refresh", headers={"Origin": EVIL})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


async def test_cross_site_logout_is_refused(app: Target) -> None:
    await app.login()
    response = await app.request("POST", "/auth/logout", headers={"Origin": EVIL})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert (await app.request("GET", "/me")).status_code == 200


async def test_trusted_origin_post_with_cookie_is_accepted(make_app: Factory) -> None:
    web = WEB.replace(trusted_origins=("https://app.example",))
    async with make_app(web=web) as app:
        await app.login()
        response = await app.request("POST", "/me", headers={"Origin": "https://app.example"})
        assert response.status_code == 200


# -- passkeys ----------------------------------------------------------------------------


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id=RP_ID, origin=WEBAUTHN_ORIGIN)


async def add_passkey(app: Target, authenticator: SoftAuthenticator, **body: Any) -> Any:
    """The signed-in user registers a passkey through the routes; the stored passkey's JSON."""
    same = {"Origin": app.origin}
    response = await app.request(
        "POST", "/auth/passkey/register/options", json_body={}, headers=same
    )
    assert response.status_code == 200, response.text
    credential = authenticator.create(response.json())
    response = await app.request(
        "POST", "/auth/passkey/register", json_body={**credential, **body}, headers=same
    )
    assert response.status_code == 201, response.text
    return response.json()


async def passkey_assertion(app: Target, authenticator: SoftAuthenticator, **get: Any) -> Any:
    """Usernameless sign-in options from the route, answered by the authenticator."""
    response = await app.request(
        "POST", "/auth/passkey/login/options", json_body={}, headers={"Origin": app.origin}
    )
    assert response.status_code == 200, response.text
    options = response.json()
    assert options["rpId"] == RP_ID
    assert options.get("allowCredentials", []) == []
    return authenticator.get(options, **get)


async def test_passkey_register_sign_out_and_sign_in(
    app: Target, authenticator: SoftAuthenticator
) -> None:
    await app.login()
    response = await app.request(
        "POST", "/auth/passkey/register/options", json_body={}, headers={"Origin": app.origin}
    )
    options = response.json()
    assert options["user"]["name"] == "alice"  # from get_user_name, never the user id
    assert options["rp"]["id"] == RP_ID
    assert response.headers["cache-control"] == "no-store"
    stored = await add_passkey(app, authenticator, label="Laptop")
    assert stored["label"] == "Laptop"
    assert stored["id"] == authenticator.credentials[-1].id
    assert {"public_key", "user_handle", "sign_count", "user_id"}.isdisjoint(stored)
    listed = (await app.request("GET", "/auth/passkeys")).json()
    assert [p["id"] for p in listed["passkeys"]] == [stored["id"]]

    assert (await app.request("POST", "/auth/logout", headers={"Origin": app.origin})).status_code
    assert app.jar == {}
    assertion = await passkey_assertion(app, authenticator)
    response = await app.request(
        "POST", "/auth/passkey/login", json_body=assertion, headers={"Origin": app.origin}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == "u1"
    assert {parse_set_cookie(h)[0] for h in app.set_cookies} == {ACCESS, REFRESH}
    assert app.jar[(ACCESS, "/")] == body["access_token"]
    me = (await app.request("GET", "/me")).json()
    assert me == {"user_id": "u1", "session_id": body["session_id"], "auth_method": "passkey"}

    # The same assertion again: its challenge was used up.
    replay = await app.request(
        "POST", "/auth/passkey/login", json_body=assertion, headers={"Origin": app.origin}
    )
    assert replay.status_code == 400
    assert replay.json() == {"error": "passkey_challenge_invalid"}
    assert "set-cookie" not in replay.headers


async def test_passkey_sign_in_failures_collapse_to_one_answer(
    app: Target, authenticator: SoftAuthenticator
) -> None:
    await app.login()
    await add_passkey(app, authenticator)
    stranger = SoftAuthenticator(rp_id=RP_ID, origin=WEBAUTHN_ORIGIN)
    stranger.create(
        {"user": {"id": "AAAA"}, "challenge": "AAAA"}, keep=True
    )  # a passkey this site never saw
    attempts = [
        await passkey_assertion(app, stranger),
        await passkey_assertion(app, authenticator, forge_signature=True),
        await passkey_assertion(app, authenticator, user_handle="AAAA"),
        await passkey_assertion(app, authenticator, origin=EVIL),
    ]
    for assertion in attempts:
        response = await app.request("POST", "/auth/passkey/login", json_body=assertion)
        assert_challenge(response, None)
        assert response.json() == {"error": "passkey_verification_failed"}
        assert "set-cookie" not in response.headers
    malformed = await app.request("POST", "/auth/passkey/login", json_body={"id": "x"})
    assert malformed.status_code == 400
    assert malformed.json() == {"error": "passkey_malformed"}


async def test_passkey_routes_refuse_cross_site_requests(
    app: Target, authenticator: SoftAuthenticator
) -> None:
    await app.login()
    stored = await add_passkey(app, authenticator)
    for route, body in [
        ("/auth/passkey/register/options", {}),
        ("/auth/passkey/register", {}),
        ("/auth/passkeys/rename", {"id": stored["id"], "label": "Pwned"}),
        ("/auth/passkeys/delete", {"id": stored["id"]}),
        ("/auth/passkey/login/options", {}),
        ("/auth/passkey/login", await passkey_assertion(app, authenticator)),
    ]:
        for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}):
            response = await app.request("POST", route, json_body=body, headers=headers)
            assert response.status_code == 403, (route, headers, response.text)
            assert response.json() == {"error": "csrf_rejected"}
            assert "set-cookie" not in response.headers
    # A form (what a cross-site page can send without a preflight) is not JSON.
    response = await app.request(
        "POST",
        "/auth/passkey/login",
        content=b"id=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies=False,
    )
    assert response.status_code == 400
    listed = (await app.request("GET", "/auth/passkeys")).json()["passkeys"]
    assert [(p["id"], p["label"]) for p in listed] == [(stored["id"], "Passkey")]


async def test_passkey_management_needs_a_session(app: Target) -> None:
    for method, route in [
        ("POST", "/auth/passkey/register/options"),
        ("POST", "/auth/passkey/register"),
        ("GET", "/auth/passkeys"),
        ("POST", "/auth/passkeys/rename"),
        ("POST", "/auth/passkeys/delete"),
    ]:
        response = await app.request(method, route, json_body=None if method == "GET" else {})
        assert_challenge(response, None)
        assert response.json() == {"error": "authentication_required"}
        response = await app.request(method, route, bearer="garbage")
        assert_challenge(response, "invalid_token")


async def test_passkey_rename_and_delete_reach_only_the_users_own(
    app: Target, authenticator: SoftAuthenticator
) -> None:
    await app.login("bob", "builder")
    bobs = await add_passkey(app, authenticator)
    await app.login()
    alices = await add_passkey(app, authenticator)
    same = {"Origin": app.origin}
    for route, body in [
        ("/auth/passkeys/rename", {"id": bobs["id"], "label": "Mine now"}),
        ("/auth/passkeys/delete", {"id": bobs["id"]}),
        ("/auth/passkeys/delete", {"id": "bm8tc3VjaC1wYXNza2V5"}),
    ]:
        response = await app.request("POST", route, json_body=body, headers=same)
        assert response.status_code == 404, route
        assert response.json() == {"error": "passkey_unknown_credential"}
    for body in ({"id": alices["id"], "label": ""}, {"id": alices["id"], "label": "x" * 65}):
        response = await app.request("POST", "/auth/passkeys/rename", json_body=body, headers=same)
        assert response.json() == {"error": "passkey_label_invalid"}
    response = await app.request(
        "POST",
        "/auth/passkeys/rename",
        json_body={"id": alices["id"], "label": "Phone"},
        headers=same,
    )
    assert response.status_code == 204
    listed = (await app.request("GET", "/auth/passkeys")).json()["passkeys"]
    assert [(p["id"], p["label"]) for p in listed] == [(alices["id"], "Phone")]
    response = await app.request(
        "POST", "/auth/passkeys/delete", json_body={"id": alices["id"]}, headers=same
    )
    assert response.status_code == 204
    assert (await app.request("GET", "/auth/passkeys")).json() == {"passkeys": []}
    await app.login("bob", "builder")
    listed = (await app.request("GET", "/auth/passkeys")).json()["passkeys"]
    assert [p["id"] for p in listed] == [bobs["id"]]


async def test_passkeys_js_is_served(app: Target) -> None:
    response = await app.request("GET", "/auth/passkeys.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "export async function signInWithPasskey" in response.text
    etag = response.headers["etag"]
    again = await app.request("GET", "/auth/passkeys.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    # HEAD gets the GET answer (RFC 9110), Content-Length included: dropping
    # the content is the HTTP server's job. Other methods get a 405.
    head = await app.request("HEAD", "/auth/passkeys.js")
    assert head.status_code == 200
    for name in ("content-type", "content-length", "etag", "cache-control"):
        assert head.headers.get(name) == response.headers.get(name), name
    wrong = await app.request("POST", "/auth/passkeys.js")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD"


# -- store outages ------------------------------------------------------------------------


class FlakyBackend:
    """Stands for the application's own database client."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, datetime]] = {}
        self.down = False

    def check(self) -> None:
        if self.down:
            raise ConnectionError("backend unreachable")


class MinimalStore:
    """An application's three-method store over its own backend."""

    def __init__(self, backend: FlakyBackend) -> None:
        self.backend = backend

    def save_session(self, session_id: str, user_id: str, expires_at: datetime) -> None:
        self.backend.check()
        self.backend.rows[session_id] = (user_id, expires_at)

    def is_session_valid(self, session_id: str) -> bool:
        self.backend.check()
        return session_id in self.backend.rows

    def delete_session(self, session_id: str) -> None:
        self.backend.check()
        self.backend.rows.pop(session_id, None)


def _break_sqlite(store: SQLiteStore, path: Path) -> None:
    """Make the database path unusable: the file becomes a directory."""
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.mkdir(path)


async def test_sqlite_outage_is_503_never_200(make_app: Factory, tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    async with make_app(store) as app:
        tokens = await app.login()
        _break_sqlite(store, path)
        try:
            requests = [
                ("GET", "/me", {"bearer": tokens["access_token"], "cookies": False}),
                ("GET", "/me", {}),
                ("POST", "/me", {"headers": {"Origin": app.origin}}),
                ("GET", "/maybe", {"bearer": tokens["access_token"]}),
                ("POST", "/auth/refresh", {"headers": {"Origin": app.origin}}),
                ("POST", "/auth/logout", {"headers": {"Origin": app.origin}}),
                (
                    "POST",
                    "/auth/login",
                    {"json_body": {"login": "alice", "password": "wonderland"}},
                ),
            ]
            for method, route, kwargs in requests:
                response = await app.request(method, route, **kwargs)
                assert response.status_code == 503, (method, route, response.text)
                assert response.json() == {"error": "store_unavailable"}
                assert "set-cookie" not in response.headers  # the cookies are not bad
        finally:
            shutil.rmtree(path, ignore_errors=True)


async def test_app_store_outage_is_503_never_200(make_app: Factory) -> None:
    backend = FlakyBackend()
    async with make_app(MinimalStore(backend)) as app:
        tokens = await app.login()
        assert (await app.request("GET", "/me", bearer=tokens["access_token"])).status_code == 200
        backend.down = True
        for route in ("/me", "/maybe"):
            response = await app.request("GET", route, bearer=tokens["access_token"])
            assert response.status_code == 503
            assert response.json() == {"error": "store_unavailable"}
        response = await app.request(
            "POST", "/auth/login", json_body={"login": "alice", "password": "wonderland"}
        )
        assert response.status_code == 503
        backend.down = False
        assert (await app.request("GET", "/me", bearer=tokens["access_token"])).status_code == 200


# -- secrets stay secret ---------------------------------------------------------------------


async def test_tokens_never_reach_logs_or_error_bodies(
    app: Target, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = await app.login()
    secrets = [tokens["access_token"], tokens["refresh_token"], "wonderland"]
    bodies = []
    await app.request("POST", "/me", headers={"Origin": EVIL})
    bodies.append(
        await app.request("POST", "/auth/login", json_body={"login": "alice", "password": "nope"})
    )
    bodies.append(await app.request("POST", "/auth/logout", headers={"Origin": app.origin}))
    bodies.append(await app.request("GET", "/me", bearer=tokens["access_token"]))
    bodies.append(
        await app.request(
            "POST", "/auth/refresh", json_body={"refresh_token": tokens["refresh_token"]}
        )
    )
    clock.advance(CHEAP.access_token_ttl + 1)
    bodies.append(await app.request("GET", "/me", bearer=tokens["access_token"]))
    # Server-side records only: the test's own HTTP client logs what it received.
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name.startswith("secure_auth") for r in server)
    logged = "".join(f"{r.getMessage()} {r.__dict__!r}" for r in server)
    for secret in secrets:
        assert secret not in logged
        for response in bodies:
            assert secret not in response.text


# -- attacks on the web layer (issue 11) --------------------------------------------------

CROSS_SITE_FORM = {
    "Origin": EVIL,
    "Sec-Fetch-Site": "cross-site",
    "Content-Type": "application/x-www-form-urlencoded",
}


async def test_login_csrf_via_refresh_body_token_sets_no_cookie(app: Target) -> None:
    # The attacker's own refresh token, auto-submitted by a page on another
    # site: the answer must not sign the victim's browser in as the attacker.
    attacker = await app.login("bob", "builder")
    app.jar.clear()
    await app.login()  # the victim, alice, signed in in this browser
    victim_jar = dict(app.jar)
    for body in (
        f"refresh_token={attacker['refresh_token']}".encode(),
        b'{"refresh_token": "' + attacker["refresh_token"].encode() + b'"}',
    ):
        headers = dict(CROSS_SITE_FORM)
        if body.startswith(b"{"):
            headers["Content-Type"] = "application/json"
        # SameSite=Lax: the browser sends no cookie with a cross-site POST.
        response = await app.request(
            "POST", "/auth/refresh", content=body, headers=headers, cookies=False
        )
        assert "set-cookie" not in response.headers, response.headers
        attacker = response.json() if response.status_code == 200 else attacker
    assert app.jar == victim_jar
    assert (await app.request("GET", "/me")).json()["user_id"] == "u1"


async def test_refresh_body_token_answers_in_the_body_only(app: Target) -> None:
    # Even same-origin: a token from the body never becomes a cookie.
    first = await app.login()
    app.jar.clear()
    response = await app.request(
        "POST",
        "/auth/refresh",
        json_body={"refresh_token": first["refresh_token"]},
        headers={"Origin": app.origin},
        cookies=False,
    )
    assert response.status_code == 200
    assert response.json()["session_id"] == first["session_id"]
    assert "set-cookie" not in response.headers


async def test_cross_site_sign_out_via_empty_form_post_clears_no_cookie(app: Target) -> None:
    await app.login()
    jar = dict(app.jar)
    for route in ("/auth/refresh", "/auth/logout"):
        for headers in (CROSS_SITE_FORM, {"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}):
            response = await app.request("POST", route, content=b"", headers=headers, cookies=False)
            assert response.status_code in (401, 403), (route, response.status_code)
            assert "set-cookie" not in response.headers, (route, headers)
    assert app.jar == jar
    assert (await app.request("GET", "/me")).status_code == 200


async def test_cross_site_sign_out_via_logout_body_token_clears_no_cookie(app: Target) -> None:
    attacker = await app.login("bob", "builder")
    app.jar.clear()
    await app.login()
    jar = dict(app.jar)
    response = await app.request(
        "POST",
        "/auth/logout",
        content=f"refresh_token={attacker['refresh_token']}".encode(),
        headers=CROSS_SITE_FORM,
        cookies=False,
    )
    assert "set-cookie" not in response.headers
    assert app.jar == jar
    assert (await app.request("GET", "/me")).status_code == 200


HOSTILE_JSON = [b"[" * 3000, b'{"a":' * 2000, b"[" * 100_000]
BODY_ROUTES = [
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


async def test_deeply_nested_json_body_is_400_not_500(app: Target) -> None:
    tokens = await app.login()
    for route in BODY_ROUTES:
        for body in HOSTILE_JSON:
            response = await app.request(
                "POST",
                route,
                content=body,
                headers={"Content-Type": "application/json", "Origin": app.origin},
                # A session where the route needs one, so the body is read.
                bearer=tokens["access_token"]
                if "register" in route or "/passkeys/" in route
                else None,
                cookies=False,
            )
            expected = 413 if len(body) > WEB.max_body_bytes else 400
            assert response.status_code == expected, (route, body[:10], response.text)
            assert response.json()["error"] in ("invalid_request", "body_too_large")


async def test_lone_surrogate_in_the_body_is_400_not_500(app: Target) -> None:
    tokens = await app.login()
    bodies = [
        rb'{"login": "alice", "password": "abc\udc80def"}',
        rb'{"login": "al\ud800ice", "password": "wonderland"}',
        '{"login": "alice", "password": "abc\udc80"}'.encode("utf-8", "surrogatepass"),
        b'{"login": "alice", "password": "\xff\xfe"}',
        b"login=alice&password=%ED%B2%80",
        b"login=alice&password=\xed\xb2\x80",
    ]
    for route in ("/auth/login", "/auth/passkey/login", "/auth/passkeys/rename"):
        for body in bodies:
            media = (
                "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
            )
            response = await app.request(
                "POST",
                route,
                content=body,
                headers={"Content-Type": media, "Origin": app.origin},
                bearer=tokens["access_token"],
                cookies=False,
            )
            assert response.status_code in (400, 401), (route, body, response.text)
            if b"\\u" in body or b"\xed" in body or b"\xff" in body:
                assert response.status_code == 400, (route, body)


async def test_chunked_body_past_the_limit_is_413(app: Target) -> None:
    # No Content-Length: only the bytes actually read can enforce the limit.
    response = await app.request(
        "POST",
        "/auth/login",
        chunks=[b"x" * 8192] * 112,  # 896 KiB
        headers={"Content-Type": "application/json", "Origin": app.origin},
    )
    assert response.status_code == 413, response.text
    assert response.json() == {"error": "body_too_large"}


async def test_chunked_body_within_the_limit_is_read(app: Target) -> None:
    payload = b'{"login": "alice", "password": "wonderland"}'
    response = await app.request(
        "POST",
        "/auth/login",
        chunks=[payload[:10], payload[10:]],
        headers={"Content-Type": "application/json", "Origin": app.origin},
    )
    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == "u1"


async def test_auth_routes_send_the_security_headers(app: Target) -> None:
    # Clickjacking, MIME sniffing and token-bearing Referer leaks.
    answers = [
        await app.request("POST", "/auth/login", json_body={"login": "x", "password": "y"}),
        await app.request("POST", "/auth/refresh"),
        await app.request("GET", "/auth/login"),
    ]
    for response in answers:
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"


async def test_crlf_in_client_data_origin_cannot_forge_a_log_line(
    app: Target, authenticator: SoftAuthenticator, caplog: pytest.LogCaptureFixture
) -> None:
    await app.login()
    await add_passkey(app, authenticator)
    forged = "https://evil.example\r\n2026-12-04 INFO secure_auth admin signed in"
    assertion = await passkey_assertion(app, authenticator, origin=forged)
    caplog.set_level(logging.DEBUG, logger="secure_auth")
    response = await app.request("POST", "/auth/passkey/login", json_body=assertion)
    assert response.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("secure_auth")]
    assert any("evil.example" in line for line in lines)  # the reason was logged...
    for line in lines:
        assert "\r" not in line and "\n" not in line, line  # ...on one line


# -- fuzzing every route's body parser ------------------------------------------------

DOCUMENTED = {200, 204, 303, 400, 401, 403, 404, 405, 413, 429, 503}
MEDIA = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/merge-patch+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
]


def _nested(draw: st.DrawFn) -> bytes:
    opener = draw(st.sampled_from([b"[", b'{"a":', b'{"login":[', b"[{}"]))
    depth = draw(st.sampled_from([2, 32, 33, 1100, 3000, 5000]))
    return opener * depth + draw(st.sampled_from([b"", b"1", b"]" * depth, b"}" * depth]))


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "nested", "form", "escapes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    if kind == "json":
        fields = st.sampled_from(
            ["login", "password", "refresh_token", "id", "label", "response", "user_name", "type"]
        )
        value = st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(fields, inner, max_size=3),
            max_leaves=8,
        )
        return json.dumps(draw(st.dictionaries(fields, value, max_size=5))).encode()
    if kind == "nested":
        return _nested(draw)
    if kind == "form":
        return draw(st.binary(max_size=40)) + b"=" + draw(st.binary(max_size=40))
    escapes = st.sampled_from([r"\ud800", r"\udc80", r"\u0000", r"\ud83d\ude00", "\\", '"'])
    text = "".join(draw(st.lists(escapes | st.text(max_size=3), max_size=8)))
    return ('{"login": "' + text + '", "password": "' + text + '"}').encode()


@settings(
    max_examples=int(os.environ.get("SECURE_AUTH_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
# The bodies of the issue, always tried; Hypothesis explores around them.
@example(route="/auth/login", body=b"[" * 3000, media="application/json", credential="none")
@example(
    route="/auth/passkey/login", body=b'{"a":' * 2000, media="application/json", credential="none"
)
@example(
    route="/auth/passkey/login/options",
    body=b"[" * 3000,
    media="application/json",
    credential="none",
)
@example(
    route="/auth/login",
    body=rb'{"login":"x","password":"abc\udc80def"}',
    media="application/json",
    credential="none",
)
@given(
    route=st.sampled_from([*BODY_ROUTES, "/auth/passkeys"]),
    body=hostile_bodies(),
    media=st.sampled_from(MEDIA),
    credential=st.sampled_from(["none", "bearer", "cookie"]),
)
async def test_hostile_bodies_on_every_auth_route_get_only_documented_statuses(
    app: Target, route: str, body: bytes, media: str, credential: str
) -> None:
    if not app.jar:  # signed out by an earlier example: sign in again, if not throttled
        signed_in = await app.request(
            "POST",
            "/auth/login",
            json_body={"login": "alice", "password": "wonderland"},
            headers={"Origin": app.origin},
        )
        app.bearer = signed_in.json().get("access_token", "none")  # type: ignore[attr-defined]
    headers = {"Origin": app.origin}
    if media:
        headers["Content-Type"] = media
    response = await app.request(
        "GET" if route == "/auth/passkeys" else "POST",
        route,
        content=body,
        headers=headers,
        bearer=app.bearer if credential == "bearer" else None,  # type: ignore[attr-defined]
        cookies=credential == "cookie",
    )
    assert response.status_code in DOCUMENTED, (route, body[:80], response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}


async def test_app_routes_framed_by_another_site_get_the_security_headers(app: Target) -> None:
    # Clickjacking of the application's own JSON routes: the adapter's helper.
    tokens = await app.login()
    answers = [
        await app.request("GET", "/me", bearer=tokens["access_token"], cookies=False),
        await app.request("GET", "/maybe"),
        await app.request("GET", "/me", cookies=False),  # the 401 challenge
    ]
    for response in answers:
        assert response.headers["x-frame-options"] == "DENY", response.status_code
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
