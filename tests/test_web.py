"""The HTTP rules of ``secure_auth.web``, without any framework.

The adapters only translate; what they translate is specified here: which
credential counts, the CSRF verdicts, the cookie attributes, the error
mapping, and the request handling flows in both driving styles.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
from typing import Any

import pytest

from conftest import CHEAP, Clock
from secure_auth import (
    AuthService,
    ConfigurationError,
    ExpiredToken,
    InvalidCredentials,
    InvalidPasswordHash,
    InvalidToken,
    MemoryStore,
    PasskeyError,
    RefreshReuseDetected,
    SessionExpired,
    SessionRevoked,
    StoreUnavailable,
    SyncAuthService,
    Throttled,
    UnsupportedByStore,
    web,
)
from secure_auth.errors import AuthError
from secure_auth.web import (
    AuthenticationRequired,
    AuthResult,
    CsrfRejected,
    InvalidRequest,
    Request,
    WebAuth,
    WebConfig,
)

APP = "https://app.example"


def req(method: str = "GET", headers: dict[str, str] | None = None, **kwargs: Any) -> Request:
    headers = {"Host": "app.example", **(headers or {})}
    return Request.build(method, headers, **kwargs)


# -- configuration ------------------------------------------------------------------


def test_default_cookies_are_prefixed() -> None:
    config = WebConfig()
    assert config.access_cookie_name == "__Host-access_token"
    assert config.refresh_cookie_name == "__Secure-refresh_token"
    assert config.refresh_path == "/auth"  # refresh and logout see it, nothing else


def test_insecure_development_config_drops_the_prefixes() -> None:
    config = WebConfig(secure=False)
    assert config.access_cookie_name == "access_token"
    assert config.refresh_cookie_name == "refresh_token"


def test_access_cookie_off_root_path_gets_the_secure_prefix() -> None:
    config = WebConfig(access_cookie_path="/app", auth_path="/app/auth")
    assert config.access_cookie_name == "__Secure-access_token"
    assert config.refresh_path == "/app/auth"


def test_trusted_origins_are_normalised() -> None:
    config = WebConfig(trusted_origins=("HTTPS://App.Example:443", "http://localhost:8000/"))
    assert config.trusted_origins == ("https://app.example", "http://localhost:8000")


@pytest.mark.parametrize(
    "changes",
    [
        {"transport": "header"},
        {"same_site": "lax"},
        {"same_site": "None", "secure": False},
        {"access_cookie": "__Host-x"},
        {"access_cookie": "bad name"},
        {"refresh_cookie": "access_token"},
        {"auth_path": "/auth/"},
        {"auth_path": "auth"},
        {"refresh_cookie_path": "/a;b"},
        {"realm": 'a"b'},
        {"trusted_origins": "https://app.example"},
        {"trusted_origins": ("https://app.example/path",)},
        {"trusted_origins": ("ftp://app.example",)},
        {"trusted_origins": ("*",)},
        {"max_body_bytes": 10},
    ],
)
def test_invalid_configuration_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        WebConfig(**changes)


# -- reading credentials -------------------------------------------------------------


def test_cookie_header_parsing_keeps_the_first_of_a_name() -> None:
    assert web.parse_cookies('a=1; b="2"; a=3; junk; =x; c=') == {"a": "1", "b": "2", "c": ""}
    assert web.parse_cookies(None) == {}


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer abc.def-_~+/==", "abc.def-_~+/=="),
        ("bearer   abc", "abc"),
    ],
)
def test_bearer_header(header: str | None, token: str | None) -> None:
    assert web.bearer_token(header) == token


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer ä"])
def test_malformed_bearer_header_is_an_invalid_token(header: str) -> None:
    with pytest.raises(InvalidToken):
        web.bearer_token(header)


def test_two_authorization_headers_are_an_invalid_token() -> None:
    request = Request.build("GET", [("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
    with pytest.raises(InvalidToken):
        web.read_token(request, WebConfig())


def test_bearer_wins_over_cookie() -> None:
    request = req(headers={"Authorization": "Bearer b1", "Cookie": "__Host-access_token=c1"})
    credential = web.read_token(request, WebConfig())
    assert credential is not None
    assert (credential.token, credential.source) == ("b1", "bearer")
    assert "b1" not in repr(credential)


def test_transport_decides_what_is_read() -> None:
    headers = {"Authorization": "Bearer b1", "Cookie": "__Host-access_token=c1"}
    cookie_only = web.read_token(req(headers=headers), WebConfig(transport="cookie"))
    assert cookie_only is not None and cookie_only.token == "c1"
    bearer_only = web.read_token(
        req(headers={"Cookie": "__Host-access_token=c1"}), WebConfig(transport="bearer")
    )
    assert bearer_only is None


def test_unprefixed_cookie_is_ignored_when_secure() -> None:
    # A cookie without the prefix could have been planted by a sibling subdomain.
    request = req(headers={"Cookie": "access_token=planted"})
    assert web.read_token(request, WebConfig()) is None


# -- CSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "headers", "allowed"),
    [
        ("GET", {"Origin": "https://evil.example"}, True),
        ("HEAD", {}, True),
        ("POST", {"Origin": APP}, True),
        ("POST", {"Origin": "https://APP.example:443"}, True),
        ("POST", {"Origin": "https://trusted.example"}, True),
        ("POST", {"Sec-Fetch-Site": "same-origin"}, True),
        ("POST", {}, False),
        ("POST", {"Origin": "null"}, False),
        ("POST", {"Origin": "https://evil.example"}, False),
        ("POST", {"Origin": "http://app.example"}, False),  # scheme downgrade
        ("POST", {"Origin": "https://app.example:8443"}, False),
        ("POST", {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}, False),
        ("POST", {"Sec-Fetch-Site": "same-site"}, False),
        ("POST", {"Sec-Fetch-Site": "cross-site"}, False),
        ("POST", {"Sec-Fetch-Site": "none"}, False),
        ("DELETE", {"Origin": "https://evil.example"}, False),
        ("WEBSOCKET", {"Origin": "https://evil.example"}, False),  # WebSocket hijacking
    ],
)
def test_csrf_verdicts(method: str, headers: dict[str, str], allowed: bool) -> None:
    config = WebConfig(trusted_origins=("https://trusted.example",))
    request = req(method, headers)
    if allowed:
        web.check_csrf(request, config)
    else:
        with pytest.raises(CsrfRejected):
            web.check_csrf(request, config)


def test_cross_site_cookie_post_reads_as_no_session() -> None:
    request = req("POST", {"Cookie": "__Host-access_token=t", "Origin": "https://evil.example"})
    with pytest.raises(CsrfRejected):
        web.read_token(request, WebConfig())


def test_cross_site_bearer_post_is_fine() -> None:
    request = req("POST", {"Authorization": "Bearer t", "Origin": "https://evil.example"})
    assert web.read_token(request, WebConfig()) is not None


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),  # curl, mobile apps
        ({"Origin": APP}, True),
        ({"Sec-Fetch-Site": "none"}, True),
        ({"Origin": "https://evil.example"}, False),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Origin": "null"}, False),
    ],
)
def test_login_origin_verdicts(headers: dict[str, str], allowed: bool) -> None:
    request = req("POST", headers)
    if allowed:
        web.check_login_origin(request, WebConfig())
    else:
        with pytest.raises(CsrfRejected):
            web.check_login_origin(request, WebConfig())


# -- cookies and challenges --------------------------------------------------------------


def _tokens(now: float = 1000.0) -> Any:
    from secure_auth import AuthTokens

    return AuthTokens("tok-a", "tok-r", "sid", "uid", now + 900, now + 7 * 86400)


def test_cookie_attributes() -> None:
    config = WebConfig()
    access = web.access_cookie(_tokens(), config, now=1000.0)
    refresh = web.refresh_cookie(_tokens(), config, now=1000.0)
    assert access.header_value() == (
        "__Host-access_token=tok-a; Path=/; Max-Age=900; Secure; HttpOnly; SameSite=Lax"
    )
    assert refresh.header_value() == (
        "__Secure-refresh_token=tok-r; Path=/auth; Max-Age=604800; Secure; HttpOnly; SameSite=Lax"
    )
    assert "tok-a" not in repr(access)


def test_insecure_cookies_have_no_secure_attribute() -> None:
    config = WebConfig(secure=False, same_site="Strict")
    value = web.access_cookie(_tokens(), config, now=1000.0).header_value()
    assert value == "access_token=tok-a; Path=/; Max-Age=900; HttpOnly; SameSite=Strict"


def test_clearing_cookies_matches_name_path_and_attributes() -> None:
    access, refresh = web.clear_cookies(WebConfig())
    assert access.header_value() == (
        "__Host-access_token=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
        "Secure; HttpOnly; SameSite=Lax"
    )
    assert (refresh.name, refresh.path, refresh.max_age) == (
        "__Secure-refresh_token",
        "/auth",
        0,
    )


def test_www_authenticate() -> None:
    config = WebConfig(realm="api")
    assert web.www_authenticate(config) == 'Bearer realm="api"'
    assert web.www_authenticate(config, "invalid_token") == (
        'Bearer realm="api", error="invalid_token"'
    )


# -- the error mapping ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code", "challenge"),
    [
        (InvalidToken("bad signature"), 401, "invalid_token", "invalid_token"),
        (ExpiredToken("exp"), 401, "invalid_token", "invalid_token"),
        (SessionRevoked("gone"), 401, "invalid_token", "invalid_token"),
        (SessionExpired("old"), 401, "invalid_token", "invalid_token"),
        (RefreshReuseDetected("replay"), 401, "invalid_token", "invalid_token"),
        (AuthenticationRequired("none"), 401, "authentication_required", ""),
        (InvalidCredentials("wrong_password"), 401, "invalid_credentials", ""),
        (CsrfRejected("cross"), 403, "csrf_rejected", None),
        (InvalidRequest("json"), 400, "invalid_request", None),
        (PasskeyError("sig"), 400, "passkey_error", None),
        (Throttled("many", retry_after=2.5), 429, "throttled", None),
        (StoreUnavailable("redis down at 10.0.0.5"), 503, "store_unavailable", None),
        (UnsupportedByStore("no rotate"), 501, "unsupported_by_store", None),
        (ConfigurationError("key file /etc/secret.pem unreadable"), 500, "server_error", None),
        (InvalidPasswordHash("bcrypt"), 500, "server_error", None),
    ],
)
def test_error_mapping(error: AuthError, status: int, code: str, challenge: str | None) -> None:
    response = web.error_response(error, WebConfig(realm="r"))
    assert response.status == status
    assert json.loads(response.body) == {"error": code}
    assert web.error_body(error) == response.body
    headers = dict(response.headers)
    assert headers["Cache-Control"] == "no-store"
    if challenge is None:
        assert "WWW-Authenticate" not in headers
    else:
        suffix = f', error="{challenge}"' if challenge else ""
        assert headers["WWW-Authenticate"] == 'Bearer realm="r"' + suffix
    if isinstance(error, Throttled):
        assert headers["Retry-After"] == "3"
    assert error.reason not in response.body.decode()


def test_auth_result_required_and_optional() -> None:
    with pytest.raises(AuthenticationRequired):
        AuthResult(None).required()
    assert AuthResult(None).optional() is None
    assert AuthResult(None, InvalidToken("x"), "bearer").optional() is None
    assert AuthResult(None, CsrfRejected("x"), "cookie").optional() is None
    with pytest.raises(StoreUnavailable):
        AuthResult(None, StoreUnavailable("x"), "bearer").optional()
    with pytest.raises(InvalidToken):
        AuthResult(None, InvalidToken("x"), "bearer").required()


# -- the flows, driven both ways --------------------------------------------------------


@pytest.fixture
def sync_auth(keypair: tuple[bytes, bytes], clock: Clock) -> Any:
    service = SyncAuthService(keypair[0], keypair[1], MemoryStore(), config=CHEAP, clock=clock)
    users = {"alice": {"id": "u1", "password": service.hash_password("pw")}}

    def make(config: WebConfig | None = None, get_user: Any = users.get) -> WebAuth:
        return WebAuth(service, config=config, get_user=get_user)

    return make


def login_request(body: dict[str, Any] | None = None, **headers: str) -> Request:
    payload = json.dumps(body or {"login": "alice", "password": "pw"}).encode()
    return req("POST", {"Content-Type": "application/json", **headers}, body=payload)


def test_cookie_transport_keeps_tokens_out_of_the_body(sync_auth: Any) -> None:
    response = sync_auth(WebConfig(transport="cookie")).handle_sync("login", login_request())
    assert response.status == 200
    body = json.loads(response.body)
    assert "access_token" not in body and "refresh_token" not in body
    assert [c.name for c in response.cookies] == ["__Host-access_token", "__Secure-refresh_token"]


def test_bearer_transport_sets_no_cookies(sync_auth: Any) -> None:
    auth = sync_auth(WebConfig(transport="bearer"))
    response = auth.handle_sync("login", login_request())
    assert response.status == 200
    assert response.cookies == ()
    assert {"access_token", "refresh_token", "token_type"} <= set(json.loads(response.body))
    token = json.loads(response.body)["access_token"]
    logout = req("POST", {"Authorization": f"Bearer {token}"})
    response = auth.handle_sync("logout", logout)
    assert (response.status, response.cookies) == (204, ())


def test_bearer_transport_does_not_check_login_origin(sync_auth: Any) -> None:
    auth = sync_auth(WebConfig(transport="bearer"))
    response = auth.handle_sync("login", login_request(Origin="https://evil.example"))
    assert response.status == 200


def test_non_argon2_stored_hash_is_a_failed_login_not_a_500(
    sync_auth: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A 500 would tell an attacker that this account exists.
    users = {"bob": {"id": "u2", "password": "$2b$12$legacybcrypt"}}
    auth = sync_auth(get_user=users.get)
    response = auth.handle_sync("login", login_request({"login": "bob", "password": "x"}))
    assert response.status == 401
    assert json.loads(response.body) == {"error": "invalid_credentials"}
    assert "not Argon2id" in caplog.text


def test_login_without_get_user_is_a_server_error(sync_auth: Any) -> None:
    response = sync_auth(get_user=None).handle_sync("login", login_request())
    assert response.status == 500
    assert json.loads(response.body) == {"error": "server_error"}


def test_failing_user_lookup_is_never_a_login_answer(sync_auth: Any) -> None:
    def broken(login: str) -> None:
        raise ConnectionError("users database down")

    with pytest.raises(ConnectionError):
        sync_auth(get_user=broken).handle_sync("login", login_request())


def test_async_user_lookup_in_blocking_handlers_is_a_configuration_error(
    sync_auth: Any,
) -> None:
    async def lookup(login: str) -> None:
        return None

    response = sync_auth(get_user=lookup).handle_sync("login", login_request())
    assert response.status == 500


def test_blocking_driver_refuses_the_async_service(keypair: tuple[bytes, bytes]) -> None:
    service = AuthService(keypair[0], keypair[1], MemoryStore(), config=CHEAP)
    auth = WebAuth(service, get_user={"alice": None}.get)
    response = auth.handle_sync("login", login_request())
    assert response.status == 500


async def test_async_driver_accepts_sync_and_async_lookups(
    keypair: tuple[bytes, bytes], clock: Clock
) -> None:
    service = AuthService(keypair[0], keypair[1], MemoryStore(), config=CHEAP, clock=clock)
    users = {"alice": {"id": "u1", "password": await service.hash_password("pw")}}

    async def lookup(login: str) -> Any:
        await asyncio.sleep(0)
        return users.get(login)

    for get_user in (users.get, lookup):
        auth = WebAuth(service, get_user=get_user)
        response = await auth.handle("login", login_request())
        assert response.status == 200
        token = json.loads(response.body)["access_token"]
        session = await auth.authenticate(req(headers={"Authorization": f"Bearer {token}"}))
        assert session.user_id == "u1"
    await service.aclose()


def test_unknown_endpoint_is_a_configuration_error(sync_auth: Any) -> None:
    with pytest.raises(ConfigurationError):
        sync_auth().handle_sync("nope", req("POST"))


def test_endpoints_are_mounted_under_the_auth_path(sync_auth: Any) -> None:
    auth = sync_auth(WebConfig(auth_path="/api/auth"))
    paths = {e.name: auth.route_path(e) for e in auth.endpoints}
    assert paths == {
        "login": "/api/auth/login",
        "refresh": "/api/auth/refresh",
        "logout": "/api/auth/logout",
        "passkey_login_options": "/api/auth/passkey/login/options",
        "passkey_login": "/api/auth/passkey/login",
        "passkey_register_options": "/api/auth/passkey/register/options",
        "passkey_register": "/api/auth/passkey/register",
        "passkeys": "/api/auth/passkeys",
        "passkey_rename": "/api/auth/passkeys/rename",
        "passkey_delete": "/api/auth/passkeys/delete",
        "passkeys_js": "/api/auth/passkeys.js",
    }
    assert WebConfig(auth_path="/api/auth").refresh_path == "/api/auth"
    assert auth.match("/api/auth/login") is not None
    assert auth.match("/api/auth") is None


def test_passkey_routes_can_be_left_out(sync_auth: Any) -> None:
    auth = sync_auth(WebConfig(passkeys=False))
    assert [e.name for e in auth.endpoints] == ["login", "refresh", "logout"]
    assert auth.match("/auth/passkey/login") is None
    with pytest.raises(ConfigurationError):
        auth.handle_sync("passkey_login", req("POST"))


def test_web_exports_match_its_public_names() -> None:
    public = {
        name
        for name, value in vars(web).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == "secure_auth.web"
        and callable(value)
    }
    assert public <= set(web.__all__)
    assert all(hasattr(web, name) for name in web.__all__)


def test_logout_with_expired_access_cookie_uses_a_refresh_cookie_it_can_see(
    sync_auth: Any, clock: Clock
) -> None:
    auth = sync_auth(WebConfig(refresh_cookie_path="/auth"))
    login = auth.handle_sync("login", login_request())
    cookies = {c.name: c.value for c in login.cookies}
    assert {c.name: c.path for c in login.cookies}["__Secure-refresh_token"] == "/auth"
    clock.advance(CHEAP.access_token_ttl + 1)  # the browser dropped the access cookie
    logout = req(
        "POST",
        {"Cookie": f"__Secure-refresh_token={cookies['__Secure-refresh_token']}", "Origin": APP},
    )
    response = auth.handle_sync("logout", logout)
    assert response.status == 204
    refresh = req(
        "POST",
        {"Cookie": f"__Secure-refresh_token={cookies['__Secure-refresh_token']}", "Origin": APP},
        path="/auth/refresh",
    )
    assert auth.handle_sync("refresh", refresh).status == 401


# -- passkey routes -------------------------------------------------------------------

PASSKEY_CONFIG = CHEAP.replace(rp_id="app.example", expected_origins=(APP,))


class PasskeyWeb:
    """A blocking WebAuth over a passkey-ready service, and a browser's view of it."""

    def __init__(
        self, keypair: tuple[bytes, bytes], clock: Clock, web_config: WebConfig | None = None
    ) -> None:
        from passkeys.softauthn import SoftAuthenticator

        self.service = SyncAuthService(
            keypair[0], keypair[1], MemoryStore(), config=PASSKEY_CONFIG, clock=clock
        )
        self.names: dict[str, Any] = {"u1": "alice@example.com"}
        self.auth = WebAuth(self.service, config=web_config, get_user_name=self.lookup)
        self.authenticator = SoftAuthenticator(rp_id="app.example", origin=APP)
        self.lookups = 0

    def lookup(self, user_id: str) -> Any:
        self.lookups += 1
        return self.names.get(user_id)

    def bearer(self, user_id: str = "u1") -> dict[str, str]:
        tokens = self.service.login({"id": user_id, "password": self.hash}, "pw")
        return {"Authorization": f"Bearer {tokens.access_token}"}

    @functools.cached_property
    def hash(self) -> str:
        return self.service.hash_password("pw")

    def post(self, endpoint: str, body: Any = None, **headers: str) -> web.Response:
        payload = b"" if body is None else json.dumps(body).encode()
        request = req("POST", {"Content-Type": "application/json", **headers}, body=payload)
        return self.auth.handle_sync(endpoint, request)

    def register(self, headers: dict[str, str], **body: Any) -> web.Response:
        options = json.loads(self.post("passkey_register_options", {}, **headers).body)
        return self.post(
            "passkey_register", {**self.authenticator.create(options), **body}, **headers
        )

    def assertion(self) -> dict[str, Any]:
        options = json.loads(self.post("passkey_login_options", {}, Origin=APP).body)
        return self.authenticator.get(options)


@pytest.fixture
def pk(keypair: tuple[bytes, bytes], clock: Clock) -> PasskeyWeb:
    return PasskeyWeb(keypair, clock)


def body_of(response: web.Response) -> Any:
    return json.loads(response.body)


def test_passkey_user_name_comes_from_the_hook_or_the_body(pk: PasskeyWeb) -> None:
    bearer = pk.bearer()
    options = body_of(pk.post("passkey_register_options", {"user_name": "ignored"}, **bearer))
    assert (options["user"]["name"], options["user"]["displayName"]) == ("alice@example.com",) * 2
    pk.names["u1"] = ("alice@example.com", "Alice")
    options = body_of(pk.post("passkey_register_options", None, **bearer))
    assert options["user"]["displayName"] == "Alice"

    pk.auth.get_user_name = None  # no hook: the body names the passkey
    options = body_of(
        pk.post("passkey_register_options", {"user_name": "ada", "display_name": "Ada"}, **bearer)
    )
    assert (options["user"]["name"], options["user"]["displayName"]) == ("ada", "Ada")
    for body in (None, {}, {"user_name": ""}, {"user_name": 5}, {"user_name": "a\nb"}):
        response = pk.post("passkey_register_options", body, **bearer)
        assert (response.status, body_of(response)) == (400, {"error": "invalid_request"})


def test_passkey_routes_refuse_a_misbehaving_or_unknown_user_hook(pk: PasskeyWeb) -> None:
    bearer = pk.bearer()
    pk.names["u1"] = 42
    response = pk.post("passkey_register_options", {}, **bearer)
    assert (response.status, body_of(response)) == (500, {"error": "server_error"})
    del pk.names["u1"]  # the session outlived its user
    response = pk.post("passkey_register_options", {}, **bearer)
    assert (response.status, body_of(response)) == (401, {"error": "invalid_token"})


def test_passkey_of_a_user_the_app_forgot_signs_nobody_in(pk: PasskeyWeb) -> None:
    assert pk.register(pk.bearer()).status == 201
    del pk.names["u1"]
    response = pk.post("passkey_login", pk.assertion(), Origin=APP)
    assert (response.status, body_of(response)) == (401, {"error": "passkey_verification_failed"})
    assert response.cookies == ()
    # The session opened by the verified assertion is gone again; the bearer one stays.
    assert [s.auth_method for s in pk.service.list_sessions("u1")] == ["password"]


def test_failing_user_hook_at_passkey_sign_in_leaves_no_session(pk: PasskeyWeb) -> None:
    assert pk.register(pk.bearer()).status == 201

    def broken(user_id: str) -> None:
        raise ConnectionError("users database down")

    pk.auth.get_user_name = broken
    with pytest.raises(ConnectionError):
        pk.post("passkey_login", pk.assertion(), Origin=APP)
    assert [s.auth_method for s in pk.service.list_sessions("u1")] == ["password"]


def test_passkey_registration_failures_are_400_with_their_code(pk: PasskeyWeb) -> None:
    bearer = pk.bearer()
    options = body_of(pk.post("passkey_register_options", {}, **bearer))
    wrong_origin = pk.authenticator.create(options, origin="https://evil.example")
    response = pk.post("passkey_register", wrong_origin, **bearer)
    # The user's own authenticator failed: not a 401, which reads as "signed out".
    assert (response.status, body_of(response)) == (400, {"error": "passkey_verification_failed"})
    response = pk.post("passkey_register", wrong_origin, **bearer)  # challenge used up
    assert body_of(response) == {"error": "passkey_challenge_invalid"}
    for body in ({}, {"label": 5}):
        response = pk.post("passkey_register", body, **bearer)
        assert (response.status, body_of(response)) == (400, {"error": "invalid_request"})
    response = pk.register(bearer, label="")  # empty label: the default
    assert (response.status, body_of(response)["label"]) == (201, "Passkey")
    response = pk.register(bearer, label="\x00")
    assert (response.status, body_of(response)) == (400, {"error": "passkey_label_invalid"})


def test_passkey_login_with_bearer_transport_returns_tokens_only(
    keypair: tuple[bytes, bytes], clock: Clock
) -> None:
    pk = PasskeyWeb(keypair, clock, WebConfig(transport="bearer"))
    assert pk.register(pk.bearer()).status == 201
    # No Origin check on the bearer transport, like password login.
    response = pk.post("passkey_login", pk.assertion(), Origin="https://evil.example")
    assert response.status == 200
    assert response.cookies == ()
    body = body_of(response)
    assert body["token_type"] == "Bearer"
    session = pk.auth.authenticate_sync(
        req(headers={"Authorization": f"Bearer {body['access_token']}"})
    )
    assert session.auth_method == "passkey"


def test_passkey_login_options_ignore_a_login(pk: PasskeyWeb) -> None:
    assert pk.register(pk.bearer()).status == 201
    pk.lookups = 0
    known = body_of(pk.post("passkey_login_options", {"login": "alice@example.com"}, Origin=APP))
    unknown = body_of(pk.post("passkey_login_options", {"login": "nobody"}, Origin=APP))
    assert "allowCredentials" not in known or known["allowCredentials"] == []
    assert set(known) == set(unknown)
    assert known["challenge"] != unknown["challenge"]
    assert pk.lookups == 0


def test_passkey_secrets_stay_out_of_logs_and_error_bodies(
    pk: PasskeyWeb, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert pk.register(pk.bearer()).status == 201
    assertion = pk.assertion()
    challenge = json.loads(
        base64.urlsafe_b64decode(assertion["response"]["clientDataJSON"] + "==")
    )["challenge"]
    ok = pk.post("passkey_login", assertion, Origin=APP)
    tokens = body_of(ok)
    failures = [
        pk.post("passkey_login", assertion, Origin=APP),  # replay
        pk.post("passkey_login", {**pk.assertion(), "id": "AAAA"}, Origin=APP),
        pk.post("passkey_login", pk.authenticator.get({"challenge": challenge}), Origin=APP),
    ]
    logged = "".join(r.getMessage() for r in caplog.records)
    for secret in (challenge, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in logged
        for response in failures:
            assert secret.encode() not in response.body


# -- secrets out of reprs, control characters out of logs (issue 11) --------------


def test_cookie_and_authorization_stay_out_of_the_request_repr() -> None:
    request = req(
        "POST",
        {"Cookie": "__Host-access_token=tok-cookie", "Authorization": "Bearer tok-bearer"},
        body=b'{"refresh_token": "tok-body"}',
    )
    text = repr(request)
    for secret in ("tok-cookie", "tok-bearer", "tok-body"):
        assert secret not in text
    assert "<redacted>" in text and "app.example" in text


def test_tokens_of_a_login_response_stay_out_of_its_repr(keypair: tuple[bytes, bytes]) -> None:
    service = SyncAuthService(*keypair, MemoryStore(), config=CHEAP)
    user = service.register_user({"id": "u1", "password": "pw-pw-pw-pw"})
    web = WebAuth(service, get_user=lambda login: user)
    response = web.handle_sync(
        "login",
        req(
            "POST",
            {"Content-Type": "application/json"},
            body=b'{"login": "u1", "password": "pw-pw-pw-pw"}',
        ),
    )
    body = json.loads(response.body)
    text = repr(response)
    assert body["access_token"] not in text and body["refresh_token"] not in text
    assert f"<{len(response.body)} bytes>" in text


def test_crlf_in_a_reason_cannot_forge_a_log_line() -> None:
    exc = PasskeyError("origin 'https://evil\r\n2026-01-01 INFO admin signed in\x1b[0m' refused")
    assert "\r" not in exc.reason and "\n" not in exc.reason and "\x1b" not in exc.reason
    assert "\\r\\n2026-01-01 INFO admin signed in" in exc.reason
