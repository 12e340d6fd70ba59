"""aiohttp with secure-auth: login, refresh, logout and a protected route.

Run:  python examples/aiohttp_app.py
      (or: python -m aiohttp.web -H 127.0.0.1 -P 8080 aiohttp_app:init_app)
Try:  curl -s localhost:8080/auth/login -H 'Content-Type: application/json' \
           -d '{"login": "alice", "password": "wonderland"}'
      curl -s localhost:8080/me -H "Authorization: Bearer $ACCESS_TOKEN"

Keys come from JWT_PRIVATE_KEY / JWT_PUBLIC_KEY (paths) or .secure-auth/;
development keys are written there on first run.
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

from secure_auth import AuthService, SQLiteStore, write_keypair
from secure_auth.integrations.aiohttp import SecureAuth, get_session, security_headers

# The application's own users (secure-auth never touches them). "password" is
# the stored Argon2id hash of "wonderland", as hash_password() returns it.
ALICE_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$bLVBRVDS3qHjy9ZvHaGwog"
    "$VYheajYdL706pJ4zJfZ/U4VtbChwmLriXo+H7qEbpmA"
)
USERS = {"alice": {"id": "1", "password": ALICE_HASH}}


async def me(request: web.Request) -> web.Response:
    session = request["auth_session"]
    return web.json_response({"user_id": session.user_id, "session_id": session.session_id})


async def home(request: web.Request) -> web.Response:
    session = get_session(request)
    return web.json_response({"hello": session.user_id if session else "stranger"})


def init_app(argv: list[str] | None = None) -> web.Application:
    if not os.environ.get("JWT_PRIVATE_KEY") and not Path(".secure-auth/private.pem").exists():
        write_keypair(".secure-auth")  # development only: provision real keys in production
    service = AuthService(session_store=SQLiteStore(".secure-auth/sessions.db"))
    auth = SecureAuth(service, get_user=USERS.get)
    app = web.Application()
    auth.setup(app)  # middleware + POST /auth/login, /auth/refresh, /auth/logout
    # nosniff, X-Frame-Options/CSP frame-ancestors, Referrer-Policy, no-store
    app.on_response_prepare.append(security_headers)
    app.router.add_get("/me", auth.require_session(me))
    app.router.add_get("/", home)
    return app


if __name__ == "__main__":
    web.run_app(init_app(), host="127.0.0.1", port=8080)
