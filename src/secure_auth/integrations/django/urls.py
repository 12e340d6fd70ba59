"""The auth routes: ``path("", include("secure_auth.integrations.django.urls"))``.

Sync views. For async views under ASGI, include
``auth_urlpatterns(asynchronous=True)`` instead.
"""

from __future__ import annotations

from . import auth_urlpatterns

urlpatterns = auth_urlpatterns()
