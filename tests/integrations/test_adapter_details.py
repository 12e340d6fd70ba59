"""What one adapter offers beyond the shared suite: its idioms and wiring."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _apps import _django_settings, require

from conftest import CHEAP, Clock
from secure_auth import (
    AuthService,
    ConfigurationError,
    InvalidCredentials,
    MemoryStore,
    SyncAuthService,
)
from secure_auth.web import WebConfig


@pytest.fixture
def services(keypair: tuple[bytes, bytes], clock: Clock) -> Any:
    store = MemoryStore()

    class Services:
        sync = SyncAuthService(keypair[0], keypair[1], store, config=CHEAP, clock=clock)
        async_ = AuthService(keypair[0], keypair[1], store, config=CHEAP, clock=clock)

    return Services


async def _bearer(services: Any) -> str:
    users = {"alice": {"id": "u1", "password": services.sync.hash_password("pw")}}
    tokens = services.sync.login(users["alice"], "pw")
    return str(tokens.access_token)


# -- plain ASGI: WebSockets and mounting --------------------------------------------------


async def _ws_call(app: Any, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    scope = {"type": "websocket", "path": "/ws", "headers": headers, "scheme": "wss"}

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_cross_site_websocket_with_cookie_is_refused(services: Any) -> None:
    # Cross-site WebSocket hijacking: the browser attaches cookies to the handshake.
    from secure_auth.integrations.asgi import SecureAuthMiddleware

    token = await _bearer(services)
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["auth_session"])
        await send({"type": "websocket.accept"})

    app = SecureAuthMiddleware(inner, services.async_, required=True)
    cookie = (b"cookie", f"__Host-access_token={token}".encode())
    refused = await _ws_call(
        app, [(b"host", b"app.example"), (b"origin", b"https://evil.example"), cookie]
    )
    assert refused == [{"type": "websocket.close", "code": 1008}]
    assert seen == []
    accepted = await _ws_call(
        app, [(b"host", b"app.example"), (b"origin", b"https://app.example"), cookie]
    )
    assert accepted == [{"type": "websocket.accept"}]
    assert seen[0].user_id == "u1"


async def test_asgi_middleware_sees_paths_below_its_mount_point(services: Any) -> None:
    from secure_auth.integrations.asgi import SecureAuthMiddleware

    async def inner(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("the auth route must be answered by the middleware")

    app = SecureAuthMiddleware(inner, services.async_)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, root_path="/api"), base_url="https://t"
    ) as client:
        response = await client.post("/api/auth/refresh")
    assert response.status_code == 401


# -- framework idioms ---------------------------------------------------------------------


def test_flask_current_session_required_renders_the_error(services: Any) -> None:
    require("flask")
    from flask import Flask

    from secure_auth.integrations.flask import SecureAuth, current_session

    app = Flask(__name__)
    SecureAuth(app, service=services.sync)

    @app.get("/strict")
    def strict() -> dict[str, Any]:
        session = current_session(required=True)
        return {"user_id": session.user_id if session else None}

    client = app.test_client()
    response = client.get("/strict")
    assert response.status_code == 401
    assert response.json == {"error": "authentication_required"}


def test_flask_without_a_service_is_a_configuration_error() -> None:
    require("flask")
    from flask import Flask

    from secure_auth.integrations.flask import SecureAuth

    with pytest.raises(ConfigurationError):
        SecureAuth(Flask(__name__))


async def test_fastapi_renders_auth_errors_raised_by_routes(services: Any) -> None:
    require("fastapi")
    from fastapi import FastAPI

    from secure_auth.integrations.starlette import SecureAuth

    app = FastAPI()
    SecureAuth(services.async_).init_app(app, routes=False)

    @app.post("/change-password")
    async def change() -> None:
        raise InvalidCredentials("wrong current password")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://t"
    ) as client:
        response = await client.post("/change-password")
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_credentials"}
        assert (await client.post("/auth/login")).status_code == 404  # routes=False


async def test_aiohttp_renders_auth_errors_raised_by_handlers(services: Any) -> None:
    require("aiohttp")
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from secure_auth.integrations.aiohttp import SecureAuth, get_session

    app = web.Application()
    SecureAuth(services.async_).setup(app)

    async def strict(request: web.Request) -> web.Response:
        get_session(request, required=True)
        return web.json_response({})

    app.router.add_get("/strict", strict)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/strict")
        assert response.status == 401
        assert await response.json() == {"error": "authentication_required"}


# -- Django settings ---------------------------------------------------------------------


def _django() -> None:
    require("django")
    _django_settings()


def get_user(login: str) -> dict[str, str] | None:
    return None


def get_user_name(user_id: str) -> str | None:
    return None


def test_django_builds_both_faces_from_a_settings_dict(keypair: tuple[bytes, bytes]) -> None:
    _django()
    from django.test import override_settings

    from secure_auth.integrations.django import get_auth

    setting = {
        "PRIVATE_KEY": keypair[0],
        "PUBLIC_KEY": keypair[1],
        "STORE": "secure_auth.MemoryStore",
        "GET_USER": f"{__name__}.get_user",
        "GET_USER_NAME": f"{__name__}.get_user_name",
        "CONFIG": {"access_token_ttl": 60, "argon2_time_cost": 1, "argon2_memory_cost": 64},
        "WEB": {"transport": "cookie", "realm": "django"},
    }
    with override_settings(SECURE_AUTH=setting):
        auth = get_auth()
        assert get_auth() is auth  # built once
        assert isinstance(auth.web.service, SyncAuthService)
        assert auth.async_web is not None
        assert isinstance(auth.async_web.service, AuthService)
        assert auth.web.service.session_store is auth.async_web.service.session_store
        assert auth.web.service.config.access_token_ttl == 60
        assert auth.config == WebConfig(transport="cookie", realm="django")
        assert auth.web.get_user is get_user
        assert auth.web.get_user_name is get_user_name
        assert auth.async_web.get_user_name is not None  # run in a thread there
    with override_settings(SECURE_AUTH={**setting, "WEB": {"realm": "changed"}}):
        assert get_auth().config.realm == "changed"  # rebuilt on setting_changed


def test_django_refuses_unknown_settings(keypair: tuple[bytes, bytes]) -> None:
    _django()
    from django.test import override_settings

    from secure_auth.integrations.django import get_auth

    with override_settings(SECURE_AUTH={"PRIVATE_KEY": keypair[0], "STORES": "x"}):
        with pytest.raises(ConfigurationError, match="STORES"):
            get_auth()
    with override_settings(SECURE_AUTH=42):
        with pytest.raises(ConfigurationError):
            get_auth()


def test_django_get_session_required_is_rendered_by_the_middleware(services: Any) -> None:
    _django()
    from django.test import Client, override_settings

    from secure_auth.integrations.django import SecureAuth

    auth = SecureAuth(services.sync, config=WebConfig(realm="dj"))
    with override_settings(SECURE_AUTH=auth, ROOT_URLCONF="_django_urls_details"):
        response = Client().get("/strict")
    assert response.status_code == 401
    assert json.loads(response.content) == {"error": "authentication_required"}
    assert response["WWW-Authenticate"] == 'Bearer realm="dj"'


def test_django_sync_class_based_view_with_the_mixin(services: Any) -> None:
    _django()
    from django.test import Client, override_settings

    from secure_auth.integrations.django import SecureAuth

    token = services.sync.login(
        {"id": "u1", "password": services.sync.hash_password("pw")}, "pw"
    ).access_token
    with override_settings(
        SECURE_AUTH=SecureAuth(services.sync), ROOT_URLCONF="_django_urls_details"
    ):
        client = Client()
        assert client.get("/profile").status_code == 401
        response = client.get("/profile", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert json.loads(response.content) == {"user_id": "u1"}
