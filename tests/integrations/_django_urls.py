"""Django URLconf of the sync test app: function views with ``login_required``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from secure_auth.integrations.django import get_session, login_required


@csrf_exempt
@login_required
def me(request: HttpRequest) -> JsonResponse:
    session = request.auth_session  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "user_id": session.user_id,
            "session_id": session.session_id,
            "auth_method": session.auth_method,
        }
    )


def maybe(request: HttpRequest) -> JsonResponse:
    session = get_session(request)
    return JsonResponse({"user_id": session.user_id if session else None})


urlpatterns = [
    path("", include("secure_auth.integrations.django.urls")),
    path("me", me),
    path("maybe", maybe),
]
