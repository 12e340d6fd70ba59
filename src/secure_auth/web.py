"""HTTP rules for every framework, decided once. Imports no framework.

Every adapter in :mod:`secure_auth.integrations` is a translation layer over
this module: it turns the framework's request into a :class:`Request`, calls
:class:`WebAuth`, and turns the :class:`Response` it gets back into the
framework's response. Which token counts, whether a cross-site request is
refused, which status and body an error gets, and every cookie attribute are
decided here and nowhere else, so all adapters behave alike (one test suite,
``tests/integrations/test_adapters.py``, runs over all of them).

The rules, in short (docs/frameworks.md has the long form):

* **Where the token comes from.** ``Authorization: Bearer <token>`` wins
  over the access cookie when both are accepted (:attr:`WebConfig.transport`).
  A bearer token cannot be attached by a cross-site page, so bearer
  requests need no CSRF check.
* **CSRF.** A request authenticated by a cookie with an unsafe method
  (anything but GET, HEAD, OPTIONS, TRACE) must prove it is same-origin:
  its ``Origin`` is the request's own origin or a trusted one, or, without
  ``Origin``, ``Sec-Fetch-Site: same-origin``. No proof, no session (403).
  Login, which sets cookies, is refused only on positive evidence of a
  cross-site request (login CSRF), so non-browser clients still sign in.
  **Any answer that sets session cookies passes at least that check**: a
  refresh token taken from the body answers in the body only; cookies come
  only from a cookie request that passed the CSRF check. Cookies are
  *deleted* only on a request that proved it is same-origin, so another
  site cannot sign a user out of the browser either.
* **Bodies.** At most :attr:`WebConfig.max_body_bytes` (counted on the bytes
  read, chunked or not: 413 beyond), strict UTF-8, JSON nested at most
  32 deep, no lone surrogates: anything else is a 400, never a 500.
* **Cookies.** HttpOnly, Secure, SameSite=Lax, Max-Age = token lifetime.
  The access cookie lives on Path=/ with the ``__Host-`` prefix; the refresh
  cookie only on the auth routes (Path=/auth: refresh and logout), hence
  ``__Secure-``.
  ``secure=False`` (plain-http localhost development) drops Secure and the
  prefixes, which browsers only accept over https.
* **Errors.** The body is ``{"error": "<code>"}`` and nothing else. Every
  token or session failure (malformed, expired, revoked, replayed) is
  ``invalid_token``; every login failure is ``invalid_credentials``; every
  passkey sign-in failure past the challenge is
  ``passkey_verification_failed``. A 401 carries an RFC 6750
  ``WWW-Authenticate: Bearer realm=...`` challenge. A store outage is 503,
  never a session and never a 200.
* **Passkeys.** The ceremonies are routes too (``/auth/passkey/...``,
  ``/auth/passkeys``, ``/auth/passkeys.js``): sign-in follows the login
  rules above; registration and management act for the session's user only.

Blocking and ``async`` services share the logic the same way the core does:
each operation is a generator (*flow*) that yields the calls it needs and is
driven either with ``await`` (:meth:`WebAuth.handle`, :meth:`WebAuth.resolve`)
or with plain calls (:meth:`WebAuth.handle_sync`, :meth:`WebAuth.resolve_sync`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import logging
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit

from .clientip import client_ip
from .errors import (
    AuthError,
    ConfigurationError,
    InvalidCredentials,
    InvalidPasswordHash,
    InvalidToken,
    MalformedPasskeyResponse,
    PasskeyChallengeError,
    PasskeyError,
    PasskeyVerificationFailed,
    PasswordPolicyError,
    SessionError,
    StoreUnavailable,
    Throttled,
    TokenError,
    UnknownCredential,
    UnsupportedByStore,
)
from .models import AuthTokens, PasskeyCredential, SessionInfo
from .passkeys import javascript_source

__all__ = [
    "ENDPOINTS",
    "JSON_MAX_DEPTH",
    "ROUTE_METHODS",
    "SAFE_METHODS",
    "SECURITY_HEADERS",
    "AuthResult",
    "AuthenticationRequired",
    "BodyTooLarge",
    "Credential",
    "CsrfRejected",
    "Endpoint",
    "GetUser",
    "GetUserName",
    "InvalidRequest",
    "Request",
    "Response",
    "SetCookie",
    "WebAuth",
    "WebConfig",
    "access_cookie",
    "bearer_token",
    "check_csrf",
    "check_login_origin",
    "clear_cookies",
    "client_ip",
    "error_body",
    "error_response",
    "missing_security_headers",
    "parse_cookies",
    "parse_json",
    "passes_csrf",
    "passkey_json",
    "read_token",
    "refresh_cookie",
    "www_authenticate",
]

logger = logging.getLogger("secure_auth.web")

T = TypeVar("T")
Transport = Literal["cookie", "bearer", "both"]
SameSite = Literal["Lax", "Strict", "None"]
GetUser = Callable[[str], Any]
"""``get_user(login) -> user | None``, sync or ``async``: the application's lookup."""
GetUserName = Callable[[str], Any]
"""``get_user_name(user_id) -> name | (name, display_name) | None``, sync or
``async``: what a passkey is called on the user's authenticator (an e-mail
address, a login), and ``None`` when the application no longer knows the user."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
"""Methods adapters route to an auth endpoint, so a wrong one gets this
module's 405 (OPTIONS stays with the framework, e.g. CORS; HEAD too, and
frameworks that route it to a GET endpoint get the GET answer)."""
_TOKEN_CHARS = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 b64token
_PATH_CHARS = re.compile(r"/[!-:<-~]*")  # visible ASCII, no ';'
_DEFAULT_PORTS = {"http": 80, "https": 443}
_USER_AGENT_LIMIT = 512
_LOGIN_LIMIT = 320
_CREDENTIAL_ID_LIMIT = 1400  # base64url of WebAuthn's 1023-byte maximum
_REDACTED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
JSON_MAX_DEPTH = 32
"""Deepest nesting of arrays and objects an auth route's JSON body may have
(a passkey response needs 4); checked before parsing."""
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_BRACKET = re.compile(r"[\[\]{}]")

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
"""The headers every auth route answers with (a header the answer already has
wins), and what each adapter's security-headers helper adds to the
application's own API routes. For HTML pages set your own
``Content-Security-Policy``; HSTS (``Strict-Transport-Security``) belongs to
whatever terminates TLS (docs/security.md, "Security headers")."""


# -- errors of the HTTP edge ----------------------------------------------------


class AuthenticationRequired(AuthError):
    """The request carries no credential at all (HTTP 401, no error code
    in the challenge, as RFC 6750 section 3.1 asks)."""

    code = "authentication_required"
    public_message = "Authentication is required."
    status = 401


class CsrfRejected(AuthError):
    """A cookie-authenticated unsafe request did not prove it is same-origin."""

    code = "csrf_rejected"
    public_message = "Cross-site request refused."
    status = 403


class InvalidRequest(AuthError):
    """The request body of an auth route is missing or malformed."""

    code = "invalid_request"
    public_message = "The request is malformed."
    status = 400


class BodyTooLarge(InvalidRequest):
    """The body of an auth route is larger than :attr:`WebConfig.max_body_bytes`."""

    code = "body_too_large"
    public_message = "The request body is too large."
    status = 413


# -- configuration ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebConfig:
    """How the HTTP edge behaves. Frozen; build variants with :meth:`replace`.

    Attributes:
        transport: which credentials are accepted *and* issued. ``"cookie"``:
            HttpOnly cookies only, tokens never in a response body (browser
            apps). ``"bearer"``: ``Authorization`` header only, tokens in the
            JSON body (APIs, mobile). ``"both"`` (default): either; login and
            refresh set the cookies *and* return the tokens in the body.
        secure: mark cookies Secure and give them the ``__Host-`` /
            ``__Secure-`` prefix. ``False`` only for http://localhost
            development: it drops the attribute and the prefixes.
        same_site: ``"Lax"`` (default), ``"Strict"``, or ``"None"`` (needs
            ``secure``).
        access_cookie, refresh_cookie: cookie names before the prefix.
        access_cookie_path: Path of the access cookie; ``"/"`` allows the
            ``__Host-`` prefix, any other path gets ``__Secure-``.
        auth_path: where the auth routes live (``/auth/login``,
            ``/auth/refresh``, ``/auth/logout``, the passkey routes); no
            trailing slash.
        refresh_cookie_path: Path of the refresh cookie; ``None`` = the auth
            routes (``auth_path``), so the refresh token reaches refresh and
            logout (which must revoke even when the access cookie expired)
            and travels nowhere else.
        trusted_origins: origins (``https://app.example.com``) allowed to send
            cookie-authenticated unsafe requests besides the request's own.
        realm: the ``realm`` of the ``WWW-Authenticate`` challenge.
        login_field, password_field: the login form / JSON field names.
        max_body_bytes: auth route bodies larger than this are refused.
            16 KiB holds any passkey response with ``"none"`` attestation;
            raise it (up to 64 KiB) if you ask for attestation certificates.
        passkeys: mount the passkey routes (``/auth/passkey/...``,
            ``/auth/passkeys``, ``/auth/passkeys.js``); they need the
            ``[passkeys]`` extra and a store that keeps passkeys.
        trusted_proxies: how many reverse proxies of yours stand in front
            of the app, each appending one ``X-Forwarded-For`` entry. ``0``
            (default) ignores the header: the peer is the client. The client
            address feeds throttling, sessions and the audit log; see
            :func:`secure_auth.clientip.client_ip` for why the count must be
            exact.

    Raises:
        ConfigurationError: an invalid name, path, origin or combination.
    """

    transport: Transport = "both"
    secure: bool = True
    same_site: SameSite = "Lax"
    access_cookie: str = "access_token"
    refresh_cookie: str = "refresh_token"
    access_cookie_path: str = "/"
    auth_path: str = "/auth"
    refresh_cookie_path: str | None = None
    trusted_origins: tuple[str, ...] = ()
    realm: str = "secure-auth"
    login_field: str = "login"
    password_field: str = "password"  # noqa: S105 (a field name, not a password)
    max_body_bytes: int = 16 * 1024
    passkeys: bool = True
    trusted_proxies: int = 0

    def __post_init__(self) -> None:
        if self.transport not in ("cookie", "bearer", "both"):
            raise ConfigurationError("transport must be 'cookie', 'bearer' or 'both'")
        if self.same_site not in ("Lax", "Strict", "None"):
            raise ConfigurationError("same_site must be 'Lax', 'Strict' or 'None'")
        if self.same_site == "None" and not self.secure:
            raise ConfigurationError("same_site='None' needs secure=True (browsers require it)")
        for name in (self.access_cookie, self.refresh_cookie):
            if not _TOKEN_CHARS.fullmatch(name) or name.lower().startswith(
                ("__host-", "__secure-")
            ):
                raise ConfigurationError(
                    f"cookie name {name!r} must be a plain token; the prefix is added for you"
                )
        if self.access_cookie == self.refresh_cookie:
            raise ConfigurationError("the access and refresh cookies need different names")
        paths = [self.access_cookie_path, self.auth_path, self.refresh_path]
        if not all(_PATH_CHARS.fullmatch(p) for p in paths):
            raise ConfigurationError("paths must start with '/' and hold visible ASCII but ';'")
        if self.auth_path == "/" or self.auth_path.endswith("/"):
            raise ConfigurationError("auth_path must not end with '/' (e.g. '/auth')")
        if not self.realm or any(c in self.realm for c in '"\\') or not self.realm.isprintable():
            raise ConfigurationError("realm must be printable text without quotes or backslashes")
        if self.max_body_bytes < 256:
            raise ConfigurationError("max_body_bytes must be at least 256")
        if (
            not isinstance(self.trusted_proxies, int)
            or isinstance(self.trusted_proxies, bool)
            or self.trusted_proxies < 0
        ):
            raise ConfigurationError("trusted_proxies must be an integer >= 0")
        if isinstance(self.trusted_origins, str):
            raise ConfigurationError("trusted_origins must be a tuple of origins, not a string")
        origins = []
        for origin in self.trusted_origins:
            normalized = _normalize_origin(origin)
            if normalized is None:
                raise ConfigurationError(
                    f"trusted origin {origin!r} must look like 'https://host[:port]'"
                )
            origins.append(normalized)
        object.__setattr__(self, "trusted_origins", tuple(origins))

    def replace(self, **changes: Any) -> WebConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def accepts_cookie(self) -> bool:
        return self.transport in ("cookie", "both")

    @property
    def accepts_bearer(self) -> bool:
        return self.transport in ("bearer", "both")

    @property
    def refresh_path(self) -> str:
        """The refresh cookie's Path: :attr:`refresh_cookie_path` or the auth routes."""
        return self.refresh_cookie_path or self.auth_path

    @property
    def access_cookie_name(self) -> str:
        """The access cookie's full name, prefix included."""
        return _prefix(self.secure, self.access_cookie_path) + self.access_cookie

    @property
    def refresh_cookie_name(self) -> str:
        """The refresh cookie's full name, prefix included."""
        return _prefix(self.secure, self.refresh_path) + self.refresh_cookie


def _prefix(secure: bool, path: str) -> str:
    # __Host- requires Secure, Path=/ and no Domain; __Secure- requires Secure.
    if not secure:
        return ""
    return "__Host-" if path == "/" else "__Secure-"


def _normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or ``None``."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


# -- requests and responses -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """What the rules need to know about an HTTP request.

    Attributes:
        method: upper-case HTTP method; ``"WEBSOCKET"`` for a WebSocket
            handshake (treated as unsafe: cross-site WebSocket hijacking is
            CSRF too).
        headers: header names in lower case; repeated headers joined.
        scheme: ``"https"`` or ``"http"`` as the framework sees it.
        host: the request's host (and port), as the framework validated it;
            defaults to the ``Host`` header.
        path: the request path.
        body: the raw body (only auth routes read it).
        client_ip: the peer address, for the session record and audit log.
    """

    method: str
    headers: Mapping[str, str]
    scheme: str = "https"
    host: str | None = None
    path: str = "/"
    body: bytes = field(default=b"", repr=False)
    client_ip: str | None = None

    @classmethod
    def build(
        cls,
        method: str,
        headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]],
        *,
        scheme: str = "https",
        host: str | None = None,
        path: str = "/",
        body: bytes = b"",
        client_ip: str | None = None,
    ) -> Request:
        """Normalise header names and merge repeated headers.

        ``Cookie`` headers are joined with ``"; "``, others with ``", "``
        (so two ``Authorization`` headers make an invalid token, never a
        choice between them). Bytes are decoded as Latin-1.
        """
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        merged: dict[str, str] = {}
        for raw_name, raw_value in pairs:
            name = _text(raw_name).lower()
            value = _text(raw_value)
            if name in merged:
                merged[name] += ("; " if name == "cookie" else ", ") + value
            else:
                merged[name] = value
        return cls(
            method=method.upper(),
            headers=merged,
            scheme=scheme.lower(),
            host=host if host is not None else merged.get("host"),
            path=path,
            body=body,
            client_ip=client_ip,
        )

    def __repr__(self) -> str:
        # Credentials stay out of logs and tracebacks; the body is only measured.
        headers = {
            name: "<redacted>" if name in _REDACTED_HEADERS else value
            for name, value in self.headers.items()
        }
        return (
            f"Request(method={self.method!r}, path={self.path!r}, scheme={self.scheme!r}, "
            f"host={self.host!r}, headers={headers!r}, body=<{len(self.body)} bytes>, "
            f"client_ip={self.client_ip!r})"
        )

    @property
    def cookies(self) -> dict[str, str]:
        return parse_cookies(self.headers.get("cookie"))

    @property
    def user_agent(self) -> str | None:
        agent = self.headers.get("user-agent")
        return agent[:_USER_AGENT_LIMIT] if agent else None

    @property
    def origin(self) -> str | None:
        """The request's own origin (``scheme://host[:port]``), if the host is known."""
        if not self.host:
            return None
        return _normalize_origin(f"{self.scheme}://{self.host}")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class SetCookie:
    """One ``Set-Cookie``, as decided here; adapters render or translate it."""

    name: str
    value: str = field(repr=False)
    path: str
    max_age: int
    secure: bool
    same_site: SameSite
    http_only: bool = True

    def header_value(self) -> str:
        """The ``Set-Cookie`` header value."""
        parts = [f"{self.name}={self.value}", f"Path={self.path}", f"Max-Age={self.max_age}"]
        if self.max_age == 0:
            parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        if self.secure:
            parts.append("Secure")
        if self.http_only:
            parts.append("HttpOnly")
        parts.append(f"SameSite={self.same_site}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Response:
    """Status, headers, cookies and body, ready for any framework.

    ``headers`` never holds ``Set-Cookie``: cookies are in ``cookies`` so a
    framework with its own cookie API (Django) can use it;
    :meth:`header_list` renders everything for the rest.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[SetCookie, ...] = ()
    body: bytes = b""

    def __repr__(self) -> str:
        # A login's body holds both tokens: only its size is shown.
        return (
            f"Response(status={self.status!r}, headers={self.headers!r}, "
            f"cookies={self.cookies!r}, body=<{len(self.body)} bytes>)"
        )

    def header_list(self) -> list[tuple[str, str]]:
        """Headers with one ``Set-Cookie`` per cookie, in order."""
        return [*self.headers, *(("Set-Cookie", c.header_value()) for c in self.cookies)]

    def with_cookies(self, cookies: Iterable[SetCookie]) -> Response:
        return dataclasses.replace(self, cookies=(*self.cookies, *cookies))

    def with_security_headers(self) -> Response:
        """A copy with the :data:`SECURITY_HEADERS` it lacks."""
        missing = missing_security_headers(name for name, _ in self.headers)
        return dataclasses.replace(self, headers=(*self.headers, *missing)) if missing else self

    @property
    def content_type(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return None


def _json_response(
    status: int, payload: Mapping[str, Any], *, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(
        status=status,
        headers=(
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
            *headers,
        ),
        body=body,
    )


# -- pure building blocks -----------------------------------------------------------


def missing_security_headers(present: Iterable[str]) -> list[tuple[str, str]]:
    """The :data:`SECURITY_HEADERS` whose names are not in ``present`` (any case)."""
    names = {name.lower() for name in present}
    return [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in names]


def parse_json(body: bytes, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """Parse an untrusted JSON body without ever raising anything but a 400.

    The body must be strict UTF-8 (no encoded surrogates), nested at most
    ``max_depth`` deep (checked *before* parsing: the parser recurses) and
    hold no lone surrogate escapes (``"\\udc80"``), which no UTF-8 text,
    database driver or password hasher can take. The size is the caller's
    to bound.

    Raises:
        InvalidRequest: any of that, or not JSON.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("body is not UTF-8") from None
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise InvalidRequest(f"JSON nested deeper than {max_depth}")
        else:
            depth -= 1
    try:
        data = json.loads(text)
        # A lone surrogate from a \u escape cannot be encoded: one C-speed pass finds it.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest("body holds a lone surrogate") from None
    except (ValueError, RecursionError):
        raise InvalidRequest("body is not JSON") from None
    return data


def parse_cookies(header: str | None) -> dict[str, str]:
    """``Cookie`` header to a dict; the first occurrence of a name wins.

    Browsers send the most specific cookie first, and with ``__Host-`` a
    sibling subdomain cannot have planted one, so first-wins is the safe
    choice. Values may be quoted; nothing is unescaped.
    """
    cookies: dict[str, str] = {}
    if not header:
        return cookies
    for chunk in header.split(";"):
        name, sep, value = chunk.strip().partition("=")
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies.setdefault(name.strip(), value)
    return cookies


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``.

    ``None`` for a missing header or another scheme (``Basic``...): those are
    not ours to judge.

    Raises:
        InvalidToken: the Bearer scheme with a value that is not a b64token.
    """
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = value.strip()
    if not _B64TOKEN.fullmatch(token):
        raise InvalidToken("malformed bearer credentials")
    return token


@dataclass(frozen=True, slots=True)
class Credential:
    """An access token and where it came from (a secret: not in ``repr``)."""

    token: str = field(repr=False)
    source: Literal["bearer", "cookie"]


def _origin_verdict(request: Request, config: WebConfig) -> Literal["same", "cross", "unknown"]:
    """Does the browser say this request comes from a trusted origin?"""
    origin = request.headers.get("origin")
    if origin is not None:
        normalized = None if origin.strip() == "null" else _normalize_origin(origin)
        if normalized is not None and (
            normalized == request.origin or normalized in config.trusted_origins
        ):
            return "same"
        return "cross"
    site = request.headers.get("sec-fetch-site", "").strip().lower()
    if site == "same-origin":
        return "same"
    if site in ("same-site", "cross-site"):
        return "cross"
    return "unknown"  # no Origin, and no Sec-Fetch-Site (or "none")


def check_csrf(request: Request, config: WebConfig) -> None:
    """Allow a cookie-authenticated request only if it is safe or proven same-origin.

    Safe methods pass. Otherwise ``Origin`` must be the request's own origin
    or one of :attr:`WebConfig.trusted_origins`; without ``Origin``,
    ``Sec-Fetch-Site`` must be ``same-origin``. Neither header: refused, as
    an old browser being forged from another site looks exactly like that.

    Raises:
        CsrfRejected: the request did not prove it is same-origin.
    """
    if request.method in SAFE_METHODS:
        return
    verdict = _origin_verdict(request, config)
    if verdict != "same":
        raise CsrfRejected(f"cookie-authenticated {request.method} with {verdict} origin")


def passes_csrf(request: Request, config: WebConfig) -> bool:
    """Whether :func:`check_csrf` lets ``request`` through: the one test before
    an answer deletes cookies (a cross-site page must not sign users out)."""
    return request.method in SAFE_METHODS or _origin_verdict(request, config) == "same"


def check_login_origin(request: Request, config: WebConfig) -> None:
    """Refuse a login that a browser marks as cross-site (login CSRF).

    Unlike :func:`check_csrf`, a request without ``Origin`` and
    ``Sec-Fetch-Site`` passes: it carries no session to abuse, and
    command-line clients send neither header.

    Raises:
        CsrfRejected: ``Origin`` or ``Sec-Fetch-Site`` says cross-site.
    """
    if _origin_verdict(request, config) == "cross":
        raise CsrfRejected("cross-site login")


def read_token(request: Request, config: WebConfig) -> Credential | None:
    """The access token the request presents, or ``None`` if it presents none.

    A ``Bearer`` header wins over the cookie (when both are accepted). A
    cookie is only taken after :func:`check_csrf` passes.

    Raises:
        InvalidToken: a malformed ``Bearer`` header.
        CsrfRejected: a cookie on a cross-site unsafe request.
    """
    if config.accepts_bearer:
        token = bearer_token(request.headers.get("authorization"))
        if token is not None:
            return Credential(token, "bearer")
    if config.accepts_cookie:
        token = request.cookies.get(config.access_cookie_name)
        if token:
            check_csrf(request, config)
            return Credential(token, "cookie")
    return None


def _max_age(expires_at: float, now: float) -> int:
    return max(0, int(expires_at - now))


def access_cookie(tokens: AuthTokens, config: WebConfig, *, now: float) -> SetCookie:
    """The access cookie for ``tokens``: Max-Age until the token expires."""
    return SetCookie(
        name=config.access_cookie_name,
        value=tokens.access_token,
        path=config.access_cookie_path,
        max_age=_max_age(tokens.access_expires_at, now),
        secure=config.secure,
        same_site=config.same_site,
    )


def refresh_cookie(tokens: AuthTokens, config: WebConfig, *, now: float) -> SetCookie:
    """The refresh cookie, sent only to the refresh route."""
    return SetCookie(
        name=config.refresh_cookie_name,
        value=tokens.refresh_token,
        path=config.refresh_path,
        max_age=_max_age(tokens.refresh_expires_at, now),
        secure=config.secure,
        same_site=config.same_site,
    )


def clear_cookies(config: WebConfig) -> tuple[SetCookie, SetCookie]:
    """Cookies that delete both auth cookies (same name, path and attributes)."""
    return (
        SetCookie(
            config.access_cookie_name,
            "",
            config.access_cookie_path,
            0,
            config.secure,
            config.same_site,
        ),
        SetCookie(
            config.refresh_cookie_name, "", config.refresh_path, 0, config.secure, config.same_site
        ),
    )


def www_authenticate(config: WebConfig, error: str | None = None) -> str:
    """An RFC 6750 challenge: ``Bearer realm="..."[, error="..."]``."""
    challenge = f'Bearer realm="{config.realm}"'
    return f'{challenge}, error="{error}"' if error else challenge


def _public_code(exc: AuthError) -> tuple[int, str]:
    """(status, code) an error is answered with: the one place that collapses."""
    if isinstance(exc, TokenError | SessionError):
        return 401, "invalid_token"  # malformed, expired, revoked, replayed: one answer
    if isinstance(exc, InvalidCredentials):
        return 401, "invalid_credentials"
    if isinstance(exc, StoreUnavailable | UnsupportedByStore | Throttled):
        return exc.status, exc.code
    if exc.status >= 500:
        return exc.status, "server_error"
    return exc.status, exc.code


def error_body(exc: AuthError) -> bytes:
    """``{"error": "<code>"}``: the public code and nothing else."""
    return json.dumps({"error": _public_code(exc)[1]}, separators=(",", ":")).encode()


def error_response(exc: AuthError, config: WebConfig) -> Response:
    """The response for an error, whichever route raised it.

    401: ``WWW-Authenticate`` challenge (``error="invalid_token"`` for a
    token or session failure, no error code for a missing credential).
    429: ``Retry-After``. 5xx: logged at warning level with the reason.
    """
    status, code = _public_code(exc)
    headers: list[tuple[str, str]] = []
    if status == 401:
        headers.append(
            (
                "WWW-Authenticate",
                www_authenticate(config, "invalid_token" if code == "invalid_token" else None),
            )
        )
    if isinstance(exc, Throttled):
        headers.append(("Retry-After", str(exc.retry_after)))
    if status >= 500:
        logger.warning("auth request failed: %s (%s)", exc.code, exc.reason)
    else:
        logger.debug("auth request refused: %s (%s)", exc.code, exc.reason)
    return _json_response(status, {"error": code}, headers=headers)


# -- endpoints and flows -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One auth route. Adapters mount every entry of :attr:`WebAuth.endpoints`
    at ``config.auth_path + path`` and hand requests to :meth:`WebAuth.handle`.

    ``passkey`` routes are left out when :attr:`WebConfig.passkeys` is off.
    """

    name: str
    method: str
    path: str
    passkey: bool = False


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("login", "POST", "/login"),
    Endpoint("refresh", "POST", "/refresh"),
    Endpoint("logout", "POST", "/logout"),
    # Passkeys (docs/frameworks.md, "Passkey routes"). Each name has a
    # ``_<name>_flow`` on WebAuth; every adapter mounts them unchanged.
    Endpoint("passkey_login_options", "POST", "/passkey/login/options", passkey=True),
    Endpoint("passkey_login", "POST", "/passkey/login", passkey=True),
    Endpoint("passkey_register_options", "POST", "/passkey/register/options", passkey=True),
    Endpoint("passkey_register", "POST", "/passkey/register", passkey=True),
    Endpoint("passkeys", "GET", "/passkeys", passkey=True),
    Endpoint("passkey_rename", "POST", "/passkeys/rename", passkey=True),
    Endpoint("passkey_delete", "POST", "/passkeys/delete", passkey=True),
    Endpoint("passkeys_js", "GET", "/passkeys.js", passkey=True),
)


def passkey_json(credential: PasskeyCredential) -> dict[str, Any]:
    """What the passkey routes say about a stored passkey: no key, no counter,
    no user handle.

    ``{"id", "label", "created_at", "last_used_at", "transports", "aaguid",
    "backup_eligible", "backup_state"}``; times are Unix seconds
    (``last_used_at`` is ``null`` until the first sign-in).
    """
    return {
        "id": credential.credential_id,
        "label": credential.label,
        "created_at": credential.created_at,
        "last_used_at": credential.last_used_at,
        "transports": list(credential.transports),
        "aaguid": credential.aaguid,
        "backup_eligible": credential.backup_eligible,
        "backup_state": credential.backup_state,
    }


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The outcome of authenticating a request, never raised.

    Middleware stores it on the request; guards turn it into an answer with
    :meth:`required` or :meth:`optional`, so the rule lives here.

    Attributes:
        session: the live session, or ``None``.
        error: why there is no session (``None`` if no credential was sent).
        source: where the credential came from, if any.
    """

    session: SessionInfo | None
    error: AuthError | None = None
    source: Literal["bearer", "cookie"] | None = None

    def required(self) -> SessionInfo:
        """The session, for a route that needs one.

        Raises:
            AuthenticationRequired: no credential was sent.
            AuthError: the credential failed (its own error), or the store
                failed (:class:`StoreUnavailable`).
        """
        if self.session is not None:
            return self.session
        raise self.error or AuthenticationRequired("no credentials")

    def optional(self) -> SessionInfo | None:
        """The session or ``None``, for a route that also serves anonymous users.

        A refused credential (invalid, expired, revoked, cross-site) reads as
        anonymous. An outage does not: it is raised, so the route answers 503
        instead of silently treating a signed-in user as a stranger.

        Raises:
            StoreUnavailable: and any other 5xx error.
        """
        if self.error is not None and self.outage:
            raise self.error
        return self.session

    @property
    def outage(self) -> bool:
        """The server could not decide (store down, misconfiguration): a 5xx."""
        return self.error is not None and self.error.status >= 500


@dataclass(frozen=True, slots=True)
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _Call:
    return _Call(fn, args, kwargs)


_Flow = Generator[_Call, Any, T]


class WebAuth:
    """Request handling for every adapter: authenticate, login, refresh, logout.

    Args:
        service: an :class:`~secure_auth.AuthService` (use the ``async``
            methods) or a :class:`~secure_auth.SyncAuthService` (use the
            ``*_sync`` methods).
        config: the :class:`WebConfig`; defaults are safe.
        get_user: ``get_user(login) -> user | None`` (sync or ``async``),
            the application's lookup for the login route. The user is a mapping
            or object with ``id`` and ``password`` (the stored hash), as
            ``login`` expects. Without it, the login route answers 500.
        get_user_name: ``get_user_name(user_id) -> name | (name,
            display_name) | None`` (sync or ``async``), for the passkey
            routes: the name a new passkey carries on the authenticator
            (otherwise the request body's ``user_name``), and ``None`` for a
            user the application no longer knows, whose passkeys then sign
            nobody in.
        clock: time source for cookie Max-Age; defaults to the service's.
    """

    def __init__(
        self,
        service: Any,
        *,
        config: WebConfig | None = None,
        get_user: GetUser | None = None,
        get_user_name: GetUserName | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.service = service
        self.config = config or WebConfig()
        self.get_user = get_user
        self.get_user_name = get_user_name
        # The service's own clock, so Max-Age matches the tokens it signs.
        self._clock: Callable[[], float] = clock or getattr(service, "now", None) or time.time
        self._endpoints = {e.name: e for e in ENDPOINTS if self.config.passkeys or not e.passkey}

    def __repr__(self) -> str:
        return f"WebAuth(service={type(self.service).__name__}, config={self.config!r})"

    # -- routes ------------------------------------------------------------

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(self._endpoints.values())

    def route_path(self, endpoint: Endpoint) -> str:
        """The full path an adapter mounts ``endpoint`` at."""
        return self.config.auth_path + endpoint.path

    def match(self, path: str) -> Endpoint | None:
        """The endpoint at ``path`` (any method), for adapters that route themselves."""
        for endpoint in self._endpoints.values():
            if self.route_path(endpoint) == path:
                return endpoint
        return None

    def method_not_allowed(self, endpoint: Endpoint) -> Response:
        """405 for a known auth path called with the wrong method."""
        allow = "GET, HEAD" if endpoint.method == "GET" else endpoint.method
        return _json_response(405, {"error": "method_not_allowed"}, headers=[("Allow", allow)])

    # -- pure pieces --------------------------------------------------------

    def read_token(self, request: Request) -> Credential | None:
        """See :func:`read_token`."""
        return read_token(request, self.config)

    def error_response(self, exc: AuthError) -> Response:
        """See :func:`error_response`."""
        return error_response(exc, self.config)

    def challenge(self, result: AuthResult) -> Response:
        """The answer for a guarded route that got no session."""
        try:
            result.required()
        except AuthError as exc:
            return self.error_response(exc)
        raise ConfigurationError("challenge() called for an authenticated request")

    # -- drivers --------------------------------------------------------------

    async def resolve(self, request: Request) -> AuthResult:
        """Authenticate leniently (async service): never raises :class:`AuthError`."""
        return await _drive(self._resolve_flow(request))

    def resolve_sync(self, request: Request) -> AuthResult:
        """Authenticate leniently (blocking service): never raises :class:`AuthError`."""
        return _drive_sync(self._resolve_flow(request))

    async def authenticate(self, request: Request) -> SessionInfo:
        """The request's session (async service).

        Raises:
            AuthenticationRequired, InvalidToken, ExpiredToken, SessionRevoked,
            SessionExpired, CsrfRejected, StoreUnavailable.
        """
        return (await self.resolve(request)).required()

    def authenticate_sync(self, request: Request) -> SessionInfo:
        """The request's session (blocking service); raises as :meth:`authenticate`."""
        return self.resolve_sync(request).required()

    async def handle(self, endpoint: Endpoint | str, request: Request) -> Response:
        """Answer an auth route (async service).

        Every :class:`AuthError` on the way becomes its response (a store
        outage: 503). Other exceptions, such as a failing ``get_user``,
        propagate for the framework to answer 500: never a 200.

        Raises:
            ConfigurationError: ``endpoint`` is not one of :attr:`endpoints`.
        """
        return await _drive(self._endpoint_flow(endpoint, request))

    def handle_sync(self, endpoint: Endpoint | str, request: Request) -> Response:
        """Answer an auth route (blocking service); see :meth:`handle`."""
        return _drive_sync(self._endpoint_flow(endpoint, request))

    # -- flows -------------------------------------------------------------------

    def _endpoint_flow(self, endpoint: Endpoint | str, request: Request) -> _Flow[Response]:
        name = endpoint if isinstance(endpoint, str) else endpoint.name
        known = self._endpoints.get(name)
        if known is None:
            raise ConfigurationError(f"unknown auth endpoint {name!r}")
        # HEAD is answered as GET: the HTTP server drops the content and keeps
        # Content-Length, which must be the GET answer's (RFC 9110 8.6).
        head = request.method == "HEAD" and known.method == "GET"
        if request.method != known.method and not head:
            return self.method_not_allowed(known).with_security_headers()
        flow: _Flow[Response] = getattr(self, f"_{name}_flow")(request)
        response = yield from flow
        # The module is a script, not a document: the page's own CSP governs it.
        return response if name == "passkeys_js" else response.with_security_headers()

    def _resolve_flow(self, request: Request) -> _Flow[AuthResult]:
        source = None
        try:
            credential = self.read_token(request)
            if credential is None:
                return AuthResult(None)
            source = credential.source
            session = yield _call(self.service.validate_session, credential.token)
        except AuthError as exc:
            if isinstance(exc, CsrfRejected):
                source = "cookie"
            logger.debug("request not authenticated: %s (%s)", exc.code, exc.reason)
            return AuthResult(None, exc, source)
        return AuthResult(session, None, source)

    def _login_flow(self, request: Request) -> _Flow[Response]:
        try:
            if self.config.accepts_cookie:
                check_login_origin(request, self.config)
            fields = self._form(request)
            login = fields.get(self.config.login_field)
            password = fields.get(self.config.password_field)
            if not isinstance(login, str) or not login or len(login) > _LOGIN_LIMIT:
                raise InvalidRequest("missing or oversized login")
            if not isinstance(password, str):
                raise InvalidRequest("missing password")
            if self.get_user is None:
                raise ConfigurationError("the login route needs get_user= (login -> user | None)")
            user = yield _call(self.get_user, login)
            tokens = yield _call(
                self.service.login,
                user,
                password,
                user_agent=request.user_agent,
                ip_address=self.client_ip(request),
                # The name as typed: known and unknown names are throttled alike.
                account=login,
            )
        except (PasswordPolicyError, InvalidPasswordHash) as exc:
            # A policy or stored-hash problem must not be told apart from a
            # wrong password: that would reveal that the account exists.
            if isinstance(exc, InvalidPasswordHash):
                # No traceback: the reason says it all, and nothing secret is in it.
                logger.error("login refused: stored hash is not Argon2id (%s)", exc.reason)  # noqa: TRY400
            return self.error_response(InvalidCredentials(exc.reason))
        except AuthError as exc:
            return self.error_response(exc)
        return self._tokens_response(tokens)

    def _refresh_flow(self, request: Request) -> _Flow[Response]:
        try:
            token, from_cookie = self._refresh_token(request)
            if token is None:
                raise AuthenticationRequired("no refresh token")
            tokens = yield _call(
                self.service.refresh,
                token,
                user_agent=request.user_agent,
                ip_address=self.client_ip(request),
            )
        except AuthError as exc:
            return self._failure_clearing_cookies(exc, request)
        # A body token answers in the body only: set as cookies, it would let
        # a cross-site form sign the victim's browser in as the attacker.
        return self._tokens_response(tokens, cookies=from_cookie)

    def _logout_flow(self, request: Request) -> _Flow[Response]:
        try:
            result: AuthResult = yield from self._resolve_flow(request)
            session_id = result.session.session_id if result.session else None
            if session_id is None and (result.error is None or result.error.status == 401):
                # An expired access token must not keep a session alive: the
                # refresh token names it too (a bearer client sends it in the
                # body; the cookie reaches this route only if refresh_cookie_path
                # covers it, e.g. "/auth").
                refresh, _ = self._refresh_token(request)
                if refresh is not None:
                    tokens = yield _call(
                        self.service.refresh,
                        refresh,
                        user_agent=request.user_agent,
                        ip_address=self.client_ip(request),
                    )
                    session_id = tokens.session_id
            if session_id is None:
                raise result.error or AuthenticationRequired("no credentials")
            yield _call(
                self.service.logout,
                session_id,
                user_agent=request.user_agent,
                ip_address=self.client_ip(request),
            )
        except AuthError as exc:
            return self._failure_clearing_cookies(exc, request)
        clear = self.config.accepts_cookie and passes_csrf(request, self.config)
        return Response(
            204, (("Cache-Control", "no-store"),), clear_cookies(self.config) if clear else ()
        )

    # -- passkey flows ------------------------------------------------------------

    def _passkey_login_options_flow(self, request: Request) -> _Flow[Response]:
        try:
            if self.config.accepts_cookie:
                check_login_origin(request, self.config)
            # The body is read only to refuse a malformed one: a "login" in it
            # is ignored. Options for a named user would list that user's
            # credential ids (allowCredentials) and so tell who has passkeys.
            self._json(request)
            options = yield _call(self.service.passkey_login_options)
        except AuthError as exc:
            return self._passkey_failure(exc, "sign_in")
        return _json_response(200, options)

    def _passkey_login_flow(self, request: Request) -> _Flow[Response]:
        try:
            if self.config.accepts_cookie:
                check_login_origin(request, self.config)
            response = self._json(request)
            if not response:
                raise InvalidRequest("no passkey response in the body")
            tokens: AuthTokens = yield _call(
                self.service.login_with_passkey,
                response,
                user_agent=request.user_agent,
                ip_address=self.client_ip(request),
            )
            if self.get_user_name is not None:
                try:
                    names = yield _call(self.get_user_name, tokens.user_id)
                except Exception:
                    yield _call(self.service.logout, tokens.session_id)
                    raise
                if names is None:
                    # A passkey outliving its account signs nobody in.
                    yield _call(self.service.logout, tokens.session_id)
                    raise PasskeyVerificationFailed("the passkey's user is unknown to the app")
        except AuthError as exc:
            return self._passkey_failure(exc, "sign_in")
        return self._tokens_response(tokens)

    def _passkey_register_options_flow(self, request: Request) -> _Flow[Response]:
        try:
            session: SessionInfo = yield from self._session_flow(request)
            fields = self._json(request)
            if self.get_user_name is not None:
                found = yield _call(self.get_user_name, session.user_id)
                if found is None:
                    raise InvalidToken("the session's user is unknown to the app")
                name, display_name = _user_names(found)
            else:
                user_name = _text_field(fields, "user_name")
                if user_name is None:
                    raise InvalidRequest("missing user_name (or configure get_user_name)")
                name, display_name = user_name, _text_field(fields, "display_name")
            options = yield _call(
                self.service.register_passkey, session.user_id, name, display_name
            )
        except AuthError as exc:
            return self._passkey_failure(exc, "register")
        return _json_response(200, options)

    def _passkey_register_flow(self, request: Request) -> _Flow[Response]:
        try:
            session: SessionInfo = yield from self._session_flow(request)
            response = self._json(request)
            label = response.pop("label", None)
            if label is not None and not isinstance(label, str):
                raise InvalidRequest("label must be a string")
            if not response:
                raise InvalidRequest("no passkey response in the body")
            credential = yield _call(
                self.service.finish_passkey_registration,
                session.user_id,
                response,
                label=label or None,
                user_agent=request.user_agent,
                ip_address=self.client_ip(request),
            )
        except AuthError as exc:
            return self._passkey_failure(exc, "register")
        return _json_response(201, passkey_json(credential))

    def _passkeys_flow(self, request: Request) -> _Flow[Response]:
        try:
            session: SessionInfo = yield from self._session_flow(request)
            credentials = yield _call(self.service.list_passkeys, session.user_id)
        except AuthError as exc:
            return self._passkey_failure(exc, "manage")
        return _json_response(200, {"passkeys": [passkey_json(c) for c in credentials]})

    def _passkey_rename_flow(self, request: Request) -> _Flow[Response]:
        try:
            session: SessionInfo = yield from self._session_flow(request)
            fields = self._json(request)
            credential_id = _credential_id_field(fields)
            label = fields.get("label")
            if not isinstance(label, str):
                raise InvalidRequest("label must be a string")
            yield _call(self.service.rename_passkey, session.user_id, credential_id, label)
        except AuthError as exc:
            return self._passkey_failure(exc, "manage")
        return Response(204, (("Cache-Control", "no-store"),))

    def _passkey_delete_flow(self, request: Request) -> _Flow[Response]:
        try:
            session: SessionInfo = yield from self._session_flow(request)
            credential_id = _credential_id_field(self._json(request))
            yield _call(
                self.service.delete_passkey,
                session.user_id,
                credential_id,
                user_agent=request.user_agent,
                ip_address=self.client_ip(request),
            )
        except AuthError as exc:
            return self._passkey_failure(exc, "manage")
        return Response(204, (("Cache-Control", "no-store"),))

    def _passkeys_js_flow(self, request: Request) -> _Flow[Response]:
        yield from ()  # no calls: the module ships with the package
        body, etag = _javascript()
        headers = (
            ("Content-Type", "text/javascript; charset=utf-8"),
            ("Cache-Control", "no-cache"),  # revalidate: an upgrade changes it
            ("ETag", etag),
            ("X-Content-Type-Options", "nosniff"),
        )
        tags = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
        if etag in tags or "*" in tags:
            return Response(304, headers[1:3])
        return Response(200, headers, body=body)

    # -- flow helpers ----------------------------------------------------------

    def client_ip(self, request: Request) -> str | None:
        """The client's address: the peer, or ``X-Forwarded-For`` as far as
        ``config.trusted_proxies`` proxies vouch for it."""
        return client_ip(
            request.client_ip, request.headers.get("x-forwarded-for"), self.config.trusted_proxies
        )

    def _failure_clearing_cookies(self, exc: AuthError, request: Request) -> Response:
        """An error; a credential the server refused (401) is also deleted from
        the browser, if the request proved it is same-origin. Not on 403 nor on
        a cross-site or unproven request (another site must not sign users
        out), nor on 5xx (an outage does not make the cookies bad)."""
        response = self.error_response(exc)
        if (
            response.status == 401
            and self.config.accepts_cookie
            and passes_csrf(request, self.config)
        ):
            response = response.with_cookies(clear_cookies(self.config))
        return response

    def _session_flow(self, request: Request) -> _Flow[SessionInfo]:
        """The request's session, for the routes of a signed-in user.

        Raises:
            AuthError: as :meth:`AuthResult.required` (401, 403 for a
                cross-site cookie request, 503).
        """
        result: AuthResult = yield from self._resolve_flow(request)
        return result.required()

    def _passkey_failure(
        self, exc: AuthError, route: Literal["sign_in", "register", "manage"]
    ) -> Response:
        """The answer for a failed passkey route (docs/frameworks.md has the table).

        Sign-in: a malformed response (400 ``passkey_malformed``) or a
        challenge that is unknown, expired or used (400
        ``passkey_challenge_invalid``) are told apart, as both are decided
        before the credential is looked up; every other failure (unknown
        credential, another user's, bad signature, counter, user
        verification...) is 401 ``passkey_verification_failed``.
        Registration: 400 with the precise code, about the user's own
        authenticator. Management: a passkey that is not the user's is 404,
        the same as one that does not exist.
        """
        if not isinstance(exc, PasskeyError):
            return self.error_response(exc)
        if route == "sign_in":
            if isinstance(exc, MalformedPasskeyResponse | PasskeyChallengeError):
                return self.error_response(exc)
            logger.debug("passkey sign-in refused: %s (%s)", exc.code, exc.reason)
            return self.error_response(PasskeyVerificationFailed(exc.reason))
        status = 404 if route == "manage" and isinstance(exc, UnknownCredential) else 400
        logger.debug("passkey request refused: %s (%s)", exc.code, exc.reason)
        return _json_response(status, {"error": exc.code})

    def _tokens_response(self, tokens: AuthTokens, *, cookies: bool = True) -> Response:
        now = self._clock()
        payload: dict[str, Any] = {
            "user_id": tokens.user_id,
            "session_id": tokens.session_id,
            "expires_in": _max_age(tokens.access_expires_at, now),
            "refresh_expires_in": _max_age(tokens.refresh_expires_at, now),
        }
        if self.config.accepts_bearer:
            payload["token_type"] = "Bearer"  # noqa: S105 (RFC 6749 token type)
            payload["access_token"] = tokens.access_token
            payload["refresh_token"] = tokens.refresh_token
        response = _json_response(200, payload)
        if cookies and self.config.accepts_cookie:
            response = response.with_cookies(
                (
                    access_cookie(tokens, self.config, now=now),
                    refresh_cookie(tokens, self.config, now=now),
                )
            )
        return response

    def _refresh_token(self, request: Request) -> tuple[str | None, bool]:
        """(token, came from the cookie): from the body (bearer clients: the
        page must know it) or else from the refresh cookie (after the CSRF
        check). Only a cookie token may be answered with cookies.

        Raises:
            InvalidRequest: malformed body. CsrfRejected: cross-site cookie.
        """
        token = self._body_refresh_token(request)
        if token is not None:
            return token, False
        if self.config.accepts_cookie:
            cookie = request.cookies.get(self.config.refresh_cookie_name)
            if cookie:
                check_csrf(request, self.config)
                return cookie, True
        return None, False

    def _body_refresh_token(self, request: Request) -> str | None:
        if not self.config.accepts_bearer or not request.body:
            return None
        token = self._form(request).get("refresh_token")
        if token is None:
            return None
        if not isinstance(token, str) or not token:
            raise InvalidRequest("refresh_token must be a string")
        return token

    def _json(self, request: Request) -> dict[str, Any]:
        """The JSON object of a passkey route's body (``{}`` if empty).

        JSON only: no HTML form can send it cross-site without a CORS preflight.

        Raises:
            InvalidRequest: too large, not a JSON object.
        """
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.body and not (media == "application/json" or media.endswith("+json")):
            raise InvalidRequest(f"passkey routes take JSON, not {media[:60]!r}")
        return self._form(request)

    def _form(self, request: Request) -> dict[str, Any]:
        """The JSON object or url-encoded form of an auth route's body.

        Raises:
            InvalidRequest: too large, not an object, or another content type.
        """
        body = request.body
        if len(body) > self.config.max_body_bytes:
            raise BodyTooLarge("body too large")
        if not body:
            return {}
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            data = parse_json(body)
            if not isinstance(data, dict):
                raise InvalidRequest("body is not a JSON object")
            return data
        if media == "application/x-www-form-urlencoded":
            try:
                pairs = parse_qsl(
                    body.decode("utf-8"),
                    keep_blank_values=True,
                    strict_parsing=False,
                    errors="strict",  # %ED%B2%80 (a surrogate) is not text
                    max_num_fields=20,
                )
            except (UnicodeDecodeError, ValueError):
                raise InvalidRequest("form is not UTF-8 text") from None
            return dict(pairs)
        raise InvalidRequest(f"unsupported content type {media[:60]!r}")


def _text_field(fields: Mapping[str, Any], name: str) -> str | None:
    """A printable, non-blank text field of at most 320 characters; ``None``
    when absent or empty."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > _LOGIN_LIMIT
        or not value.isprintable()
    ):
        raise InvalidRequest(f"{name} must be printable text of 1 to {_LOGIN_LIMIT} characters")
    return value


def _user_names(found: object) -> tuple[str, str | None]:
    """``get_user_name``'s answer as (name, display name).

    Raises:
        ConfigurationError: not a non-blank str or a (str, str | None) pair.
    """
    name: object = found
    display: object = None
    if isinstance(found, tuple) and len(found) == 2:
        name, display = found
    if (
        not isinstance(name, str)
        or not name.strip()
        or not (display is None or isinstance(display, str))
    ):
        raise ConfigurationError("get_user_name must return a str, (str, str) or None")
    return name, display or None


def _credential_id_field(fields: Mapping[str, Any]) -> str:
    value = fields.get("id")
    if not isinstance(value, str) or not value or len(value) > _CREDENTIAL_ID_LIMIT:
        raise InvalidRequest("id must be a passkey's id")
    return value


@functools.cache
def _javascript() -> tuple[bytes, str]:
    """``passkeys.js`` and its ETag, read once."""
    body = javascript_source().encode("utf-8")
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _not_blocking(fn: Callable[..., Any], result: Any) -> None:
    close = getattr(result, "close", None)
    if callable(close):
        close()
    raise ConfigurationError(
        f"{getattr(fn, '__qualname__', fn)!r} is async: the blocking handlers need "
        "SyncAuthService and a plain get_user function"
    )


def _drive_sync(flow: _Flow[T]) -> T:
    """Run a flow with plain calls (SyncAuthService)."""
    try:
        call = next(flow)
        while True:
            try:
                result = call.fn(*call.args, **call.kwargs)
                if inspect.isawaitable(result):
                    _not_blocking(call.fn, result)
            except BaseException as exc:  # handed to the flow, which decides
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def _drive(flow: _Flow[T]) -> T:
    """Run a flow with ``await`` (AuthService; sync callables work too)."""
    try:
        call = next(flow)
        while True:
            try:
                result = call.fn(*call.args, **call.kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as exc:  # handed to the flow, which decides
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
