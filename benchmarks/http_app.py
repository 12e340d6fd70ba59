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

import base64
import json
import os
import sqlite3
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


def _session_ids(tokens_file: str) -> dict[str, str]:
    """token -> its ``sid`` claim, read without verification (for the bare reads)."""
    out = {}
    for token in Path(tokens_file).read_text().split():
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        out[token] = claims["sid"]
    return out


def bare_read(read: Callable[[str], Awaitable[object]], keys: dict[str, str]) -> Endpoint:
    """The store read of a protected request, alone: no verification at all."""

    async def endpoint(request: Request) -> Response:
        key = keys.get(request.headers.get("authorization", "")[7:])
        if key is None or await read(key) is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"user_id": "someone", "ok": True})

    return endpoint


def build() -> Starlette:
    keys = KeySet.load(Path(os.environ["SA_BENCH_KEYS"]))
    routes = [Route("/open", open_endpoint)]
    if sqlite := os.environ.get("SA_BENCH_SQLITE"):
        from secure_auth import SQLiteStore

        service = AuthService(keys=keys, session_store=SQLiteStore(sqlite))
        routes.append(Route("/sqlite", protect(service)))
        conn = sqlite3.connect(sqlite, check_same_thread=False)

        async def sqlite_read(session_id: str) -> object:
            return conn.execute(
                "SELECT * FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()

        ids = _session_ids(os.environ["SA_BENCH_SQLITE_TOKENS"])
        routes.append(Route("/sqlite-read", bare_read(sqlite_read, ids)))
    if url := os.environ.get("SA_BENCH_REDIS"):
        import redis.asyncio

        from secure_auth.stores.redis import AsyncRedisStore

        store = AsyncRedisStore.from_url(url, prefix=os.environ["SA_BENCH_REDIS_PREFIX"])
        routes.append(Route("/redis", protect(AuthService(keys=keys, session_store=store))))
        client = redis.asyncio.Redis.from_url(url)
        ids = _session_ids(os.environ["SA_BENCH_REDIS_TOKENS"])
        keyed = {token: store.session_key(sid) for token, sid in ids.items()}
        routes.append(Route("/redis-read", bare_read(client.get, keyed)))
    return Starlette(routes=routes)


app = build() if "SA_BENCH_KEYS" in os.environ else None
