"""Django URLconf for test_adapter_details: a view that demands a session."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from secure_auth.integrations.django import get_session


def strict(request: HttpRequest) -> JsonResponse:
    session = get_session(request, required=True)
    return JsonResponse({"user_id": session.user_id if session else None})


urlpatterns = [path("strict", strict)]
