"""Django: middleware, a decorator, a class-based-view mixin, an URLconf.

Install with ``pip install 'secure-auth[django]'``. In ``settings.py``::

    MIDDLEWARE = [..., "secure_auth.integrations.django.SecureAuthMiddleware"]
    SECURE_AUTH = {
        "STORE": "myproject.auth.make_store",   # dotted path or object; default SQLite
        "GET_USER": "myproject.auth.get_user",  # login -> user | None
        "GET_USER_NAME": "myproject.auth.get_user_name",  # user id -> name | None (passkeys)
        "CONFIG": {"access_token_ttl": 600},     # AuthConfig or its keyword arguments
        "WEB": {"transport": "cookie"},          # WebConfig or its keyword arguments
        # "PRIVATE_KEY" / "PUBLIC_KEY": PEM text or paths; default JWT_PRIVATE_KEY
        # / JWT_PUBLIC_KEY or .secure-auth/ (KeySet.load)
        # "ASYNC_STORE": an async store for async views (default: STORE)
    }
    # or: SECURE_AUTH = "myproject.auth.build"  (a factory returning SecureAuth)

and in ``urls.py``: ``path("", include("secure_auth.integrations.django.urls"))``.

Every request then has ``request.auth_session`` (the
:class:`~secure_auth.SessionInfo` or ``None``); guard views with
:func:`login_required` or :class:`LoginRequiredMixin`. Sync views and the
sync middleware use :class:`~secure_auth.SyncAuthService`; async views and
the async middleware (under ASGI) use :class:`~secure_auth.AuthService`.
Every answer (status, body, cookies, CSRF) comes from :mod:`secure_auth.web`.

The auth routes check ``Origin`` themselves and are exempt from Django's
CSRF middleware, which would otherwise refuse bearer clients.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

from .. import missing_extra

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
    from django.conf import settings
    from django.core.signals import setting_changed
    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern, path
    from django.utils.module_loading import import_string
    from django.views.decorators.csrf import csrf_exempt
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise missing_extra("django", "Django", "django") from exc

from ...config import AuthConfig
from ...errors import AuthError, ConfigurationError
from ...keys import KeySet
from ...models import SessionInfo
from ...service import AuthService
from ...stores.sqlite import SQLiteStore
from ...sync import SyncAuthService
from ...web import (
    AuthResult,
    Endpoint,
    GetUser,
    GetUserName,
    Request,
    Response,
    WebAuth,
    WebConfig,
    missing_security_headers,
)
from ..wsgi import read_body as read_wsgi_body

__all__ = [
    "LoginRequiredMixin",
    "SecureAuth",
    "SecureAuthMiddleware",
    "SecurityHeadersMiddleware",
    "auth_urlpatterns",
    "get_auth",
    "get_session",
    "login_required",
    "to_django",
]

V = TypeVar("V", bound=Callable[..., Any])
_RESULT_ATTR = "_secure_auth_result"


class SecureAuth:
    """secure-auth for one Django project: both faces and the web settings.

    Args:
        service: a :class:`~secure_auth.SyncAuthService` (sync views and middleware).
        async_service: an :class:`~secure_auth.AuthService` for async views and
            the async middleware; ``None`` = run the sync one in a thread.
        get_user: ``get_user(login) -> user | None``; a plain function (e.g. an
            ORM query) is run through ``sync_to_async`` on the async path.
        get_user_name: ``get_user_name(user_id) -> name | (name, display_name)
            | None`` for the passkey routes (see :class:`~secure_auth.web.WebAuth`);
            a plain function is run through ``sync_to_async`` on the async path.
        config: a :class:`~secure_auth.web.WebConfig`.
    """

    def __init__(
        self,
        service: SyncAuthService,
        *,
        async_service: AuthService | None = None,
        get_user: GetUser | None = None,
        get_user_name: GetUserName | None = None,
        config: WebConfig | None = None,
    ) -> None:
        self.web = WebAuth(service, config=config, get_user=get_user, get_user_name=get_user_name)
        self.async_web: WebAuth | None = None
        if async_service is not None:
            self.async_web = WebAuth(
                async_service,
                config=config,
                get_user=_awaitable(get_user),
                get_user_name=_awaitable(get_user_name),
            )

    @property
    def config(self) -> WebConfig:
        return self.web.config

    def resolve(self, request: HttpRequest) -> AuthResult:
        """Authenticate once per request (blocking); sets ``request.auth_session``."""
        result = getattr(request, _RESULT_ATTR, None)
        if not isinstance(result, AuthResult):
            result = self.web.resolve_sync(_request(request))
            _attach(request, result)
        return result

    async def aresolve(self, request: HttpRequest) -> AuthResult:
        """Authenticate once per request (async); sets ``request.auth_session``."""
        result = getattr(request, _RESULT_ATTR, None)
        if not isinstance(result, AuthResult):
            if self.async_web is not None:
                result = await self.async_web.resolve(_request(request))
            else:
                result = await sync_to_async(self.web.resolve_sync)(_request(request))
            _attach(request, result)
        return result

    def handle(self, endpoint: Endpoint, request: HttpRequest) -> HttpResponse:
        """Answer an auth route (blocking)."""
        body = _read_body(request, self.config.max_body_bytes)
        return to_django(self.web.handle_sync(endpoint, _request(request, body)))

    async def ahandle(self, endpoint: Endpoint, request: HttpRequest) -> HttpResponse:
        """Answer an auth route (async)."""
        web_request = _request(request, _read_body(request, self.config.max_body_bytes))
        if self.async_web is not None:
            response = await self.async_web.handle(endpoint, web_request)
        else:
            response = await sync_to_async(self.web.handle_sync)(endpoint, web_request)
        return to_django(response)


def _awaitable(lookup: Callable[[str], Any] | None) -> Callable[[str], Any] | None:
    """A plain lookup (an ORM query) runs in a thread on the async path."""
    if lookup is None or iscoroutinefunction(lookup):
        return lookup
    return sync_to_async(lookup)


# -- settings ------------------------------------------------------------------

_lock = threading.Lock()
_auth: SecureAuth | None = None


def get_auth() -> SecureAuth:
    """The project's :class:`SecureAuth`, built once from ``settings.SECURE_AUTH``.

    Rebuilt when the setting changes (``override_settings`` in tests).

    Raises:
        ConfigurationError: the setting is missing or malformed.
    """
    global _auth
    with _lock:
        if _auth is None:
            _auth = _from_settings(getattr(settings, "SECURE_AUTH", None))
        return _auth


def _reset(*, setting: str, **_: Any) -> None:
    global _auth
    if setting == "SECURE_AUTH":
        with _lock:
            _auth = None


setting_changed.connect(_reset, dispatch_uid="secure_auth.integrations.django")


def _load(value: Any) -> Any:
    """A dotted path is imported (and called if it is a function or class)."""
    if isinstance(value, str):
        value = import_string(value)
        if callable(value):
            value = value()
    return value


def _from_settings(value: Any) -> SecureAuth:
    if isinstance(value, str):
        value = import_string(value)
        value = value() if callable(value) else value
    if isinstance(value, SecureAuth):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            "settings.SECURE_AUTH must be a dict, a SecureAuth, or a dotted path to a "
            "factory returning one"
        )
    unknown = set(value) - {
        "PRIVATE_KEY",
        "PUBLIC_KEY",
        "STORE",
        "ASYNC_STORE",
        "CONFIG",
        "WEB",
        "GET_USER",
        "GET_USER_NAME",
    }
    if unknown:
        raise ConfigurationError(f"unknown SECURE_AUTH keys: {', '.join(sorted(unknown))}")
    private_key = value.get("PRIVATE_KEY")
    keys = (
        KeySet.from_pem(private_key, value.get("PUBLIC_KEY"))
        if private_key is not None
        else KeySet.load()
    )
    config = value.get("CONFIG")
    if isinstance(config, Mapping):
        config = AuthConfig(**config)
    web_config = value.get("WEB")
    if isinstance(web_config, Mapping):
        web_config = WebConfig(**web_config)
    store = _load(value.get("STORE")) or SQLiteStore()
    async_store = _load(value.get("ASYNC_STORE")) or store
    get_user = value.get("GET_USER")
    if isinstance(get_user, str):
        get_user = import_string(get_user)
    get_user_name = value.get("GET_USER_NAME")
    if isinstance(get_user_name, str):
        get_user_name = import_string(get_user_name)
    return SecureAuth(
        SyncAuthService(keys=keys, session_store=store, config=config),
        async_service=AuthService(keys=keys, session_store=async_store, config=config),
        get_user=get_user,
        get_user_name=get_user_name,
        config=web_config,
    )


# -- translation ---------------------------------------------------------------


def _request(request: HttpRequest, body: bytes = b"") -> Request:
    return Request.build(
        request.method or "GET",
        request.headers.items(),
        scheme=request.scheme or "http",
        host=request.get_host(),
        path=request.path_info,
        body=body,
        client_ip=request.META.get("REMOTE_ADDR") or None,
    )


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the body, counted as read (413 past the limit).

    A chunked body under WSGI has no ``CONTENT_LENGTH``, which Django reads
    as empty: it is read from the server's (decoded) input instead.
    """
    meta = request.META
    if "wsgi.input" in meta and not meta.get("CONTENT_LENGTH"):
        return read_wsgi_body(meta, limit)
    body: bytes = request.read(limit + 1)
    return body


def _attach(request: HttpRequest, result: AuthResult) -> None:
    setattr(request, _RESULT_ATTR, result)
    request.auth_session = result.session


def to_django(response: Response) -> HttpResponse:
    """A Django response for a :class:`~secure_auth.web.Response`; cookies go
    through ``set_cookie`` with the attributes decided in :mod:`secure_auth.web`."""
    result = HttpResponse(response.body, status=response.status)
    if response.content_type is None:
        del result["Content-Type"]
    for name, value in response.headers:
        result[name] = value
    for cookie in response.cookies:
        result.set_cookie(
            cookie.name,
            cookie.value,
            max_age=cookie.max_age,
            path=cookie.path,
            secure=cookie.secure,
            httponly=cookie.http_only,
            samesite=cookie.same_site,
        )
    return result


def get_session(request: HttpRequest, *, required: bool = False) -> SessionInfo | None:
    """The session the middleware found (``None`` if anonymous).

    Raises:
        AuthError: with ``required=True`` and no session; StoreUnavailable on
            an outage (also without ``required``).
    """
    result = getattr(request, _RESULT_ATTR, None)
    if not isinstance(result, AuthResult):
        result = get_auth().resolve(request)
    return result.required() if required else result.optional()


# -- middleware, decorator, mixin ----------------------------------------------


class SecureAuthMiddleware:
    """Sets ``request.auth_session`` on every request; sync and async capable.

    It never refuses a request itself: guarded views do, with the reason it
    recorded (so an outage is 503 there, and anonymous elsewhere). It also
    renders any :class:`~secure_auth.AuthError` a view raises.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._is_async:
            return self.__acall__(request)
        auth = get_auth()
        if auth.web.match(request.path_info) is None:
            auth.resolve(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        auth = get_auth()
        if auth.web.match(request.path_info) is None:
            await auth.aresolve(request)
        return await self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Render an :class:`~secure_auth.AuthError` a view raised (e.g. from
        ``get_session(request, required=True)``)."""
        if isinstance(exception, AuthError):
            return to_django(get_auth().web.error_response(exception))
        return None


class SecurityHeadersMiddleware:
    """``MIDDLEWARE = [..., "secure_auth.integrations.django.SecurityHeadersMiddleware"]``:
    every response gets the recommended security headers
    (:data:`~secure_auth.web.SECURITY_HEADERS`) it does not set itself.
    Sync and async capable."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._is_async:
            return self.__acall__(request)
        return _add_security_headers(self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> Any:
        return _add_security_headers(await self.get_response(request))


def _add_security_headers(response: HttpResponse) -> HttpResponse:
    for name, value in missing_security_headers(response.headers.keys()):
        response[name] = value
    return response


def login_required(view: V) -> V:
    """Decorate a sync or async view: no session, no call (the error response
    instead). The session is ``request.auth_session``."""
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def aguarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            auth = get_auth()
            result = await auth.aresolve(request)
            if result.session is None:
                return to_django(auth.web.challenge(result))
            return await view(request, *args, **kwargs)

        return cast(V, aguarded)

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        auth = get_auth()
        result = auth.resolve(request)
        if result.session is None:
            return to_django(auth.web.challenge(result))
        return view(request, *args, **kwargs)

    return cast(V, guarded)


class LoginRequiredMixin:
    """For class-based views (sync or async): refuse requests without a session.

    Put it first among the bases: ``class Me(LoginRequiredMixin, View)``.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        parent = cast(Any, super())
        if getattr(self, "view_is_async", False):
            return self._adispatch(parent, request, *args, **kwargs)
        auth = get_auth()
        result = auth.resolve(request)
        if result.session is None:
            return to_django(auth.web.challenge(result))
        return parent.dispatch(request, *args, **kwargs)

    async def _adispatch(self, parent: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        auth = get_auth()
        result = await auth.aresolve(request)
        if result.session is None:
            return to_django(auth.web.challenge(result))
        return await parent.dispatch(request, *args, **kwargs)


# -- URLconf -------------------------------------------------------------------


def auth_urlpatterns(*, asynchronous: bool = False) -> list[URLPattern]:
    """The auth routes at ``WEB["auth_path"]`` (login, refresh, logout, the
    passkey routes). ``asynchronous=True`` gives async views
    (:class:`~secure_auth.AuthService`), for projects served over ASGI.

    ``secure_auth.integrations.django.urls`` is ``auth_urlpatterns()``.
    """
    auth = get_auth()
    patterns = []
    for endpoint in auth.web.endpoints:
        view = _async_view(endpoint) if asynchronous else _sync_view(endpoint)
        route = auth.web.route_path(endpoint).lstrip("/")
        patterns.append(path(route, csrf_exempt(view), name=f"secure_auth_{endpoint.name}"))
    return patterns


def _sync_view(endpoint: Endpoint) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        return get_auth().handle(endpoint, request)

    return view


def _async_view(endpoint: Endpoint) -> Callable[[HttpRequest], Awaitable[HttpResponse]]:
    async def view(request: HttpRequest) -> HttpResponse:
        return await get_auth().ahandle(endpoint, request)

    return view
