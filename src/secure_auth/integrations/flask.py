"""Flask: an extension with ``init_app``, a ``login_required`` decorator, a blueprint.

Install with ``pip install 'secure-auth[flask]'``. ::

    auth = SecureAuth(service=SyncAuthService(...), get_user=find_user)
    app = Flask(__name__)
    auth.init_app(app)          # g.auth_session, error handler, /auth/* blueprint

    @app.get("/me")
    @login_required
    def me():
        return {"user_id": g.auth_session.user_id}

Before each request the extension authenticates and sets ``g.auth_session``
(the :class:`~secure_auth.SessionInfo` or ``None``). Every answer (status,
body, cookies, CSRF) comes from :mod:`secure_auth.web`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from . import missing_extra

try:
    from flask import Blueprint, Flask, current_app, g, request
    from flask import Response as FlaskResponse
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise missing_extra("flask", "Flask", "flask") from exc

from ..errors import AuthError, ConfigurationError
from ..models import SessionInfo
from ..sync import SyncAuthService
from ..web import (
    ROUTE_METHODS,
    AuthResult,
    Endpoint,
    GetUser,
    GetUserName,
    Response,
    WebAuth,
    WebConfig,
    missing_security_headers,
)
from .wsgi import read_body, request_from_environ

__all__ = ["SecureAuth", "current_session", "login_required", "security_headers", "to_flask"]

F = TypeVar("F", bound=Callable[..., Any])
EXTENSION_KEY = "secure_auth"
BLUEPRINT_NAME = "secure_auth"


def to_flask(response: Response) -> FlaskResponse:
    """A Flask response for a :class:`~secure_auth.web.Response`."""
    return FlaskResponse(response.body, status=response.status, headers=response.header_list())


def security_headers(response: FlaskResponse) -> FlaskResponse:
    """``app.after_request(security_headers)``: add the recommended security
    headers (:data:`~secure_auth.web.SECURITY_HEADERS`) a response lacks."""
    for name, value in missing_security_headers(response.headers.keys()):
        response.headers[name] = value
    return response


class SecureAuth:
    """The Flask extension.

    Args:
        app: a Flask app to initialise now (or call :meth:`init_app` later).
        service: a :class:`~secure_auth.SyncAuthService`.
        get_user: ``get_user(login) -> user | None`` (a plain function) for the
            login route; the user needs ``id`` and ``password`` (the hash).
        get_user_name: ``get_user_name(user_id) -> name | (name, display_name)
            | None`` (a plain function) for the passkey routes (see
            :class:`~secure_auth.web.WebAuth`).
        config: a :class:`~secure_auth.web.WebConfig`.

    Raises:
        ConfigurationError: from :meth:`init_app` when no service was given.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        service: SyncAuthService | None = None,
        get_user: GetUser | None = None,
        get_user_name: GetUserName | None = None,
        config: WebConfig | None = None,
    ) -> None:
        self._service = service
        self._get_user = get_user
        self._get_user_name = get_user_name
        self._config = config
        self.web: WebAuth | None = None
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        service: SyncAuthService | None = None,
        get_user: GetUser | None = None,
        get_user_name: GetUserName | None = None,
        config: WebConfig | None = None,
        routes: bool = True,
    ) -> None:
        """Install: authenticate before each request, render ``AuthError`` s,
        and (``routes=True``) register the auth blueprint at ``config.auth_path``.

        Raises:
            ConfigurationError: no service given here or to the constructor.
        """
        service = service or self._service
        if service is None:
            raise ConfigurationError("SecureAuth needs service=SyncAuthService(...)")
        self.web = WebAuth(
            service,
            config=config or self._config,
            get_user=get_user or self._get_user,
            get_user_name=get_user_name or self._get_user_name,
        )
        app.extensions[EXTENSION_KEY] = self
        app.before_request(self._before_request)
        app.register_error_handler(AuthError, self._render_error)
        if routes:
            app.register_blueprint(self.blueprint())

    def _auth(self) -> WebAuth:
        if self.web is None:
            raise ConfigurationError("call SecureAuth.init_app(app) first")
        return self.web

    def blueprint(self) -> Blueprint:
        """The auth routes (login, refresh, logout, the passkey routes)."""
        web = self._auth()
        bp = Blueprint(BLUEPRINT_NAME, __name__)
        for endpoint in web.endpoints:
            bp.add_url_rule(
                web.route_path(endpoint),
                endpoint.name,
                self._view(endpoint),
                methods=list(ROUTE_METHODS),
            )
        return bp

    def _view(self, endpoint: Endpoint) -> Callable[[], FlaskResponse]:
        def view() -> FlaskResponse:
            web = self._auth()
            body = read_body(request.environ, web.config.max_body_bytes)
            return to_flask(web.handle_sync(endpoint, request_from_environ(request.environ, body)))

        return view

    def _before_request(self) -> None:
        if request.blueprint == BLUEPRINT_NAME:
            return  # the auth routes read their own credentials
        self.resolve()

    def _render_error(self, exc: AuthError) -> FlaskResponse:
        return to_flask(self._auth().error_response(exc))

    def resolve(self) -> AuthResult:
        """Authenticate the current request once; sets ``g.auth_session``."""
        result = g.get("_secure_auth_result")
        if not isinstance(result, AuthResult):
            result = self._auth().resolve_sync(request_from_environ(request.environ))
            g._secure_auth_result = result
            g.auth_session = result.session
        return result

    def login_required(self, view: F) -> F:
        """Decorate a view: no session, no call (the error response instead)."""
        return _guard(view, lambda: self)


def _extension() -> SecureAuth:
    ext = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(ext, SecureAuth):
        raise ConfigurationError("secure-auth is not initialised: call SecureAuth.init_app(app)")
    return ext


def login_required(view: F) -> F:
    """Decorate a view with the current app's :meth:`SecureAuth.login_required`."""
    return _guard(view, _extension)


def _guard(view: F, extension: Callable[[], SecureAuth]) -> F:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        ext = extension()
        result = ext.resolve()
        if result.session is None:
            return to_flask(ext._auth().challenge(result))
        return view(*args, **kwargs)

    return cast(F, guarded)


def current_session(*, required: bool = False) -> SessionInfo | None:
    """The current request's session (``None`` if anonymous).

    Raises:
        AuthError: with ``required=True`` and no session (rendered by the
            extension's error handler); StoreUnavailable on an outage.
    """
    result = _extension().resolve()
    return result.required() if required else result.optional()
