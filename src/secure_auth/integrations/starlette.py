"""Starlette and FastAPI: dependencies, an authentication backend, auth routes.

Install with ``pip install 'secure-auth[starlette]'`` (or ``[fastapi]``).

FastAPI::

    auth = SecureAuth(service, get_user=find_user)
    app = FastAPI()
    auth.init_app(app)          # error handler + the auth routes (/auth/login, ...)

    @app.get("/me")
    async def me(session: SessionInfo = Depends(auth.require_session)):
        return {"user_id": session.user_id}

Starlette::

    app = Starlette(routes=[Route("/me", auth.login_required(me)), *auth.routes()],
                    middleware=[auth.middleware()])   # optional: request.user
    auth.init_app(app, routes=False)

Every answer (status, body, cookies, CSRF) comes from :mod:`secure_auth.web`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from . import missing_extra

try:
    from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import HTTPConnection
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import Response as StarletteResponse
    from starlette.routing import BaseRoute, Route
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise missing_extra(
        "starlette", "Starlette", "starlette", also=" (FastAPI: 'secure-auth[fastapi]')"
    ) from exc

from ..errors import AuthError
from ..models import SessionInfo
from ..service import AuthService
from ..web import (
    ROUTE_METHODS,
    AuthResult,
    Endpoint,
    GetUser,
    GetUserName,
    Response,
    WebAuth,
    WebConfig,
)
from .asgi import (
    RESULT_KEY,
    SESSION_KEY,
    SecurityHeadersMiddleware,
    get_result,
    read_body,
    request_from_scope,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "SecureAuth",
    "SecureAuthBackend",
    "SecurityHeadersMiddleware",
    "SessionUser",
    "to_starlette",
]

Endpoint_ = Callable[[StarletteRequest], Awaitable[StarletteResponse]]


def to_starlette(response: Response) -> StarletteResponse:
    """A Starlette response for a :class:`~secure_auth.web.Response`."""
    result = StarletteResponse(content=response.body, status_code=response.status)
    for name, value in response.header_list():
        result.headers.append(name, value)
    return result


class SessionUser(BaseUser):
    """``request.user`` for an authenticated request (with :meth:`SecureAuth.middleware`)."""

    def __init__(self, session: SessionInfo) -> None:
        self.session = session

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.session.user_id

    @property
    def identity(self) -> str:
        return self.session.user_id


class SecureAuthBackend(AuthenticationBackend):
    """A Starlette authentication backend.

    Never refuses a request by itself: an unauthenticated request gets
    Starlette's ``UnauthenticatedUser`` and the reason stays on the scope,
    where :meth:`SecureAuth.require_session` and :meth:`SecureAuth.login_required`
    find it (so an outage still answers 503 there).
    """

    def __init__(self, auth: SecureAuth) -> None:
        self.auth = auth

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        result = await self.auth.resolve(conn)
        if result.session is None:
            return None
        return AuthCredentials(["authenticated"]), SessionUser(result.session)


class SecureAuth:
    """secure-auth for one Starlette or FastAPI application.

    Args:
        service: an :class:`~secure_auth.AuthService`.
        get_user: ``get_user(login) -> user | None`` (sync or ``async``) for
            the login route; the user needs ``id`` and ``password`` (the hash).
        get_user_name: ``get_user_name(user_id) -> name | (name, display_name)
            | None`` (sync or ``async``) for the passkey routes (see
            :class:`~secure_auth.web.WebAuth`).
        config: a :class:`~secure_auth.web.WebConfig`.
    """

    def __init__(
        self,
        service: AuthService,
        *,
        get_user: GetUser | None = None,
        get_user_name: GetUserName | None = None,
        config: WebConfig | None = None,
    ) -> None:
        self.web = WebAuth(service, config=config, get_user=get_user, get_user_name=get_user_name)

    @property
    def service(self) -> AuthService:
        service: AuthService = self.web.service
        return service

    @property
    def config(self) -> WebConfig:
        return self.web.config

    def init_app(self, app: Starlette, *, routes: bool = True) -> None:
        """Render every :class:`~secure_auth.AuthError` the app raises, and
        (``routes=True``) add the auth routes under ``config.auth_path``."""
        app.add_exception_handler(AuthError, self.exception_handler)
        if routes:
            app.router.routes.extend(self.routes())

    async def exception_handler(
        self, request: StarletteRequest, exc: Exception
    ) -> StarletteResponse:
        """The exception handler :meth:`init_app` installs for ``AuthError``."""
        if not isinstance(exc, AuthError):  # pragma: no cover - registered for AuthError only
            raise exc
        return to_starlette(self.web.error_response(exc))

    def routes(self) -> list[BaseRoute]:
        """The auth routes (login, refresh, logout, the passkey routes)."""
        return [
            Route(
                self.web.route_path(endpoint),
                self._endpoint(endpoint),
                methods=ROUTE_METHODS,
                name=f"secure_auth_{endpoint.name}",
                include_in_schema=False,
            )
            for endpoint in self.web.endpoints
        ]

    def _endpoint(self, endpoint: Endpoint) -> Endpoint_:
        async def handle(request: StarletteRequest) -> StarletteResponse:
            body = await read_body(request.receive, self.config.max_body_bytes)
            response = await self.web.handle(endpoint, request_from_scope(request.scope, body))
            return to_starlette(response)

        return handle

    def security_headers(self) -> Middleware:
        """Starlette middleware adding the recommended security headers
        (:data:`~secure_auth.web.SECURITY_HEADERS`) to every response that
        lacks them. FastAPI: ``app.add_middleware(SecurityHeadersMiddleware)``."""
        return Middleware(SecurityHeadersMiddleware)

    def middleware(self) -> Middleware:
        """Starlette's ``AuthenticationMiddleware`` with :class:`SecureAuthBackend`:
        ``request.user`` is a :class:`SessionUser` when signed in."""
        return Middleware(AuthenticationMiddleware, backend=SecureAuthBackend(self))

    async def resolve(self, conn: HTTPConnection) -> AuthResult:
        """Authenticate once per request; later calls reuse the stored result.

        The result is kept on the scope, the session also as
        ``request.state.auth_session``.
        """
        result = get_result(conn.scope)
        if result is None:
            result = await self.web.resolve(request_from_scope(conn.scope))
            conn.scope[RESULT_KEY] = result
            conn.scope[SESSION_KEY] = result.session
            conn.state.auth_session = result.session
        return result

    async def require_session(self, request: HTTPConnection) -> SessionInfo:
        """FastAPI dependency: the live session, or the error response.

        Raises:
            AuthError: no, bad, expired or revoked credentials (401), a
                cross-site cookie request (403), a store outage (503); the
                handler from :meth:`init_app` renders it.
        """
        return (await self.resolve(request)).required()

    async def optional_session(self, request: HTTPConnection) -> SessionInfo | None:
        """FastAPI dependency: the session, or ``None`` for an anonymous caller.

        Raises:
            StoreUnavailable: the store failed (503), never read as anonymous.
        """
        return (await self.resolve(request)).optional()

    def login_required(self, endpoint: Endpoint_) -> Endpoint_:
        """Decorate a Starlette endpoint: no session, no call (the error response
        instead). The session is ``request.state.auth_session``."""

        @functools.wraps(endpoint)
        async def guarded(request: StarletteRequest) -> StarletteResponse:
            result = await self.resolve(request)
            if result.session is None:
                return to_starlette(self.web.challenge(result))
            return await endpoint(request)

        return guarded
