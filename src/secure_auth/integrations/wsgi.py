"""Plain WSGI middleware, for any WSGI framework (Falcon, Bottle, Pyramid...).

Needs no extra. Wrap the application::

    from secure_auth.integrations.wsgi import SecureAuthMiddleware

    app = SecureAuthMiddleware(app, sync_service, get_user=find_user, required=True)

Every request then carries ``environ["secure_auth.session"]`` (the
:class:`~secure_auth.SessionInfo` or ``None``) and
``environ["secure_auth.result"]`` (the :class:`~secure_auth.web.AuthResult`).
The middleware answers the auth routes at ``config.auth_path`` and, where
``required`` says so, refuses requests without a session. A store outage
while checking a presented credential is refused (503) on every path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING

from ..sync import SyncAuthService
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

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "RESULT_KEY",
    "SESSION_KEY",
    "SecureAuthMiddleware",
    "SecurityHeadersMiddleware",
    "get_result",
    "read_body",
    "request_from_environ",
    "start_response_for",
]

SESSION_KEY = "secure_auth.session"
RESULT_KEY = "secure_auth.result"


def request_from_environ(environ: WSGIEnvironment, body: bytes = b"") -> Request:
    """A :class:`~secure_auth.web.Request` from a WSGI environ."""
    headers = [
        (key[5:].replace("_", "-"), value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    ]
    if environ.get("CONTENT_TYPE"):
        headers.append(("content-type", environ["CONTENT_TYPE"]))
    host = environ.get("HTTP_HOST")
    if not host:
        host = f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    return Request.build(
        environ.get("REQUEST_METHOD", "GET"),
        headers,
        scheme=environ.get("wsgi.url_scheme", "http"),
        host=host,
        path=environ.get("PATH_INFO", "") or "/",
        body=body,
        client_ip=environ.get("REMOTE_ADDR") or None,
    )


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the body (more is refused later, 413).

    With ``CONTENT_LENGTH``, reads up to it. Without (a chunked body), reads
    until the end of input when the server says the input ends there
    (``wsgi.input_terminated``, as Gunicorn and Werkzeug do) or the request
    is ``Transfer-Encoding: chunked`` (the server has decoded it). Either way
    only the bytes actually read are counted, and reading stops past the limit.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    raw_length = environ.get("CONTENT_LENGTH")
    if raw_length:
        try:
            length = int(raw_length)
        except ValueError:
            return b""
        want = min(length, limit + 1)
    elif (
        environ.get("wsgi.input_terminated")
        or "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    ):
        want = limit + 1
    else:
        return b""
    chunks: list[bytes] = []
    size = 0
    while size < want:
        chunk: bytes = stream.read(want - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def start_response_for(start_response: StartResponse, response: Response) -> list[bytes]:
    """Start a :class:`~secure_auth.web.Response`; return the body iterable."""
    status = f"{response.status} {HTTPStatus(response.status).phrase}"
    headers = response.header_list()
    if response.status not in (204, 304):
        headers.append(("Content-Length", str(len(response.body))))
    start_response(status, headers)
    return [response.body]


def get_result(environ: WSGIEnvironment) -> AuthResult | None:
    """The :class:`~secure_auth.web.AuthResult` the middleware stored, if it ran."""
    result = environ.get(RESULT_KEY)
    return result if isinstance(result, AuthResult) else None


class SecurityHeadersMiddleware:
    """WSGI middleware: every response gets the
    :data:`~secure_auth.web.SECURITY_HEADERS` it does not set itself (see
    :class:`secure_auth.integrations.asgi.SecurityHeadersMiddleware`)."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: tuple[type[BaseException], BaseException, TracebackType]
            | tuple[None, None, None]
            | None = None,
        ) -> Callable[[bytes], object]:
            headers = [*headers, *missing_security_headers(name for name, _ in headers)]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


class SecureAuthMiddleware:
    """WSGI middleware: authenticate, serve the auth routes, optionally guard.

    Args:
        app: the WSGI application to wrap.
        service: a :class:`~secure_auth.SyncAuthService`.
        config: a :class:`~secure_auth.web.WebConfig`.
        get_user: ``get_user(login) -> user | None`` (a plain function).
        get_user_name: ``get_user_name(user_id) -> name | (name, display_name)
            | None`` (a plain function) for the passkey routes (see
            :class:`~secure_auth.web.WebAuth`).
        required: ``True`` to refuse every request without a session (the
            auth routes excepted), or a predicate on the path.
        serve_routes: answer the auth routes at ``config.auth_path``.
    """

    def __init__(
        self,
        app: WSGIApplication,
        service: SyncAuthService,
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

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "") or "/"
        endpoint = self.auth.match(path) if self.serve_routes else None
        if endpoint is not None:
            body = read_body(environ, self.auth.config.max_body_bytes)
            response = self.auth.handle_sync(endpoint, request_from_environ(environ, body))
            return start_response_for(start_response, response)
        result = self.auth.resolve_sync(request_from_environ(environ))
        environ[RESULT_KEY] = result
        environ[SESSION_KEY] = result.session
        # Fail closed: an outage is refused on every path (see the asgi module).
        if result.session is None and (result.outage or self._is_required(path)):
            return start_response_for(start_response, self.auth.challenge(result))
        return self.app(environ, start_response)
