"""The demo web app: server-rendered Starlette pages over secure-auth's public API.

Everything about tokens, cookies and cross-site checks comes from the library:

* :class:`~secure_auth.AuthService` signs people in (password or passkey) and
  keeps their sessions in :class:`~secure_auth.SQLiteStore`;
* :class:`~secure_auth.integrations.starlette.SecureAuth` authenticates each
  request (its middleware and :meth:`~SecureAuth.resolve`) and serves the
  JSON auth routes under ``/auth``: the pages' script renews the session at
  ``/auth/refresh`` and runs the passkey ceremonies against
  ``/auth/passkey/...`` with the ``/auth/passkeys.js`` module; sign-out runs
  the ``logout`` flow;
* :mod:`secure_auth.web` builds the cookies and refuses cross-site requests.

The demo itself owns only its users table (:mod:`.users`), its pages and the
words it shows (:mod:`.text`). docs/demo.md maps each feature to its code.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import parse_qsl

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from secure_auth import (
    AuthError,
    AuthService,
    AuthTokens,
    InvalidCredentials,
    KeySet,
    PasskeyError,
    PasswordPolicyError,
    SessionError,
    SessionInfo,
    SQLiteStore,
    Throttled,
)
from secure_auth.integrations.asgi import request_from_scope
from secure_auth.integrations.starlette import SecureAuth
from secure_auth.web import (
    CsrfRejected,
    SetCookie,
    WebConfig,
    access_cookie,
    check_login_origin,
    clear_cookies,
    passes_csrf,
    refresh_cookie,
)

from . import text
from .settings import DemoSettings
from .users import LoginTaken, User, UserStore, login_key, login_problem

__all__ = ["Demo", "create_app"]

logger = logging.getLogger("secure_auth.demo")

PASSWORD_MIN = text.PASSWORD_MIN
_BODY_LIMIT = 64 * 1024
_FORM_FIELD_LIMIT = 2048

# The pages' security headers. Scripts and styles come from this origin only
# (no inline code), so an injected tag could not run.
_SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        b"object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """Adds :data:`_SECURITY_HEADERS` to every response, and ``no-store`` to pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in names)
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ClientInfo(TypedDict):
    """What a session records about the device (shown on the account page)."""

    user_agent: str | None
    ip_address: str | None


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in request: the live session and its user."""

    session: SessionInfo
    user: User


def safe_next(value: object) -> str | None:
    """A local path to return to after signing in, or ``None`` (no open redirects)."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 200:
        return None
    if value.startswith(("//", "/\\")) or any(c in value for c in "\r\n\t"):
        return None
    return value


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:_FORM_FIELD_LIMIT] if isinstance(value, str) else ""


def _redirect(url: str, cookies: Iterable[SetCookie] = ()) -> Response:
    response = RedirectResponse(url, status_code=303)
    for cookie in cookies:
        response.headers.append("set-cookie", cookie.header_value())
    return response


class Demo:
    """The demo application: its users, the auth service and the pages.

    Args:
        settings: host, port, data folder; the AuthConfig follows from them.
        keys: the signing keys (``KeySet.load(settings.data_dir)`` by default).
    """

    def __init__(self, settings: DemoSettings, keys: KeySet | None = None) -> None:
        self.settings = settings
        self.users = UserStore(settings.database)
        self.store = SQLiteStore(settings.database)
        self.service = AuthService(
            keys=keys or KeySet.load(settings.data_dir),
            session_store=self.store,
            config=settings.auth_config(),
        )
        # Browser app on http://localhost: cookies only (tokens never reach
        # JavaScript), and no Secure attribute, which http cannot carry. The
        # refresh cookie goes to /auth/* only (the default): the refresh route,
        # the sign-out (which must end the session even when the access cookie
        # has expired) and the page that renews an expired access cookie.
        self.web_config = WebConfig(transport="cookie", secure=False)
        # get_user: the /auth/login route. get_user_name: the name a new passkey
        # carries (the login), and None for a deleted account, whose passkeys
        # then sign nobody in.
        self.auth = SecureAuth(
            self.service,
            get_user=self.users.by_login,
            get_user_name=self.users.login_of,
            config=self.web_config,
        )
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("secure_auth.demo", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.do"],
        )
        env.filters.update(
            ago=text.relative_time,
            exact=text.exact_time,
            date=text.exact_date,
            iso=text.iso_time,
            device=text.describe_device,
        )
        env.globals["data_dir"] = str(settings.data_dir)
        # For the pages' script: words for the error codes the /auth routes
        # answer, and where it renews an expired access cookie.
        env.globals["error_texts"] = text.ERRORS
        env.globals["refresh_url"] = self.auth.web.route_path(
            next(e for e in self.auth.web.endpoints if e.name == "refresh")
        )
        self.templates = Jinja2Templates(env=env)

    # -- plumbing ----------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/signup", self.signup_page, methods=["GET"]),
            Route("/signup", self.signup, methods=["POST"]),
            Route("/signin", self.signin_page, methods=["GET"]),
            Route("/signin", self.signin, methods=["POST"]),
            Route(f"{self.web_config.auth_path}/signout", self.signout, methods=["POST"]),
            Route("/account", self.account, methods=["GET"]),
            Route("/account/password", self.change_password, methods=["POST"]),
            Route("/account/sessions/revoke", self.revoke_session, methods=["POST"]),
            Route("/account/sessions/revoke-all", self.revoke_all, methods=["POST"]),
            # Forms, so they work without JavaScript (the library's JSON twins
            # under /auth/passkeys/ need it).
            Route("/account/passkeys/rename", self.passkey_rename, methods=["POST"]),
            Route("/account/passkeys/delete", self.passkey_delete, methods=["POST"]),
            # Under the refresh cookie's Path, so this page can see that cookie.
            Route(f"{self.web_config.refresh_path}/continue", self.refresh_page, methods=["GET"]),
            # The integration's JSON routes: /auth/login, /auth/refresh,
            # /auth/logout, /auth/passkey/... and /auth/passkeys.js.
            *self.auth.routes(),
            Mount("/static", StaticFiles(packages=[("secure_auth.demo", "static")])),
        ]

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self.users.open()
            yield
            await self.service.aclose()
            self.users.close()

        app = Starlette(
            routes=self.routes(),
            middleware=[Middleware(SecurityHeaders), self.auth.middleware()],
            exception_handlers={
                HTTPException: self.http_error,
                AuthError: self.auth_error,
            },
            lifespan=lifespan,
        )
        app.state.demo = self
        return app

    def page(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        visitor: Visitor | None = None,
    ) -> Response:
        values: dict[str, Any] = {
            "visitor": visitor,
            # Set by the integration's middleware: the nav of pages that do not
            # load the user (error pages) still knows whether one is signed in.
            "signed_in": visitor is not None or request.user.is_authenticated,
            "notice": text.notice(request.query_params.get("notice")),
            "passkeys_possible": self.settings.passkeys_possible,
            "password_min": PASSWORD_MIN,
            "errors": {},
            "form_error": None,
        }
        values.update(context or {})
        return self.templates.TemplateResponse(request, name, values, status_code=status)

    def error_page(self, request: Request, status: int, message: str) -> Response:
        titles = {
            400: "Request not understood",
            403: "Request refused",
            404: "Page not found",
            405: "Not allowed",
            413: "Too much data",
            503: "Try again soon",
        }
        return self.page(
            request,
            "error.html",
            {"title": titles.get(status, "Something went wrong"), "message": message},
            status=status,
        )

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {
            404: "There is no page at this address.",
            405: "This address does not accept that kind of request.",
            400: "The form could not be read. Please try again.",
            413: "The form sent too much data.",
        }.get(status, "Something went wrong. Please try again.")
        return self.error_page(request, status, message)

    async def auth_error(self, request: Request, exc: Exception) -> Response:
        """An AuthError nobody handled (a store outage, mostly): a page, not a trace."""
        if not isinstance(exc, AuthError):  # pragma: no cover - registered for AuthError
            raise exc
        logger.warning("request failed: %s (%s)", exc.code, exc.reason)
        return self.error_page(request, exc.status, text.error_text(exc))

    def signed_in(self, tokens: AuthTokens, target: str) -> Response:
        """Redirect to ``target`` with the session's two cookies: the access
        cookie (every path) and the refresh cookie (``/auth`` only)."""
        now = time.time()
        return _redirect(
            target,
            (
                access_cookie(tokens, self.web_config, now=now),
                refresh_cookie(tokens, self.web_config, now=now),
            ),
        )

    @staticmethod
    def client(request: Request) -> ClientInfo:
        """The device's User-Agent and address, for the session record."""
        agent = request.headers.get("user-agent")
        return ClientInfo(
            user_agent=agent[:512] if agent else None,
            ip_address=request.client.host if request.client else None,
        )

    async def form(self, request: Request) -> FormData:
        """The posted url-encoded form: at most 64 KiB *as read* (chunked or
        not; 413 past it), strict UTF-8 text (400), at most 20 fields."""
        length = request.headers.get("content-length") or "0"
        if not length.isdigit() or int(length) > _BODY_LIMIT:
            raise HTTPException(413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > _BODY_LIMIT:
                raise HTTPException(413)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if body and media != "application/x-www-form-urlencoded":
            raise HTTPException(400)
        try:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=20
            )
        except ValueError:  # not UTF-8 text (UnicodeDecodeError), or too many fields
            raise HTTPException(400) from None
        return FormData(list(pairs))

    async def visitor(self, request: Request) -> Visitor | AuthError | None:
        """The signed-in user, the reason there is none, or ``None`` (no cookie).

        The integration's ``resolve`` checks the token, the session in the
        store and, for a POST, that it comes from this site (CSRF).
        """
        result = await self.auth.resolve(request)
        if result.session is None:
            return result.error
        user = self.users.by_id(result.session.user_id)
        if user is None:  # the account is gone: so is the session
            await self.service.logout(result.session.session_id)
            return SessionError("user deleted")
        return Visitor(result.session, user)

    async def page_visitor(self, request: Request) -> Visitor | Response:
        """:meth:`visitor` for a page: a redirect or an error page if not signed in."""
        found = await self.visitor(request)
        if isinstance(found, Visitor):
            return found
        if isinstance(found, CsrfRejected):
            return self.error_page(request, 403, text.error_text(found))
        if isinstance(found, AuthError) and found.status >= 500:
            raise found
        back = request.url.path if request.method == "GET" else "/account"
        if isinstance(found, SessionError):
            # Revoked (signed out elsewhere) or expired: say so, forget the cookies.
            notice = "expired" if found.code == "session_expired" else "session_ended"
            return _redirect(f"/signin?notice={notice}", clear_cookies(self.web_config))
        # No cookie, or an access token that has expired: the refresh cookie
        # may still hold the session.
        return _redirect(
            f"{self.web_config.refresh_path}/continue?next={back}",
        )

    # -- anonymous pages ---------------------------------------------------------

    async def home(self, request: Request) -> Response:
        found = await self.visitor(request)
        if isinstance(found, Visitor):
            return _redirect("/account")
        return self.page(request, "home.html", {"title": "secure-auth demo"})

    async def signup_page(self, request: Request) -> Response:
        found = await self.visitor(request)
        if isinstance(found, Visitor):
            return _redirect("/account")
        return self.page(request, "signup.html", {"title": "Create an account", "login": ""})

    async def signup(self, request: Request) -> Response:
        form = await self.form(request)
        login, password = _field(form, "login").strip(), _field(form, "password")
        try:
            check_login_origin(request_from_scope(request.scope), self.web_config)
        except CsrfRejected as exc:
            return self.error_page(request, 403, text.error_text(exc))
        errors: dict[str, str] = {}
        if problem := login_problem(login):
            errors["login"] = problem
        elif self.users.by_login(login) is not None:
            errors["login"] = "That login is taken. Choose another one, or sign in."
        if len(password) < PASSWORD_MIN:
            errors["password"] = f"Use at least {PASSWORD_MIN} characters for your password."
        elif login and login_key(password) == login_key(login):
            errors["password"] = "Your password must be different from your login."
        user: User | None = None
        if not errors:
            try:
                record = await self.service.register_user({"login": login, "password": password})
                user = self.users.create(login, record["password"])
            except PasswordPolicyError as exc:
                errors["password"] = text.error_text(exc)
            except LoginTaken:
                errors["login"] = "That login is taken. Choose another one, or sign in."
        if user is None:
            return self.page(
                request,
                "signup.html",
                {"title": "Create an account", "login": login, "errors": errors},
                status=400,
            )
        tokens = await self.service.login(user, password, **self.client(request))
        return self.signed_in(tokens, "/account?notice=welcome")

    async def signin_page(self, request: Request) -> Response:
        found = await self.visitor(request)
        if isinstance(found, Visitor):
            return _redirect(safe_next(request.query_params.get("next")) or "/account")
        context = {
            "title": "Sign in",
            "login": "",
            "next": safe_next(request.query_params.get("next")) or "",
        }
        return self.page(request, "signin.html", context)

    async def signin(self, request: Request) -> Response:
        form = await self.form(request)
        login, password = _field(form, "login").strip(), _field(form, "password")
        target = safe_next(_field(form, "next")) or "/account"
        try:
            check_login_origin(request_from_scope(request.scope), self.web_config)
        except CsrfRejected as exc:
            return self.error_page(request, 403, text.error_text(exc))
        errors: dict[str, str] = {}
        if not login:
            errors["login"] = "Enter your login."
        if not password:
            errors["password"] = "Enter your password."
        form_error = None
        status = 401
        if not errors:
            # An unknown login still costs one hash (user=None): the answer
            # and its timing are the same as for a wrong password.
            user = self.users.by_login(login)
            try:
                tokens = await self.service.login(
                    user,
                    password,
                    update_password=self.users.set_password,
                    # Throttled per login as typed, known or not (docs/security.md).
                    account=login,
                    **self.client(request),
                )
            except (InvalidCredentials, PasswordPolicyError):
                form_error = text.error_text("invalid_credentials")
            except Throttled as exc:
                form_error = f"{text.error_text(exc)} (about {exc.retry_after} s)"
                status = 429
            else:
                return self.signed_in(tokens, target)
        context = {
            "title": "Sign in",
            "login": login,
            "next": target if target != "/account" else "",
            "errors": errors,
            "form_error": form_error,
        }
        return self.page(request, "signin.html", context, status=400 if errors else status)

    async def refresh_page(self, request: Request) -> Response:
        """The access cookie is gone or expired: renew it from the refresh
        cookie (by POST, from the page's script) or ask to sign in."""
        target = safe_next(request.query_params.get("next")) or "/account"
        if not request.cookies.get(self.web_config.refresh_cookie_name):
            return _redirect(f"/signin?notice=sign_in_needed&next={target}")
        return self.page(
            request, "refresh.html", {"title": "Checking your session", "next": target}
        )

    # -- signed-in pages -------------------------------------------------------

    async def account(self, request: Request) -> Response:
        visitor = await self.page_visitor(request)
        if isinstance(visitor, Response):
            return visitor
        return await self.account_page(request, visitor)

    async def account_page(
        self,
        request: Request,
        visitor: Visitor,
        *,
        status: int = 200,
        errors: Mapping[str, str] | None = None,
        passkey_error: tuple[str, str] | None = None,
    ) -> Response:
        sessions = await self.service.list_sessions(visitor.user.id)
        sessions.sort(key=lambda s: (s.session_id != visitor.session.session_id, -s.created_at))
        passkeys = await self.service.list_passkeys(visitor.user.id)
        return self.page(
            request,
            "account.html",
            {
                "title": "Your account",
                "sessions": sessions,
                "passkeys": passkeys,
                "errors": dict(errors or {}),
                "passkey_error": passkey_error,
            },
            status=status,
            visitor=visitor,
        )

    async def signout(self, request: Request) -> Response:
        """The form twin of the integration's ``POST /auth/logout``, run through
        the same flow: it ends the session named by the access cookie or, once
        that has expired, by the refresh cookie, and clears both cookies."""
        web_request = request_from_scope(request.scope)
        if not passes_csrf(web_request, self.web_config):
            # Another site's form: no session to end (Lax cookies stay home),
            # and its answer must not delete the user's cookies either.
            return self.error_page(request, 403, text.error_text("csrf_rejected"))
        answer = await self.auth.web.handle("logout", web_request)
        if answer.status == 403:
            return self.error_page(request, 403, text.error_text("csrf_rejected"))
        if answer.status >= 500:
            return self.error_page(request, answer.status, text.error_text("store_unavailable"))
        # 204: signed out; 401: there was no live session to end. Either way:
        return _redirect("/signin?notice=signed_out", clear_cookies(self.web_config))

    async def revoke_session(self, request: Request) -> Response:
        visitor = await self.page_visitor(request)
        if isinstance(visitor, Response):
            return visitor
        session_id = _field(await self.form(request), "session_id")
        mine = {s.session_id for s in await self.service.list_sessions(visitor.user.id)}
        if session_id == visitor.session.session_id:
            await self.service.logout(session_id)
            return _redirect("/signin?notice=signed_out", clear_cookies(self.web_config))
        if session_id in mine:  # only the user's own sessions
            await self.service.logout(session_id)
        return _redirect("/account?notice=session_revoked#sessions")

    async def revoke_all(self, request: Request) -> Response:
        visitor = await self.page_visitor(request)
        if isinstance(visitor, Response):
            return visitor
        await self.service.logout_all(visitor.user.id)
        return _redirect("/signin?notice=signed_out_everywhere", clear_cookies(self.web_config))

    async def change_password(self, request: Request) -> Response:
        visitor = await self.page_visitor(request)
        if isinstance(visitor, Response):
            return visitor
        form = await self.form(request)
        current, new = _field(form, "current_password"), _field(form, "new_password")
        errors: dict[str, str] = {}
        if not current:
            errors["current_password"] = "Enter your current password."
        if len(new) < PASSWORD_MIN:
            errors["new_password"] = f"Use at least {PASSWORD_MIN} characters for your password."
        elif login_key(new) == login_key(visitor.user.login):
            errors["new_password"] = "Your password must be different from your login."
        elif new == current:
            errors["new_password"] = "Choose a password different from your current one."
        if not errors:
            try:
                # Verifies the current password, stores the new hash through
                # our callback and signs out every other session.
                await self.service.change_password(
                    visitor.user,
                    current,
                    new,
                    self.users.set_password,
                    keep_session_id=visitor.session.session_id,
                )
            except InvalidCredentials:
                errors["current_password"] = text.error_text("wrong_current_password")
            except PasswordPolicyError as exc:
                errors["new_password"] = text.error_text(exc)
            else:
                return _redirect("/account?notice=password_changed#password")
        return await self.account_page(request, visitor, status=400, errors=errors)

    # -- passkeys ------------------------------------------------------------------
    # Adding a passkey and signing in with one are the integration's routes
    # (/auth/passkey/...), called by static/demo.js. Rename and delete stay
    # forms here: the account page works without JavaScript.

    async def passkey_rename(self, request: Request) -> Response:
        visitor = await self.page_visitor(request)
        if isinstance(visitor, Response):
            return visitor
        form = await self.form(request)
        credential_id, label = _field(form, "credential_id"), _field(form, "label").strip()
        try:
            await self.service.rename_passkey(visitor.user.id, credential_id, label)
        except PasskeyError as exc:
            return await self.account_page(
                request, visitor, status=400, passkey_error=(credential_id, text.error_text(exc))
            )
        return _redirect("/account?notice=passkey_renamed#passkeys")

    async def passkey_delete(self, request: Request) -> Response:
        visitor = await self.page_visitor(request)
        if isinstance(visitor, Response):
            return visitor
        credential_id = _field(await self.form(request), "credential_id")
        try:
            await self.service.delete_passkey(
                visitor.user.id, credential_id, **self.client(request)
            )
        except PasskeyError as exc:
            return await self.account_page(
                request, visitor, status=400, passkey_error=(credential_id, text.error_text(exc))
            )
        return _redirect("/account?notice=passkey_deleted#passkeys")


def create_app(settings: DemoSettings, keys: KeySet | None = None) -> Starlette:
    """The demo's ASGI application (keys must exist: :func:`secure_auth.demo.run`
    creates them on first run)."""
    return Demo(settings, keys).app()
