"""Django URLconf for test_adapter_details: a view demanding a session, a sync
class-based view with the mixin."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views import View

from secure_auth.integrations.django import LoginRequiredMixin, get_session


def strict(request: HttpRequest) -> JsonResponse:
    session = get_session(request, required=True)
    return JsonResponse({"user_id": session.user_id if session else None})


class Profile(LoginRequiredMixin, View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"user_id": request.auth_session.user_id})  # type: ignore[attr-defined]


urlpatterns = [path("strict", strict), path("profile", Profile.as_view())]
