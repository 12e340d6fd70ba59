"""The one implementation of every operation, free of I/O.

Each public operation is a *flow*: a generator that computes with the pure
rules (tokens, sessions, passwords) and ``yield``s an effect whenever it
needs the outside world: a store call, a blocking Argon2 computation, or an
application callback. It receives the effect's result (or its exception)
back and goes on. :class:`~secure_auth.AuthService` drives flows with
``await``; :class:`~secure_auth.SyncAuthService` drives the same flows with
plain calls. So the sequence of every operation, and every decision in it,
exists once; the two faces differ only in how an effect is carried out.
(The httpx auth flows work the same way; see docs/architecture.md.)
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from ._passkey_flows import PasskeyFlows
from ._throttle_flows import ThrottleFlows
from .config import AuthConfig
from .errors import (
    AuthError,
    ConfigurationError,
    InvalidCredentials,
    InvalidPasswordHash,
    PasskeyError,
    RefreshReuseDetected,
    SessionError,
    SessionRevoked,
    StoreUnavailable,
    TokenError,
    UnsupportedByStore,
)
from .events import AuthEvent, EventHook, log_event
from .keys import KeySet, PrivateKeySource, PublicKeySource
from .models import AuthTokens, SessionInfo, SessionRecord, TokenClaims
from .passwords import PasswordHasher
from .sessions import (
    RefreshDecision,
    check_session,
    check_store_session_id,
    decide_refresh,
    new_session,
    token_expiries,
)
from .stores.memory import MemoryStore
from .stores.sqlite import SQLiteStore
from .throttle import login_scopes, refresh_scopes
from .tokens import ACCESS_TYPE, REFRESH_TYPE, TokenCodec

logger = logging.getLogger("secure_auth")

T = TypeVar("T")
StoreName = Literal["sessions", "challenges", "passkeys", "throttle"]


class StoreCall:
    """Effect: call ``method(*args)`` on one of the service's stores."""

    __slots__ = ("args", "method", "store")

    def __init__(self, store: StoreName, method: str, *args: Any) -> None:
        self.store = store
        self.method = method
        self.args = args


class Blocking:
    """Effect: CPU-heavy work (Argon2); the async face runs it in a thread."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn = fn
        self.args = args


class Callback:
    """Effect: call application code that may be sync or ``async``."""

    __slots__ = ("args", "fn", "swallow")

    def __init__(self, fn: Callable[..., Any], *args: Any, swallow: bool = False) -> None:
        self.fn = fn
        self.args = args
        self.swallow = swallow


Effect = StoreCall | Blocking | Callback
Flow = Generator[Effect, Any, T]
UpdatePassword = Callable[[str, str], Any]

# Methods per feature: what the service checks at construction.
_FULL_SESSION_METHODS = (
    "save_session",
    "get_session",
    "delete_session",
    "rotate_refresh",
    "list_sessions",
    "delete_user_sessions",
)
_MINIMAL_SESSION_METHODS = ("save_session", "is_session_valid", "delete_session")
_CHALLENGE_METHODS = ("put_challenge", "pop_challenge")
_THROTTLE_METHODS = ("throttle_hit", "throttle_get", "throttle_reset")
# What a client got wrong (and so what throttling counts) when a refresh or a
# passkey assertion fails; an outage or a wiring error is not the client's.
_CLIENT_FAILURES = (TokenError, SessionError, PasskeyError)
_PASSKEY_METHODS = (
    "save_passkey",
    "get_passkey",
    "list_passkeys",
    "update_passkey_usage",
    "rename_passkey",
    "delete_passkey",
)
_FEATURES = {
    "refresh rotation": ("rotate_refresh", "get_session"),
    "list_sessions": ("list_sessions",),
    "logout_all / change_password": ("delete_user_sessions",),
}


def _missing(obj: object, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if not callable(getattr(obj, n, None))]


def _user_fields(user: object) -> tuple[str, object]:
    """``(id, stored hash)`` from a mapping or an object with ``id``/``password``."""
    if isinstance(user, Mapping):
        uid, stored = user.get("id"), user.get("password")
    else:
        uid, stored = getattr(user, "id", None), getattr(user, "password", None)
    if uid is None or isinstance(uid, bool) or str(uid) == "":
        raise ConfigurationError("the user must have a non-empty 'id'")
    return str(uid), stored


class ServiceCore(PasskeyFlows, ThrottleFlows):
    """State and flows shared by both faces. Not used directly.

    The passkey flows live in :class:`~secure_auth._passkey_flows.PasskeyFlows`,
    the throttling steps in :class:`~secure_auth._throttle_flows.ThrottleFlows`.
    """

    _async_face: bool = False

    def __init__(
        self,
        private_key: PrivateKeySource | None = None,
        public_key: PublicKeySource | None = None,
        session_store: object | None = None,
        *,
        config: AuthConfig | None = None,
        keys: KeySet | None = None,
        challenge_store: object | None = None,
        passkey_store: object | None = None,
        throttle_store: object | None = None,
        on_event: EventHook | None = None,
        update_password: UpdatePassword | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or AuthConfig()
        if keys is None:
            keys = (
                KeySet.from_pem(private_key, public_key)
                if private_key is not None
                else KeySet.load()
            )
        elif private_key is not None or public_key is not None:
            raise ConfigurationError("pass either keys= or private_key/public_key, not both")
        if not keys.can_sign:
            raise ConfigurationError(
                "the service needs a private key to sign; use verify_token() with a "
                "verification-only KeySet elsewhere"
            )
        self._codec = TokenCodec(keys, self.config)
        self._hasher = PasswordHasher(self.config)
        self._clock = clock
        self._on_event: EventHook = on_event or log_event
        self._update_password = update_password
        store = SQLiteStore() if session_store is None else session_store
        self.session_store = store
        self._minimal = _missing(store, ("get_session",)) != []
        required = (
            _MINIMAL_SESSION_METHODS
            if self._minimal
            else ("save_session", "get_session", "delete_session")
        )
        if missing := _missing(store, required):
            raise ConfigurationError(
                f"session_store {type(store).__name__} lacks {', '.join(missing)}"
            )
        # Optional hook: a store that mints its own session ids (the Redis
        # store puts the user's hash tag in them). Plain and synchronous on
        # every store, async ones too: it must not do I/O.
        mint = getattr(store, "new_session_id", None)
        if mint is not None and (not callable(mint) or inspect.iscoroutinefunction(mint)):
            raise ConfigurationError(
                f"{type(store).__name__}.new_session_id must be a plain (not async) method"
            )
        self._mint_session_id: Callable[[str], object] | None = mint
        if challenge_store is None and not _missing(store, _CHALLENGE_METHODS):
            challenge_store = store
        if passkey_store is None and not _missing(store, _PASSKEY_METHODS):
            passkey_store = store
        if throttle_store is None and self.config.throttle.enabled:
            if not _missing(store, _THROTTLE_METHODS):
                throttle_store = store
            else:
                # Better per-process counting than none; say so, as it is weaker
                # with several processes.
                throttle_store = MemoryStore()
                logger.warning(
                    "session store %s lacks %s: login throttling counts in this process "
                    "only; pass throttle_store= to share the counters",
                    type(store).__name__,
                    ", ".join(_THROTTLE_METHODS),
                )
        elif throttle_store is not None and (
            missing := _missing(throttle_store, _THROTTLE_METHODS)
        ):
            raise ConfigurationError(
                f"throttle_store {type(throttle_store).__name__} lacks {', '.join(missing)}"
            )
        self.challenge_store = challenge_store
        self.passkey_store = passkey_store
        self.throttle_store = throttle_store
        self._warned_no_ip = False
        self._stores: dict[str, object | None] = {
            "sessions": store,
            "challenges": challenge_store,
            "passkeys": passkey_store,
            "throttle": throttle_store,
        }
        self.unsupported = self._unsupported_features()
        if self.unsupported:
            logger.warning(
                "session store %s lacks %s",
                type(store).__name__,
                "; ".join(f"{feat} (needs {', '.join(m)})" for feat, m in self.unsupported.items()),
            )
        if not self._async_face:
            for obj in {id(s): s for s in self._stores.values() if s is not None}.values():
                for name in dir(type(obj)):
                    if not name.startswith("_") and inspect.iscoroutinefunction(
                        getattr(type(obj), name, None)
                    ):
                        raise ConfigurationError(
                            f"{type(obj).__name__} is an async store: use AuthService, "
                            "or its blocking counterpart with SyncAuthService"
                        )

    def _unsupported_features(self) -> dict[str, tuple[str, ...]]:
        store = self.session_store
        return {
            feature: tuple(_missing(store, methods))
            for feature, methods in _FEATURES.items()
            if _missing(store, methods)
        }

    def _require(self, feature: str) -> None:
        if feature in self.unsupported:
            raise UnsupportedByStore(
                f"{feature} needs the store methods {', '.join(self.unsupported[feature])}"
            )

    # -- keys ----------------------------------------------------------------

    def now(self) -> float:
        """The service's clock (seconds since the epoch); injectable for tests."""
        return self._clock()

    @property
    def keys(self) -> KeySet:
        return self._codec.keys

    def rotate_keys(self, keys: KeySet) -> None:
        """Sign with ``keys`` from now on; clears the verified-token cache.

        Keep the previous public key in ``keys`` (as a verification key) until
        every token it signed has expired, or those sessions must sign in again.
        """
        if not keys.can_sign:
            raise ConfigurationError("the new KeySet holds no private key")
        self._codec.set_keys(keys)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as JWKS (RFC 8037), for services that verify offline."""
        return self._codec.keys.jwks(self.config.algorithm)

    def verify_token(self, access_token: object) -> TokenClaims:
        """Signature and claims only: *no store*, so *not revocation-aware*.

        For other services that verify offline (through JWKS). A logged-out
        session's tokens pass this until they expire; use
        ``validate_session`` wherever revocation must be instant.

        Raises:
            InvalidToken, ExpiredToken: see :class:`~secure_auth.TokenCodec`.
        """
        return self._codec.decode(access_token, typ=ACCESS_TYPE, now=self._clock())

    # -- helpers for flows ---------------------------------------------------

    def _event(
        self,
        type_: str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
        reason: str | None = None,
        **detail: Any,
    ) -> Callback:
        event = AuthEvent(
            type=type_,
            at=self._clock(),
            user_id=user_id,
            session_id=session_id,
            ip_address=ip_address,
            user_agent=user_agent,
            reason=reason,
            detail=detail,
        )
        return Callback(self._on_event, event, swallow=True)

    def _issue(self, record: SessionRecord, generation: int, now: float) -> AuthTokens:
        # Whole seconds, exactly what the tokens' ``exp`` claims say.
        access_exp, refresh_exp = (
            float(int(t)) for t in token_expiries(record.expires_at, now, self.config)
        )
        common = {"user_id": record.user_id, "session_id": record.session_id, "now": now}
        access = self._codec.encode(typ=ACCESS_TYPE, expires_at=access_exp, **common)  # type: ignore[arg-type]
        refresh = self._codec.encode(
            typ=REFRESH_TYPE,
            expires_at=refresh_exp,
            extra={"gen": generation},
            **common,  # type: ignore[arg-type]
        )
        return AuthTokens(
            access_token=access,
            refresh_token=refresh,
            session_id=record.session_id,
            user_id=record.user_id,
            access_expires_at=access_exp,
            refresh_expires_at=refresh_exp,
        )

    # -- flows ---------------------------------------------------------------

    def _register_user_flow(self, data: Mapping[str, Any]) -> Flow[dict[str, Any]]:
        if not isinstance(data, Mapping) or "password" not in data:
            raise ConfigurationError("register_user needs a mapping with a 'password'")
        hashed = yield Blocking(self._hasher.hash, data["password"])
        return {**data, "password": hashed}

    def _hash_password_flow(self, password: str) -> Flow[str]:
        hashed: str = yield Blocking(self._hasher.hash, password)
        return hashed

    def _verify_password_flow(self, stored: str, password: str) -> Flow[bool]:
        normalized = self._hasher.normalize(password)
        ok: bool = yield Blocking(self._hasher.verify, stored, normalized)
        return ok

    def _login_flow(
        self,
        user: object | None,
        password: str,
        *,
        user_agent: str | None,
        ip_address: str | None,
        update_password: UpdatePassword | None,
        account: str | None = None,
    ) -> Flow[AuthTokens]:
        normalized = self._hasher.normalize(password)
        user_id, stored = _user_fields(user) if user is not None else (None, None)
        broken_hash: InvalidPasswordHash | None = None
        if user is not None:
            try:
                stored = self._hasher.check_hash(stored)
            except InvalidPasswordHash as exc:
                # Still spend one hash: a broken record must not be told apart by timing.
                broken_hash, stored = exc, None
        client = {"ip_address": ip_address, "user_agent": user_agent}
        if account is not None and not isinstance(account, str):
            raise ConfigurationError("account must be the login name as a string")
        scopes = login_scopes(
            self.config.throttle,
            account=account if account is not None else user_id,
            ip_address=ip_address,
        )
        if ip_address is None:
            self._warn_no_ip("login")
        now = self._clock()
        # Before Argon2: a refused attempt costs no hash.
        yield from self._throttle_attempt(
            scopes, now, operation="login", user_id=user_id, client=client
        )
        ok: bool = yield Blocking(self._hasher.verify, stored, normalized)
        if broken_hash is not None:
            raise broken_hash
        if not ok:
            reason = "unknown_user" if user_id is None else "wrong_password"
            yield self._event("login_failed", user_id=user_id, reason=reason, **client)
            raise InvalidCredentials(reason)
        assert user_id is not None and isinstance(stored, str)
        yield from self._throttle_forgive(scopes, now)
        if self._hasher.needs_rehash(stored):
            callback = update_password or self._update_password
            if callback is not None:
                new_hash = yield Blocking(self._hasher.hash, normalized)
                yield Callback(callback, user_id, new_hash)
        tokens = yield from self._start_session_flow(user_id, "password", user_agent, ip_address)
        yield self._event(
            "login_succeeded",
            user_id=user_id,
            session_id=tokens.session_id,
            reason="password",
            **client,
        )
        return tokens

    def _start_session_flow(
        self, user_id: str, auth_method: str, user_agent: str | None, ip_address: str | None
    ) -> Flow[AuthTokens]:
        now = self._clock()
        session_id = None
        if self._mint_session_id is not None:
            session_id = check_store_session_id(
                self._mint_session_id(user_id), type(self.session_store).__name__
            )
        record = new_session(
            user_id,
            now,
            self.config,
            session_id=session_id,
            auth_method=auth_method,
            user_agent=user_agent,
            ip_address=ip_address,
        )
        if self._minimal:
            expires = datetime.fromtimestamp(record.expires_at, UTC)
            yield StoreCall("sessions", "save_session", record.session_id, user_id, expires)
        else:
            yield StoreCall("sessions", "save_session", record)
        yield self._event(
            "session_created",
            user_id=user_id,
            session_id=record.session_id,
            ip_address=ip_address,
            user_agent=user_agent,
            reason=auth_method,
        )
        return self._issue(record, 0, now)

    def _validate_flow(self, access_token: object) -> Flow[SessionInfo]:
        now = self._clock()
        claims = self._codec.decode(access_token, typ=ACCESS_TYPE, now=now)
        if self._minimal:
            valid = yield StoreCall("sessions", "is_session_valid", claims.session_id)
            if type(valid) is not bool:
                # Fail closed on a store bug, loudly: never guess what a 1 or a row means.
                raise StoreUnavailable("is_session_valid must return a bool")
            if not valid:
                raise SessionRevoked("session not valid in store")
            return SessionInfo(
                user_id=claims.user_id,
                session_id=claims.session_id,
                token_expires_at=claims.expires_at,
                claims=claims.raw,
            )
        record = yield StoreCall("sessions", "get_session", claims.session_id, now)
        record = check_session(record, claims, now, self.config)
        return SessionInfo(
            user_id=claims.user_id,
            session_id=claims.session_id,
            token_expires_at=claims.expires_at,
            session_expires_at=record.expires_at,
            created_at=record.created_at,
            auth_method=record.auth_method,
            claims=claims.raw,
        )

    def _refresh_flow(
        self, refresh_token: object, *, user_agent: str | None, ip_address: str | None
    ) -> Flow[AuthTokens]:
        self._require("refresh rotation")
        client = {"ip_address": ip_address, "user_agent": user_agent}
        scopes = refresh_scopes(self.config.throttle, ip_address)
        if ip_address is None:
            self._warn_no_ip("refresh")
        now = self._clock()
        yield from self._throttle_check(
            scopes, now, operation="refresh", user_id=None, client=client
        )
        try:
            tokens = yield from self._rotate_flow(refresh_token, now, client)
        except _CLIENT_FAILURES:
            yield from self._throttle_failure(
                scopes, now, operation="refresh", user_id=None, client=client
            )
            raise
        return tokens

    def _rotate_flow(
        self, refresh_token: object, now: float, client: dict[str, str | None]
    ) -> Flow[AuthTokens]:
        claims = self._codec.decode(refresh_token, typ=REFRESH_TYPE, now=now)
        generation = claims.refresh_generation
        assert generation is not None
        for _attempt in range(2):
            record = yield StoreCall("sessions", "get_session", claims.session_id, now)
            record = check_session(record, claims, now, self.config)
            decision = decide_refresh(record, generation, now, self.config)
            if decision is RefreshDecision.ROTATE:
                won = yield StoreCall(
                    "sessions", "rotate_refresh", record.session_id, generation, now
                )
                if won is True:
                    yield self._event(
                        "refresh_rotated",
                        user_id=record.user_id,
                        session_id=record.session_id,
                        **client,
                    )
                    return self._issue(record, generation + 1, now)
                continue  # somebody rotated first: decide again on fresh state
            if decision is RefreshDecision.GRACE:
                yield self._event(
                    "refresh_rotated",
                    user_id=record.user_id,
                    session_id=record.session_id,
                    reason="grace",
                    **client,
                )
                return self._issue(record, record.refresh_generation, now)
            yield StoreCall("sessions", "delete_session", record.session_id)
            yield self._event(
                "refresh_reuse_detected",
                user_id=record.user_id,
                session_id=record.session_id,
                **client,
                presented_generation=generation,
                current_generation=record.refresh_generation,
            )
            yield self._event(
                "session_revoked",
                user_id=record.user_id,
                session_id=record.session_id,
                reason="refresh_reuse",
                **client,
            )
            raise RefreshReuseDetected("refresh token replayed")
        raise SessionRevoked("refresh state changed twice during one refresh")

    def _logout_flow(
        self,
        session_id: str,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> Flow[None]:
        if not isinstance(session_id, str) or not session_id:
            raise ConfigurationError("logout needs a session id")
        user_id = None
        if not self._minimal:
            # Only for the audit event: whose session this was.
            record = yield StoreCall("sessions", "get_session", session_id, self._clock())
            if isinstance(record, SessionRecord):
                user_id = record.user_id
        yield StoreCall("sessions", "delete_session", session_id)
        yield self._event(
            "session_revoked",
            user_id=user_id,
            session_id=session_id,
            reason="logout",
            ip_address=ip_address,
            user_agent=user_agent,
        )

    def _logout_all_flow(
        self,
        user_id: str,
        except_session_id: str | None,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> Flow[int]:
        self._require("logout_all / change_password")
        count: int = yield StoreCall(
            "sessions", "delete_user_sessions", str(user_id), except_session_id
        )
        yield self._event(
            "session_revoked",
            user_id=str(user_id),
            reason="logout_all",
            ip_address=ip_address,
            user_agent=user_agent,
            count=count,
            kept_session_id=except_session_id,
        )
        return count

    def _list_sessions_flow(self, user_id: str) -> Flow[list[SessionRecord]]:
        self._require("list_sessions")
        records: list[SessionRecord] = yield StoreCall(
            "sessions", "list_sessions", str(user_id), self._clock()
        )
        return records

    def _change_password_flow(
        self,
        user: object,
        old_password: str,
        new_password: str,
        update_password: UpdatePassword,
        keep_session_id: str | None,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> Flow[str]:
        self._require("logout_all / change_password")
        user_id, stored = _user_fields(user)
        stored = self._hasher.check_hash(stored)
        old = self._hasher.normalize(old_password)
        new = self._hasher.normalize(new_password)
        client = {"ip_address": ip_address, "user_agent": user_agent}
        # The current password is checked like a login: same budgets, so a
        # stolen session cannot guess it through this door either.
        scopes = login_scopes(self.config.throttle, account=user_id, ip_address=ip_address)
        now = self._clock()
        yield from self._throttle_attempt(
            scopes, now, operation="change_password", user_id=user_id, client=client
        )
        ok = yield Blocking(self._hasher.verify, stored, old)
        if not ok:
            yield self._event(
                "login_failed",
                user_id=user_id,
                session_id=keep_session_id,
                reason="wrong_password",
                **client,
                operation="change_password",
            )
            raise InvalidCredentials("wrong current password")
        yield from self._throttle_forgive(scopes, now)
        new_hash: str = yield Blocking(self._hasher.hash, new)
        yield Callback(update_password, user_id, new_hash)
        count = yield StoreCall("sessions", "delete_user_sessions", user_id, keep_session_id)
        yield self._event(
            "password_changed",
            user_id=user_id,
            session_id=keep_session_id,
            **client,
            revoked_sessions=count,
        )
        return new_hash


def store_failure(store: object, method: str, exc: Exception) -> StoreUnavailable:
    """Wrap a raw exception from a store: it never means valid or invalid."""
    return StoreUnavailable(f"{type(store).__name__}.{method} failed: {type(exc).__name__}")


def callback_failed(fn: object, exc: BaseException) -> None:
    logger.error("event hook %r failed: %s", fn, type(exc).__name__)


def is_auth_error(exc: BaseException) -> bool:
    return isinstance(exc, AuthError)
