"""aiohttp: a middleware, a route table and a ``require_session`` decorator.

Install with ``pip install 'secure-auth[aiohttp]'``. ::

    auth = SecureAuth(service, get_user=find_user)
    app = web.Application()
    auth.setup(app)              # middleware + the auth routes (/auth/login, ...)

    @auth.require_session
    async def me(request):
        return web.json_response({"user_id": request["auth_session"].user_id})

The middleware sets ``request["auth_session"]`` (the
:class:`~secure_auth.SessionInfo` or ``None``) and renders any
:class:`~secure_auth.AuthError` a handler raises. Every answer (status, body,
cookies, CSRF) comes from :mod:`secure_auth.web`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from . import missing_extra

try:
    from aiohttp import web
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise missing_extra("aiohttp", "aiohttp", "aiohttp") from exc

from ..errors import AuthError
from ..models import SessionInfo
from ..service import AuthService
from ..web import (
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

__all__ = [
    "APP_KEY",
    "SESSION_KEY",
    "SecureAuth",
    "get_session",
    "security_headers",
    "to_aiohttp",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_KEY = "auth_session"
_RESULT_KEY = "secure_auth.result"


def to_aiohttp(response: Response) -> web.Response:
    """An aiohttp response for a :class:`~secure_auth.web.Response`."""
    return web.Response(body=response.body, status=response.status, headers=response.header_list())


async def _read_body(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _request(request: web.Request, body: bytes = b"") -> Request:
    return Request.build(
        request.method,
        request.headers.items(),
        scheme=request.scheme,
        host=request.host,
        path=request.path,
        body=body,
        client_ip=request.remote,
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``app.on_response_prepare.append(security_headers)``: add the
    recommended security headers (:data:`~secure_auth.web.SECURITY_HEADERS`)
    a response lacks, error pages included."""
    for name, value in missing_security_headers(response.headers.keys()):
        response.headers[name] = value


class SecureAuth:
    """secure-auth for one aiohttp application.

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

    def setup(self, app: web.Application, *, routes: bool = True) -> None:
        """Add the middleware and (``routes=True``) the auth routes."""
        app[APP_KEY] = self
        app.middlewares.append(self.middleware)
        if routes:
            app.add_routes(self.routes())

    def routes(self) -> list[web.RouteDef]:
        """The auth routes (login, refresh, logout, the passkey routes)."""
        return [
            web.route("*", self.web.route_path(e), self._handler(e), name=f"secure_auth_{e.name}")
            for e in self.web.endpoints
        ]

    def _handler(self, endpoint: Endpoint) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await _read_body(request, self.web.config.max_body_bytes)
            return to_aiohttp(await self.web.handle(endpoint, _request(request, body)))

        return handle

    async def resolve(self, request: web.Request) -> AuthResult:
        """Authenticate once per request; sets ``request["auth_session"]``."""
        result = request.get(_RESULT_KEY)
        if not isinstance(result, AuthResult):
            result = await self.web.resolve(_request(request))
            request[_RESULT_KEY] = result
            request[SESSION_KEY] = result.session
        return result

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Authenticate each request (auth routes excepted) and render ``AuthError`` s."""
        if self.web.match(request.path) is None:
            await self.resolve(request)
        try:
            return await handler(request)
        except AuthError as exc:
            return to_aiohttp(self.web.error_response(exc))

    def require_session(self, handler: Handler) -> Handler:
        """Decorate a handler: no session, no call (the error response instead)."""

        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            result = await self.resolve(request)
            if result.session is None:
                return to_aiohttp(self.web.challenge(result))
            return await handler(request)

        return guarded


APP_KEY = web.AppKey("secure_auth", SecureAuth)


def get_session(request: web.Request, *, required: bool = False) -> SessionInfo | None:
    """The session the middleware found (``None`` if anonymous).

    Raises:
        AuthError: with ``required=True`` and no session (the middleware
            renders it); StoreUnavailable on an outage.
    """
    result = request.get(_RESULT_KEY)
    if not isinstance(result, AuthResult):
        result = AuthResult(None)
    return result.required() if required else result.optional()
