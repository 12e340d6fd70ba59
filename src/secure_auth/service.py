"""``AuthService``: the async face. It drives the flows of ``_core`` with ``await``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._core import (
    Blocking,
    Callback,
    Effect,
    Flow,
    ServiceCore,
    StoreCall,
    T,
    UpdatePassword,
    callback_failed,
    store_failure,
)
from .errors import AuthError, ConfigurationError
from .models import AuthTokens, SessionInfo, SessionRecord

__all__ = ["AuthService"]


class AuthService(ServiceCore):
    """Authentication for ``async`` applications (Starlette, FastAPI, aiohttp...).

    Args:
        private_key: Ed25519 PKCS#8 PEM (text/bytes), a ``Path``, or a key
            object. ``None`` with ``keys=None``: load from ``JWT_PRIVATE_KEY`` /
            ``JWT_PUBLIC_KEY`` or ``.secure-auth/`` (``KeySet.load``).
        public_key: its SPKI PEM; checked to match the private key.
        session_store: any store of ``secure_auth.stores``, a store of your own
            (full or the three-method minimal protocol, sync or ``async``), or
            ``None`` for the embedded SQLite default ``.secure-auth/sessions.db``.
        config: an :class:`AuthConfig`; defaults are safe.
        keys: a ready :class:`KeySet` instead of the two PEMs (rotation).
        challenge_store, passkey_store: default to ``session_store`` when it
            implements those protocols.
        throttle_store: where failure counters live (a ``ThrottleStore``);
            defaults to ``session_store`` when it implements that protocol
            (every bundled store does), else to an in-process memory store
            (a warning says so: counters are then per process).
        on_event: audit hook, called with each :class:`AuthEvent`.
        update_password: ``(user_id, new_hash)`` callback used when a login
            finds a hash with outdated parameters (may be ``async``).
        clock: time source (seconds); injectable for tests.

    Argon2 runs in a private thread pool as large as
    ``config.hash_concurrency`` (default: CPU count), so the event loop never
    blocks and at most that many hashes hold memory at once.
    """

    _async_face = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._executor: ThreadPoolExecutor | None = None

    async def _run(self, flow: Flow[T]) -> T:
        try:
            effect: Effect = next(flow)
            while True:
                try:
                    result = await self._perform(effect)
                except BaseException as exc:  # handed to the flow, which re-raises
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _perform(self, effect: Effect) -> Any:
        if type(effect) is StoreCall:
            store = self._stores[effect.store]
            if store is None:
                raise ConfigurationError(f"no {effect.store} store is configured")
            try:
                result = getattr(store, effect.method)(*effect.args)
                if inspect.isawaitable(result):
                    result = await result
            except AuthError:
                raise
            except Exception as exc:
                raise store_failure(store, effect.method, exc) from exc
            return result
        if type(effect) is Blocking:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.config.effective_hash_concurrency, thread_name_prefix="secure-auth-hash"
                )
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, effect.fn, *effect.args)
        assert type(effect) is Callback
        try:
            result = effect.fn(*effect.args)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            if not effect.swallow:
                raise
            callback_failed(effect.fn, exc)
            return None
        return result

    async def aclose(self) -> None:
        """Release the hashing threads and close the stores that can be closed."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        for store in {id(s): s for s in self._stores.values() if s is not None}.values():
            closer = getattr(store, "aclose", None) or getattr(store, "close", None)
            if callable(closer):
                result = closer()
                if inspect.isawaitable(result):
                    await result

    async def register_user(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``data`` with ``password`` replaced by its Argon2id hash.

        Raises:
            PasswordPolicyError: empty or over-long password.
        """
        return await self._run(self._register_user_flow(data))

    async def hash_password(self, password: str) -> str:
        """Argon2id PHC string of a (policy-checked, NFKC) password."""
        return await self._run(self._hash_password_flow(password))

    async def verify_password(self, stored_hash: str, password: str) -> bool:
        """True if ``password`` matches ``stored_hash``."""
        return await self._run(self._verify_password_flow(stored_hash, password))

    async def login(
        self,
        user: object | None,
        password: str,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
        update_password: UpdatePassword | None = None,
        account: str | None = None,
    ) -> AuthTokens:
        """Check the password and open a session.

        ``user`` is a mapping or object with ``id`` and ``password`` (the stored
        hash), or ``None`` for an unknown login: that still costs one Argon2
        verify, so timing does not reveal which users exist.

        Throttling (``config.throttle``) needs ``ip_address`` (without it the
        attempt is not counted) and counts under account + IP and under IP,
        before Argon2 runs. Pass ``account``, the login name as typed, for
        known and unknown users alike: then an unknown name is throttled
        exactly like a known one and throttling reveals nothing about which
        users exist (without it, the account is the user's id, and an unknown
        user only counts per IP).

        Raises:
            Throttled: too many failures from this IP (for this account);
                ``retry_after`` is in seconds. No hash was computed.
            InvalidCredentials: unknown user or wrong password (same error).
            PasswordPolicyError: empty or over-long password.
            InvalidPasswordHash: the stored hash is not Argon2id.
            StoreUnavailable: the session could not be saved.
        """
        return await self._run(
            self._login_flow(
                user,
                password,
                user_agent=user_agent,
                ip_address=ip_address,
                update_password=update_password,
                account=account,
            )
        )

    async def validate_session(self, access_token: object) -> SessionInfo:
        """Verify the token and that its session is alive: one store read.

        Raises:
            InvalidToken, ExpiredToken: the token itself is unacceptable.
            SessionRevoked, SessionExpired: the session is gone or too old.
            StoreUnavailable: the store failed (never a valid session).
        """
        return await self._run(self._validate_flow(access_token))

    async def refresh(
        self,
        refresh_token: object,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> AuthTokens:
        """Rotate: a new access and refresh token for the same session.

        Failed refreshes are throttled per ``ip_address``.

        Raises:
            RefreshReuseDetected: an already-rotated token came back (the
                session is now revoked).
            InvalidToken, ExpiredToken, SessionRevoked, SessionExpired.
            Throttled: too many failed refreshes from this IP.
            StoreUnavailable: the store failed.
        """
        return await self._run(
            self._refresh_flow(refresh_token, user_agent=user_agent, ip_address=ip_address)
        )

    async def logout(
        self, session_id: str, *, user_agent: str | None = None, ip_address: str | None = None
    ) -> None:
        """Revoke one session: its tokens stop working at once.

        ``user_agent`` and ``ip_address`` (of the client asking) go to the
        audit event only.

        Raises:
            StoreUnavailable: the store failed; the session may still be alive.
        """
        await self._run(self._logout_flow(session_id, user_agent=user_agent, ip_address=ip_address))

    async def logout_all(
        self,
        user_id: str,
        *,
        except_session_id: str | None = None,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> int:
        """Revoke every session of the user (but one); return how many.

        Raises:
            UnsupportedByStore: the store lacks ``delete_user_sessions``.
            StoreUnavailable: the store failed.
        """
        return await self._run(
            self._logout_all_flow(
                user_id, except_session_id, user_agent=user_agent, ip_address=ip_address
            )
        )

    async def list_sessions(self, user_id: str) -> list[SessionRecord]:
        """The user's live sessions, oldest first."""
        return await self._run(self._list_sessions_flow(user_id))

    async def change_password(
        self,
        user: object,
        old_password: str,
        new_password: str,
        update_password: UpdatePassword,
        *,
        keep_session_id: str | None = None,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> str:
        """Verify ``old_password``, store the new hash through
        ``update_password(user_id, new_hash)``, revoke the user's other sessions
        (all but ``keep_session_id``) and return the new hash.

        The current password is throttled like a login, under the same
        account + IP and IP budgets.

        Raises:
            InvalidCredentials: ``old_password`` is wrong.
            PasswordPolicyError: ``new_password`` breaks the policy.
            Throttled: too many wrong passwords from this IP.
        """
        return await self._run(
            self._change_password_flow(
                user,
                old_password,
                new_password,
                update_password,
                keep_session_id,
                user_agent=user_agent,
                ip_address=ip_address,
            )
        )
