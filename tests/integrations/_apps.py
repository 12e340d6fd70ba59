"""One small app per adapter, all with the same routes, and an HTTP client.

Every app has:

* the auth routes at ``/auth/login``, ``/auth/refresh``, ``/auth/logout``
  and the passkey routes (``/auth/passkey/...``, ``/auth/passkeys...``), with
  ``get_user_name`` wired in;
* ``GET`` and ``POST /me``: session required, answers
  ``{"user_id", "session_id", "auth_method"}``;
* ``GET /maybe``: session optional, answers ``{"user_id": ... or null}``;
* the adapter's security-headers helper on every route.

``build(name, env)`` is an async context manager yielding a :class:`Target`:
a client that talks HTTP to the app (in process through httpx's ASGI/WSGI
transports, or over loopback for aiohttp) and the app's own origin.

The client keeps cookies itself (honouring Path and Max-Age, ignoring
Secure), so every adapter sees exactly the same browser behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from secure_auth import AuthService, SyncAuthService
from secure_auth.web import WebConfig

ADAPTERS = [
    "starlette",
    "fastapi",
    "flask",
    "django-wsgi",
    "django-asgi",
    "aiohttp",
    "asgi",
    "wsgi",
]

# What each adapter's app needs installed (the extras of pyproject.toml).
NEEDS = {
    "starlette": ["starlette"],
    "fastapi": ["fastapi"],
    "flask": ["flask"],
    "django-wsgi": ["django"],
    "django-asgi": ["django"],
    "aiohttp": ["aiohttp"],
    "asgi": [],
    "wsgi": [],
}


def require(*modules: str) -> None:
    """Skip locally, fail under CI, when a framework is not installed."""
    from conftest import skip_or_fail

    for module in modules:
        if importlib.util.find_spec(module) is None:
            skip_or_fail(f"{module} is not installed (pip install -e '.[all,dev]')")


@dataclass
class Env:
    """What every app is built from."""

    keypair: tuple[bytes, bytes]
    clock: Callable[[], float]
    config: Any
    web: WebConfig
    users: dict[str, dict[str, str]]
    store: object

    def sync_service(self) -> SyncAuthService:
        return SyncAuthService(
            self.keypair[0], self.keypair[1], self.store, config=self.config, clock=self.clock
        )

    def async_service(self) -> AuthService:
        return AuthService(
            self.keypair[0], self.keypair[1], self.store, config=self.config, clock=self.clock
        )

    def get_user(self, login: str) -> dict[str, str] | None:
        return self.users.get(login)

    async def aget_user(self, login: str) -> dict[str, str] | None:
        await asyncio.sleep(0)
        return self.users.get(login)

    def get_user_name(self, user_id: str) -> str | None:
        """The passkey routes' hook: the login of a user id, ``None`` if unknown."""
        return next((login for login, u in self.users.items() if u["id"] == user_id), None)

    async def aget_user_name(self, user_id: str) -> str | None:
        await asyncio.sleep(0)
        return self.get_user_name(user_id)


def _me(session: Any) -> dict[str, Any]:
    return {
        "user_id": session.user_id,
        "session_id": session.session_id,
        "auth_method": session.auth_method,
    }


def _maybe(session: Any) -> dict[str, Any]:
    return {"user_id": session.user_id if session is not None else None}


# -- the client -------------------------------------------------------------------


@dataclass
class Target:
    send: Callable[[httpx.Request], Awaitable[httpx.Response]]
    base_url: str
    origin: str
    jar: dict[tuple[str, str], str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)
    sync: bool = False  # a WSGI app behind a blocking client

    def cookie_names(self) -> set[str]:
        return {name for name, _ in self.jar}

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        cookies: bool = True,
        bearer: str | None = None,
        chunks: list[bytes] | None = None,
    ) -> httpx.Response:
        """One request; ``chunks`` sends the body chunked, without Content-Length."""
        headers = dict(headers or {})
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        if cookies:
            sent = [f"{n}={v}" for (n, p), v in self.jar.items() if _path_matches(path, p)]
            if sent:
                headers["Cookie"] = "; ".join(sent)
        if json_body is not None:
            content = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        stream: Any = content
        if chunks is not None:
            stream = iter(chunks) if self.sync else _async_chunks(chunks)
        request = httpx.Request(method, self.base_url + path, headers=headers, content=stream)
        response = await self.send(request)
        self.set_cookies = response.headers.get_list("set-cookie")
        for header in self.set_cookies:
            self._store(header)
        return response

    def _store(self, header: str) -> None:
        pair, *attrs = [part.strip() for part in header.split(";")]
        name, _, value = pair.partition("=")
        attributes = {}
        for attr in attrs:
            key, _, val = attr.partition("=")
            attributes[key.lower()] = val
        cookie_path = attributes.get("path", "/")
        if attributes.get("max-age") == "0" or value in ("", '""'):
            self.jar.pop((name, cookie_path), None)
        else:
            self.jar[(name, cookie_path)] = value

    async def login(self, login: str = "alice", password: str = "wonderland") -> dict[str, Any]:
        response = await self.request(
            "POST",
            "/auth/login",
            json_body={"login": login, "password": password},
            headers={"Origin": self.origin},
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


async def _async_chunks(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _path_matches(request_path: str, cookie_path: str) -> bool:
    if request_path == cookie_path or cookie_path == "/":
        return True
    return request_path.startswith(cookie_path.rstrip("/") + "/")


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str]]:
    """(name, value, attributes with lower-case keys) of a Set-Cookie value."""
    pair, *attrs = [part.strip() for part in header.split(";")]
    name, _, value = pair.partition("=")
    attributes = {}
    for attr in attrs:
        key, _, val = attr.partition("=")
        attributes[key.lower()] = val
    return name, value, attributes


@contextlib.asynccontextmanager
async def _asgi_target(app: Any) -> AsyncIterator[Target]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport) as client:
        yield Target(client.send, "https://testserver", "https://testserver")


@contextlib.asynccontextmanager
async def _wsgi_target(app: Any) -> AsyncIterator[Target]:
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as client:

        async def send(request: httpx.Request) -> httpx.Response:
            response = client.send(request)
            response.read()
            return response

        yield Target(send, "https://testserver", "https://testserver", sync=True)


# -- the apps ---------------------------------------------------------------------


def _starlette(env: Env) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from secure_auth.integrations.starlette import SecureAuth

    auth = SecureAuth(
        env.async_service(),
        get_user=env.aget_user,
        get_user_name=env.aget_user_name,
        config=env.web,
    )

    async def me(request: Request) -> JSONResponse:
        assert request.user.is_authenticated  # the backend set request.user
        return JSONResponse(_me(request.state.auth_session))

    async def maybe(request: Request) -> JSONResponse:
        return JSONResponse(_maybe(await auth.optional_session(request)))

    app = Starlette(
        routes=[
            Route("/me", auth.login_required(me), methods=["GET", "POST"]),
            Route("/maybe", maybe),
        ],
        middleware=[auth.middleware(), auth.security_headers()],
    )
    auth.init_app(app)
    return app


def _fastapi(env: Env) -> Any:
    from fastapi import Depends, FastAPI

    from secure_auth import SessionInfo
    from secure_auth.integrations.starlette import SecureAuth, SecurityHeadersMiddleware

    auth = SecureAuth(
        env.async_service(),
        get_user=env.get_user,
        get_user_name=env.get_user_name,
        config=env.web,
    )
    app = FastAPI()
    app.add_middleware(SecurityHeadersMiddleware)
    auth.init_app(app)

    @app.api_route("/me", methods=["GET", "POST"])
    async def me(session: SessionInfo = Depends(auth.require_session)) -> dict[str, Any]:
        return _me(session)

    @app.get("/maybe")
    async def maybe(session: SessionInfo | None = Depends(auth.optional_session)) -> dict[str, Any]:
        return _maybe(session)

    return app


def _flask(env: Env) -> Any:
    from flask import Flask, g

    from secure_auth.integrations.flask import (
        SecureAuth,
        current_session,
        login_required,
        security_headers,
    )

    app = Flask(__name__)
    app.after_request(security_headers)
    SecureAuth(
        app,
        service=env.sync_service(),
        get_user=env.get_user,
        get_user_name=env.get_user_name,
        config=env.web,
    )

    @app.route("/me", methods=["GET", "POST"])
    @login_required
    def me() -> dict[str, Any]:
        return _me(g.auth_session)

    @app.get("/maybe")
    def maybe() -> dict[str, Any]:
        return _maybe(current_session())

    return app


def _django_settings() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-only",
            ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
            ROOT_URLCONF="_django_urls",
            MIDDLEWARE=[
                "secure_auth.integrations.django.SecurityHeadersMiddleware",
                "secure_auth.integrations.django.SecureAuthMiddleware",
            ],
            INSTALLED_APPS=[],
            USE_TZ=True,
        )
        django.setup()


@contextlib.asynccontextmanager
async def _django(env: Env, *, asynchronous: bool) -> AsyncIterator[Target]:
    _django_settings()
    from django.test import override_settings

    from secure_auth.integrations.django import SecureAuth

    auth = SecureAuth(
        env.sync_service(),
        async_service=env.async_service(),
        get_user=env.get_user,
        get_user_name=env.get_user_name,
        config=env.web,
    )
    urlconf = "_django_urls_async" if asynchronous else "_django_urls"
    with override_settings(SECURE_AUTH=auth, ROOT_URLCONF=urlconf):
        if asynchronous:
            from django.core.handlers.asgi import ASGIHandler

            async with _asgi_target(ASGIHandler()) as target:
                yield target
        else:
            from django.core.handlers.wsgi import WSGIHandler

            async with _wsgi_target(WSGIHandler()) as target:
                yield target


@contextlib.asynccontextmanager
async def _aiohttp(env: Env) -> AsyncIterator[Target]:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from secure_auth.integrations.aiohttp import SecureAuth, get_session, security_headers

    auth = SecureAuth(
        env.async_service(),
        get_user=env.aget_user,
        get_user_name=env.aget_user_name,
        config=env.web,
    )
    app = web.Application()
    auth.setup(app)
    app.on_response_prepare.append(security_headers)

    @auth.require_session
    async def me(request: web.Request) -> web.Response:
        return web.json_response(_me(request["auth_session"]))

    async def maybe(request: web.Request) -> web.Response:
        return web.json_response(_maybe(get_session(request)))

    app.router.add_route("GET", "/me", me)
    app.router.add_route("POST", "/me", me)
    app.router.add_get("/maybe", maybe)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = f"http://127.0.0.1:{server.port}"
    try:
        # Plain http over loopback: skip building a TLS context for every test.
        async with httpx.AsyncClient(verify=False, trust_env=False) as client:
            yield Target(client.send, base, base)
    finally:
        await server.close()


def _plain_asgi(env: Env) -> Any:
    from secure_auth.integrations.asgi import SecureAuthMiddleware, SecurityHeadersMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = scope["auth_session"]
        payload = _maybe(body) if scope["path"] == "/maybe" else _me(body)
        data = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": data})

    return SecurityHeadersMiddleware(
        SecureAuthMiddleware(
            app,
            env.async_service(),
            config=env.web,
            get_user=env.get_user,
            get_user_name=env.get_user_name,
            required=lambda path: path != "/maybe",
        )
    )


def _plain_wsgi(env: Env) -> Any:
    from secure_auth.integrations.wsgi import SecureAuthMiddleware, SecurityHeadersMiddleware

    def app(environ: Any, start_response: Any) -> list[bytes]:
        session = environ["secure_auth.session"]
        payload = _maybe(session) if environ["PATH_INFO"] == "/maybe" else _me(session)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]

    return SecurityHeadersMiddleware(
        SecureAuthMiddleware(
            app,
            env.sync_service(),
            config=env.web,
            get_user=env.get_user,
            get_user_name=env.get_user_name,
            required=lambda path: path != "/maybe",
        )
    )


@contextlib.asynccontextmanager
async def build(name: str, env: Env) -> AsyncIterator[Target]:
    if name == "starlette":
        ctx = _asgi_target(_starlette(env))
    elif name == "fastapi":
        ctx = _asgi_target(_fastapi(env))
    elif name == "flask":
        ctx = _wsgi_target(_flask(env))
    elif name == "django-wsgi":
        ctx = _django(env, asynchronous=False)
    elif name == "django-asgi":
        ctx = _django(env, asynchronous=True)
    elif name == "aiohttp":
        ctx = _aiohttp(env)
    elif name == "asgi":
        ctx = _asgi_target(_plain_asgi(env))
    elif name == "wsgi":
        ctx = _wsgi_target(_plain_wsgi(env))
    else:  # pragma: no cover
        raise ValueError(name)
    async with ctx as target:
        yield target
