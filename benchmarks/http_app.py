"""The ASGI app goal 6 measures: one JSON endpoint, open and protected.

Served by uvicorn (one worker) from ``benchmarks/http.py``; configured by
environment variables so the server process needs no arguments:

* ``SA_BENCH_KEYS``: folder with ``private.pem``/``public.pem``;
* ``SA_BENCH_SQLITE``: SQLite file (``/sqlite`` is served when set);
* ``SA_BENCH_REDIS`` and ``SA_BENCH_REDIS_PREFIX`` (``/redis`` when set);
* ``SA_BENCH_DIRECT=1``: call ``validate_session`` directly instead of the
  Starlette integration (the default when the integration is missing).

``/open`` answers the same JSON as the protected routes, without auth.
``/sqlite-read`` and ``/redis-read`` do only the store read a protected
request needs (one bare driver call for the session of the bearer token,
no verification): the most a protected endpoint could reach with that store.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from secure_auth import AuthError, AuthService, KeySet

Endpoint = Callable[[Request], Awaitable[Response]]

try:
    from secure_auth.integrations.starlette import SecureAuth
except ImportError:
    SecureAuth = None  # type: ignore[assignment,misc]

DIRECT = os.environ.get("SA_BENCH_DIRECT") == "1" or SecureAuth is None
MODE = "validate_session called directly" if DIRECT else "secure_auth.integrations.starlette"


async def open_endpoint(request: Request) -> Response:
    return JSONResponse({"user_id": "anonymous", "ok": True})


async def me(request: Request) -> Response:
    return JSONResponse({"user_id": request.state.auth_session.user_id, "ok": True})


def protect(service: AuthService) -> Endpoint:
    if not DIRECT:
        return SecureAuth(service).login_required(me)

    async def direct(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            session = await service.validate_session(header[7:])
        except AuthError as exc:
            return JSONResponse({"error": exc.code}, status_code=exc.status)
        return JSONResponse({"user_id": session.user_id, "ok": True})

    return direct


def build() -> Starlette:
    keys = KeySet.load(Path(os.environ["SA_BENCH_KEYS"]))
    routes = [Route("/open", open_endpoint)]
    if sqlite := os.environ.get("SA_BENCH_SQLITE"):
        from secure_auth import SQLiteStore

        routes.append(
            Route("/sqlite", protect(AuthService(keys=keys, session_store=SQLiteStore(sqlite))))
        )
    if url := os.environ.get("SA_BENCH_REDIS"):
        from secure_auth.stores.redis import AsyncRedisStore

        store = AsyncRedisStore.from_url(url, prefix=os.environ["SA_BENCH_REDIS_PREFIX"])
        routes.append(Route("/redis", protect(AuthService(keys=keys, session_store=store))))
    return Starlette(routes=routes)


app = build() if "SA_BENCH_KEYS" in os.environ else None
