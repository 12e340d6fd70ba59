"""Starlette with secure-auth: login, refresh, logout and a protected route.

Run:  uvicorn starlette_app:app --app-dir examples
Try:  curl -s localhost:8000/auth/login -H 'Content-Type: application/json' \
           -d '{"login": "alice", "password": "wonderland"}'
      curl -s localhost:8000/me -H "Authorization: Bearer $ACCESS_TOKEN"

Keys come from JWT_PRIVATE_KEY / JWT_PUBLIC_KEY (paths) or .secure-auth/;
development keys are written there on first run.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from secure_auth import AuthService, SQLiteStore, write_keypair
from secure_auth.integrations.starlette import SecureAuth

if not os.environ.get("JWT_PRIVATE_KEY") and not Path(".secure-auth/private.pem").exists():
    write_keypair(".secure-auth")  # development only: provision real keys in production

# The application's own users (secure-auth never touches them). "password" is
# the stored Argon2id hash of "wonderland", as hash_password() returns it.
ALICE_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$bLVBRVDS3qHjy9ZvHaGwog"
    "$VYheajYdL706pJ4zJfZ/U4VtbChwmLriXo+H7qEbpmA"
)
USERS = {"alice": {"id": "1", "password": ALICE_HASH}}

auth = SecureAuth(
    AuthService(session_store=SQLiteStore(".secure-auth/sessions.db")), get_user=USERS.get
)


async def me(request: Request) -> JSONResponse:
    session = request.state.auth_session
    return JSONResponse({"user_id": session.user_id, "session_id": session.session_id})


async def home(request: Request) -> JSONResponse:
    session = await auth.optional_session(request)
    return JSONResponse({"hello": session.user_id if session else "stranger"})


app = Starlette(
    routes=[Route("/me", auth.login_required(me)), Route("/", home)],
    # nosniff, X-Frame-Options/CSP frame-ancestors, Referrer-Policy, no-store
    middleware=[auth.security_headers()],
)
auth.init_app(app)  # POST /auth/login, /auth/refresh, /auth/logout + error handler

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
