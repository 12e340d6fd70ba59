"""``AuthService``: the async face. It drives the flows of ``_core`` with ``await``."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import sys
import threading
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
from .config import Attestation, ResidentKey, UserVerification
from .errors import AuthError, ConfigurationError
from .models import AuthTokens, PasskeyCredential, SessionInfo, SessionRecord
from .passkeys import AuthenticatorAttachment, PasskeyResponse, PasskeyVerification

__all__ = ["AuthService"]

# Niceness of the hashing threads (0 = the default priority, 19 = the lowest).
_HASH_THREAD_NICENESS = 10


def _yield_to_the_event_loop() -> None:
    """Lower the priority of a hashing thread, and so of the Argon2 lane
    threads it starts (they inherit it).

    One Argon2id hash keeps ``parallelism`` (4) threads busy for a few hundred
    ms; with ``hash_concurrency`` hashes at once they outnumber the cores, and
    the event loop's thread, competing with them at equal priority, wakes late.
    Measured on 2 cores during 32 concurrent logins (BENCHMARKS.md, goal 5): a
    1 ms ticker's worst gap 47 -> 23 ms and p99 15 -> 5 ms (median of 8 runs).
    Logins lose nothing on an otherwise idle machine; on a saturated one they
    get a smaller share (10 rather than 19, the lowest, which starves them).
    Linux only: there niceness is per thread; elsewhere ``PRIO_PROCESS`` with
    a thread id would name a process.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HASH_THREAD_NICENESS)


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
                    self.config.effective_hash_concurrency,
                    thread_name_prefix="secure-auth-hash",
                    initializer=_yield_to_the_event_loop,
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

    # -- passkeys (WebAuthn) ----------------------------------------------------

    async def register_passkey(
        self,
        user_id: str,
        user_name: str,
        display_name: str | None = None,
        *,
        resident_key: ResidentKey | None = None,
        user_verification: UserVerification | None = None,
        attestation: Attestation | None = None,
        authenticator_attachment: AuthenticatorAttachment | None = None,
    ) -> dict[str, Any]:
        """Start a passkey registration for a signed-in user.

        Returns ``PublicKeyCredentialCreationOptionsJSON`` (a JSON-ready dict)
        for ``navigator.credentials.create``, and stores its single-use
        challenge for ``config.challenge_ttl`` seconds. The user's existing
        passkeys are excluded; the WebAuthn user handle is random (the one of
        the user's passkeys, or 32 fresh bytes), never ``user_id``. The
        policies default to ``config.passkey_*`` ("preferred", "preferred",
        "none").

        Raises:
            ConfigurationError: py_webauthn is missing (the message says
                ``pip install 'secure-auth[passkeys]'``), an empty ``user_id``
                or ``user_name``, or a policy value WebAuthn does not know.
            StoreUnavailable: the challenge could not be stored.
        """
        return await self._run(
            self._register_passkey_flow(
                user_id,
                user_name,
                display_name,
                resident_key=resident_key,
                user_verification=user_verification,
                attestation=attestation,
                authenticator_attachment=authenticator_attachment,
            )
        )

    async def finish_passkey_registration(
        self,
        user_id: str,
        response: PasskeyResponse,
        *,
        label: str | None = None,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> PasskeyCredential:
        """Verify the browser's registration response and store the passkey.

        ``response`` is the credential's JSON (``toJSON()``) as text, bytes or
        a mapping. Emits ``passkey_registered``.

        Raises:
            MalformedPasskeyResponse: not the expected JSON.
            PasskeyChallengeError: challenge unknown, expired, already used,
                or issued for sign-in or for another user.
            CrossOriginPasskey: ``crossOrigin: true`` and not allowed.
            UnsafePasskeyKey: the public key is off its curve, of small or
                mixed order, too weak, or of an unsupported algorithm.
            PasskeyVerificationFailed: the attestation does not verify
                (origin, RP id, user presence, statement...).
            UserVerificationRequired: policy "required", no user verification.
            PasskeyAlreadyRegistered: this credential is already stored.
            InvalidPasskeyLabel: ``label`` is empty, too long or has control
                characters.
        """
        return await self._run(
            self._finish_passkey_registration_flow(
                user_id, response, label=label, user_agent=user_agent, ip_address=ip_address
            )
        )

    async def passkey_login_options(
        self,
        user_id: str | None = None,
        *,
        user_verification: UserVerification | None = None,
    ) -> dict[str, Any]:
        """Start a passkey sign-in.

        Returns ``PublicKeyCredentialRequestOptionsJSON`` for
        ``navigator.credentials.get``. With a ``user_id`` its passkeys are
        listed in ``allowCredentials`` and only they can answer; ``None``
        leaves the list empty, for usernameless sign-in and conditional
        mediation (passkey autofill).

        Raises:
            ConfigurationError: py_webauthn is missing, or a bad policy value.
            StoreUnavailable: the challenge could not be stored.
        """
        return await self._run(
            self._passkey_login_options_flow(user_id, user_verification=user_verification)
        )

    async def verify_passkey(
        self,
        response: PasskeyResponse,
        *,
        user_id: str | None = None,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> PasskeyVerification:
        """Verify a sign-in assertion without creating a session.

        For re-authentication before a sensitive action; pass ``user_id`` when
        the user is already known and the passkey must be theirs. Updates the
        passkey's counter and last use; emits ``passkey_used``, or
        ``login_failed`` (and ``sign_count_regression``) on failure.

        Raises:
            MalformedPasskeyResponse: not the expected JSON.
            PasskeyChallengeError: challenge unknown, expired, already used
                (a replay), or issued for a registration.
            CrossOriginPasskey: ``crossOrigin: true`` and not allowed.
            UnknownCredential: no passkey has this credential id.
            PasskeyUserMismatch: the passkey is not the expected user's, or
                ``userHandle`` is not the passkey's (or missing when
                usernameless).
            PasskeyVerificationFailed: signature, origin, RP id, user presence.
            UserVerificationRequired: policy "required", no user verification.
            SignCountRegression: the counter did not increase: possible clone.
        """
        return await self._run(
            self._verify_passkey_flow(
                response, user_id=user_id, user_agent=user_agent, ip_address=ip_address
            )
        )

    async def login_with_passkey(
        self,
        response: PasskeyResponse,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> AuthTokens:
        """Verify a sign-in assertion and open a session (``auth_method="passkey"``).

        The user is the passkey's owner (and must be the one the options were
        made for, if any).

        Raises:
            The errors of :meth:`verify_passkey`, and StoreUnavailable.
        """
        return await self._run(
            self._login_with_passkey_flow(response, user_agent=user_agent, ip_address=ip_address)
        )

    async def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        """The user's passkeys, oldest first."""
        return await self._run(self._list_passkeys_flow(user_id))

    async def rename_passkey(self, user_id: str, credential_id: str, label: str) -> None:
        """Set the label of one of the user's passkeys.

        Raises:
            UnknownCredential: no such passkey, or it is another user's.
            InvalidPasskeyLabel: empty, over 64 characters, control characters.
        """
        await self._run(self._rename_passkey_flow(user_id, credential_id, label))

    async def delete_passkey(
        self,
        user_id: str,
        credential_id: str,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> None:
        """Delete one of the user's passkeys; emits ``passkey_deleted``.

        Raises:
            UnknownCredential: no such passkey, or it is another user's.
        """
        await self._run(
            self._delete_passkey_flow(
                user_id, credential_id, user_agent=user_agent, ip_address=ip_address
            )
        )
