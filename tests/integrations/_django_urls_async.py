"""Django URLconf of the async test app: an async class-based view with the
mixin, async auth views (AuthService)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from secure_auth.integrations.django import LoginRequiredMixin, auth_urlpatterns, get_session


@method_decorator(csrf_exempt, name="dispatch")
class Me(LoginRequiredMixin, View):
    async def get(self, request: HttpRequest) -> JsonResponse:
        session = request.auth_session  # type: ignore[attr-defined]
        return JsonResponse(
            {
                "user_id": session.user_id,
                "session_id": session.session_id,
                "auth_method": session.auth_method,
            }
        )

    async def post(self, request: HttpRequest) -> JsonResponse:
        return await self.get(request)


async def maybe(request: HttpRequest) -> JsonResponse:
    session = get_session(request)
    return JsonResponse({"user_id": session.user_id if session else None})


urlpatterns = [
    path("", include(auth_urlpatterns(asynchronous=True))),
    path("me", Me.as_view()),
    path("maybe", maybe),
]
