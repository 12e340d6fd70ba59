"""Flask with secure-auth: login, refresh, logout and a protected route.

Run:  flask --app examples/flask_app.py run
Try:  curl -s localhost:5000/auth/login -H 'Content-Type: application/json' \
           -d '{"login": "alice", "password": "wonderland"}'
      curl -s localhost:5000/me -H "Authorization: Bearer $ACCESS_TOKEN"

Keys come from JWT_PRIVATE_KEY / JWT_PUBLIC_KEY (paths) or .secure-auth/;
development keys are written there on first run.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, g

from secure_auth import SQLiteStore, SyncAuthService, write_keypair
from secure_auth.integrations.flask import (
    SecureAuth,
    current_session,
    login_required,
    security_headers,
)

if not os.environ.get("JWT_PRIVATE_KEY") and not Path(".secure-auth/private.pem").exists():
    write_keypair(".secure-auth")  # development only: provision real keys in production

service = SyncAuthService(session_store=SQLiteStore(".secure-auth/sessions.db"))

# The application's own users (secure-auth never touches them). "password" is
# the stored Argon2id hash of "wonderland", as hash_password() returns it.
ALICE_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$bLVBRVDS3qHjy9ZvHaGwog"
    "$VYheajYdL706pJ4zJfZ/U4VtbChwmLriXo+H7qEbpmA"
)
USERS = {"alice": {"id": "1", "password": ALICE_HASH}}

app = Flask(__name__)
# nosniff, X-Frame-Options/CSP frame-ancestors, Referrer-Policy, no-store
app.after_request(security_headers)
# g.auth_session on every request; POST /auth/login, /auth/refresh, /auth/logout
SecureAuth(app, service=service, get_user=USERS.get)


@app.get("/me")
@login_required
def me() -> dict[str, str]:
    return {"user_id": g.auth_session.user_id, "session_id": g.auth_session.session_id}


@app.get("/")
def home() -> dict[str, str]:
    session = current_session()
    return {"hello": session.user_id if session else "stranger"}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
