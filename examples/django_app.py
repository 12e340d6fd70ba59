"""Django with secure-auth, in one file: login, refresh, logout, a protected view.

Run:  uvicorn django_app:application --app-dir examples   (ASGI)
      or: python examples/django_app.py runserver             (WSGI, development)
Try:  curl -s localhost:8000/auth/login -H 'Content-Type: application/json' \
           -d '{"login": "alice", "password": "wonderland"}'
      curl -s localhost:8000/me -H "Authorization: Bearer $ACCESS_TOKEN"

Keys come from JWT_PRIVATE_KEY / JWT_PUBLIC_KEY (paths) or .secure-auth/;
development keys are written there on first run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from secure_auth import write_keypair
from secure_auth.integrations.django import login_required

if not os.environ.get("JWT_PRIVATE_KEY") and not Path(".secure-auth/private.pem").exists():
    write_keypair(".secure-auth")  # development only: provision real keys in production

# The application's own users (secure-auth never touches them). "password" is
# the stored Argon2id hash of "wonderland", as hash_password() returns it.
ALICE_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$bLVBRVDS3qHjy9ZvHaGwog"
    "$VYheajYdL706pJ4zJfZ/U4VtbChwmLriXo+H7qEbpmA"
)
USERS = {"alice": {"id": "1", "password": ALICE_HASH}}


def get_user(login: str) -> dict[str, str] | None:
    return USERS.get(login)  # e.g. User.objects.filter(email=login).first()


settings.configure(
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "development-only"),
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        # nosniff, X-Frame-Options/CSP frame-ancestors, Referrer-Policy, no-store
        "secure_auth.integrations.django.SecurityHeadersMiddleware",
        "secure_auth.integrations.django.SecureAuthMiddleware",
    ],
    SECURE_AUTH={"STORE": "secure_auth.MemoryStore", "GET_USER": f"{__name__}.get_user"},
)
django.setup()


@login_required
def me(request: HttpRequest) -> JsonResponse:
    session = request.auth_session  # type: ignore[attr-defined]
    return JsonResponse({"user_id": session.user_id, "session_id": session.session_id})


urlpatterns = [path("", include("secure_auth.integrations.django.urls")), path("me", me)]
application = get_asgi_application()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
