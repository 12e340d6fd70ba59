"""Plain ASGI middleware, for any ASGI framework (Litestar, Quart, Falcon's ASGI app...).

Needs no extra. Wrap the application::

    from secure_auth.integrations.asgi import SecureAuthMiddleware

    app = SecureAuthMiddleware(app, service, get_user=find_user,
                               required=lambda path: path.startswith("/api/"))

Every HTTP and WebSocket request then carries the outcome:

* ``scope["auth_session"]`` and ``scope["state"]["auth_session"]`` (what
  ``request.state.auth_session`` reads in Starlette and Litestar): the
  :class:`~secure_auth.SessionInfo`, or ``None``;
* ``scope["secure_auth.result"]``: the :class:`~secure_auth.web.AuthResult`
  (why there is no session), for routes that decide themselves.

The middleware also answers the auth routes (``POST /auth/login``,
``/auth/refresh``, ``/auth/logout`` and the passkey routes by default) and,
where ``required`` says so, refuses requests without a session (401/403 as
:mod:`secure_auth.web` decides; a WebSocket is closed with code 1008). A store outage while checking
a presented credential is refused on every path (503; WebSocket code 1011):
this middleware cannot know which routes would have trusted the session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..service import AuthService
from ..web import (
    AuthResult,
    GetUser,
    GetUserName,
    Request,
    Response,
    WebAuth,
    WebConfig,
    missing_security_headers,
)

__all__ = [
    "RESULT_KEY",
    "SESSION_KEY",
    "SecureAuthMiddleware",
    "SecurityHeadersMiddleware",
    "get_result",
    "get_session",
    "read_body",
    "request_from_scope",
    "route_path",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_KEY = "auth_session"
RESULT_KEY = "secure_auth.result"


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (``path`` without ``root_path``)."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def request_from_scope(scope: Scope, body: bytes = b"") -> Request:
    """A :class:`~secure_auth.web.Request` from an ASGI ``http``/``websocket`` scope."""
    websocket = scope["type"] == "websocket"
    scheme = str(scope.get("scheme") or ("ws" if websocket else "http"))
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    client = scope.get("client")
    return Request.build(
        "WEBSOCKET" if websocket else str(scope.get("method", "GET")),
        scope.get("headers") or (),
        scheme=scheme,
        path=route_path(scope),
        body=body,
        client_ip=str(client[0]) if client else None,
    )


async def read_body(receive: Receive, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the request body (more is refused later, 413).

    Counts the bytes actually received, whatever ``Content-Length`` says or
    whether the body is chunked, and stops reading past the limit.
    """
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            break  # http.disconnect
        chunk = message.get("body", b"")[: limit + 1 - size]
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(send: Send, response: Response) -> None:
    """Send a :class:`~secure_auth.web.Response` as ``http.response.*`` messages."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.header_list()
    ]
    if response.status not in (204, 304):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def get_result(scope: Scope) -> AuthResult | None:
    """The :class:`~secure_auth.web.AuthResult` the middleware stored, if it ran."""
    result = scope.get(RESULT_KEY)
    return result if isinstance(result, AuthResult) else None


def get_session(scope: Scope) -> Any:
    """``scope["auth_session"]``: the :class:`~secure_auth.SessionInfo` or ``None``."""
    return scope.get(SESSION_KEY)


def store_result(scope: Scope, result: AuthResult) -> Scope:
    """A copy of ``scope`` carrying ``result`` under the documented keys."""
    scope = dict(scope)
    scope[RESULT_KEY] = result
    scope[SESSION_KEY] = result.session
    scope["state"] = {**scope.get("state", {}), SESSION_KEY: result.session}
    return scope


class SecurityHeadersMiddleware:
    """ASGI middleware: every HTTP response gets the
    :data:`~secure_auth.web.SECURITY_HEADERS` it does not set itself
    (``nosniff``, ``X-Frame-Options: DENY``, a CSP with ``frame-ancestors
    'none'``, ``Referrer-Policy: no-referrer``, ``Cache-Control: no-store``).

    For JSON APIs; HTML pages set their own ``Content-Security-Policy`` and
    ``Cache-Control`` (those win). The auth routes send the headers anyway.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = [bytes(name).decode("latin-1") for name, _ in headers]
                headers += [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in missing_security_headers(present)
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SecureAuthMiddleware:
    """ASGI middleware: authenticate, serve the auth routes, optionally guard.

    Args:
        app: the ASGI application to wrap.
        service: an :class:`~secure_auth.AuthService`.
        config: a :class:`~secure_auth.web.WebConfig`.
        get_user: ``get_user(login) -> user | None`` (sync or ``async``) for
            the login route.
        get_user_name: ``get_user_name(user_id) -> name | (name, display_name)
            | None`` (sync or ``async``) for the passkey routes (see
            :class:`~secure_auth.web.WebAuth`).
        required: ``True`` to refuse every request without a session (the
            auth routes excepted), or a predicate on the path.
        serve_routes: answer the auth routes at ``config.auth_path``.
    """

    def __init__(
        self,
        app: ASGIApp,
        service: AuthService,
        *,
        config: WebConfig | None = None,
        get_user: GetUser | None = None,
        get_user_name: GetUserName | None = None,
        required: bool | Callable[[str], bool] = False,
        serve_routes: bool = True,
    ) -> None:
        self.app = app
        self.auth = WebAuth(service, config=config, get_user=get_user, get_user_name=get_user_name)
        self.required = required
        self.serve_routes = serve_routes

    def _is_required(self, path: str) -> bool:
        return self.required(path) if callable(self.required) else self.required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        endpoint = self.auth.match(path) if self.serve_routes else None
        if endpoint is not None and scope["type"] == "http":
            body = await read_body(receive, self.auth.config.max_body_bytes)
            response = await self.auth.handle(endpoint, request_from_scope(scope, body))
            await send_response(send, response)
            return
        result = await self.auth.resolve(request_from_scope(scope))
        scope = store_result(scope, result)
        # Fail closed: with no framework guard to defer to, an outage refuses
        # the request everywhere instead of letting it pass as anonymous.
        if result.session is None and (result.outage or self._is_required(path)):
            if scope["type"] == "websocket":
                # 1011: server error (try again later); 1008: policy violation.
                await send({"type": "websocket.close", "code": 1011 if result.outage else 1008})
                return
            await send_response(send, self.auth.challenge(result))
            return
        await self.app(scope, receive, send)
