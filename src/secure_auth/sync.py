"""``SyncAuthService``: the blocking face. It drives the same flows with calls."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
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

__all__ = ["SyncAuthService"]


class SyncAuthService(ServiceCore):
    """Authentication for blocking applications (Flask, Django, WSGI).

    Same arguments, methods and semantics as :class:`AuthService`, without
    ``await``. Stores must be blocking (``async`` stores are refused at
    construction). Argon2 runs in the calling thread, and at most
    ``config.hash_concurrency`` threads hash at once.
    """

    def _run(self, flow: Flow[T]) -> T:
        try:
            effect: Effect = next(flow)
            while True:
                try:
                    result = self._perform(effect)
                except BaseException as exc:  # handed to the flow, which re-raises
                    effect = flow.throw(exc)
                else:
                    effect = flow.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _perform(self, effect: Effect) -> Any:
        if type(effect) is StoreCall:
            store = self._stores[effect.store]
            if store is None:
                raise ConfigurationError(f"no {effect.store} store is configured")
            try:
                return getattr(store, effect.method)(*effect.args)
            except AuthError:
                raise
            except Exception as exc:
                raise store_failure(store, effect.method, exc) from exc
        if type(effect) is Blocking:
            return effect.fn(*effect.args)
        assert type(effect) is Callback
        try:
            result = effect.fn(*effect.args)
            if inspect.isawaitable(result):
                close = getattr(result, "close", None)
                if callable(close):
                    close()
                raise ConfigurationError(
                    f"callback {effect.fn!r} is async: SyncAuthService needs a plain function"
                )
        except Exception as exc:
            if not effect.swallow:
                raise
            callback_failed(effect.fn, exc)
            return None
        return result

    def close(self) -> None:
        """Close the stores that can be closed."""
        for store in {id(s): s for s in self._stores.values() if s is not None}.values():
            closer = getattr(store, "close", None)
            if callable(closer):
                closer()

    def register_user(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """See :meth:`AuthService.register_user`."""
        return self._run(self._register_user_flow(data))

    def hash_password(self, password: str) -> str:
        """See :meth:`AuthService.hash_password`."""
        return self._run(self._hash_password_flow(password))

    def verify_password(self, stored_hash: str, password: str) -> bool:
        """See :meth:`AuthService.verify_password`."""
        return self._run(self._verify_password_flow(stored_hash, password))

    def login(
        self,
        user: object | None,
        password: str,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
        update_password: UpdatePassword | None = None,
        account: str | None = None,
    ) -> AuthTokens:
        """See :meth:`AuthService.login`."""
        return self._run(
            self._login_flow(
                user,
                password,
                user_agent=user_agent,
                ip_address=ip_address,
                update_password=update_password,
                account=account,
            )
        )

    def validate_session(self, access_token: object) -> SessionInfo:
        """See :meth:`AuthService.validate_session`."""
        return self._run(self._validate_flow(access_token))

    def refresh(
        self,
        refresh_token: object,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> AuthTokens:
        """See :meth:`AuthService.refresh`."""
        return self._run(
            self._refresh_flow(refresh_token, user_agent=user_agent, ip_address=ip_address)
        )

    def logout(
        self, session_id: str, *, user_agent: str | None = None, ip_address: str | None = None
    ) -> None:
        """See :meth:`AuthService.logout`."""
        self._run(self._logout_flow(session_id, user_agent=user_agent, ip_address=ip_address))

    def logout_all(
        self,
        user_id: str,
        *,
        except_session_id: str | None = None,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> int:
        """See :meth:`AuthService.logout_all`."""
        return self._run(
            self._logout_all_flow(
                user_id, except_session_id, user_agent=user_agent, ip_address=ip_address
            )
        )

    def list_sessions(self, user_id: str) -> list[SessionRecord]:
        """See :meth:`AuthService.list_sessions`."""
        return self._run(self._list_sessions_flow(user_id))

    def change_password(
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
        """See :meth:`AuthService.change_password`."""
        return self._run(
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

    def register_passkey(
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
        """See :meth:`AuthService.register_passkey`."""
        return self._run(
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

    def finish_passkey_registration(
        self,
        user_id: str,
        response: PasskeyResponse,
        *,
        label: str | None = None,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> PasskeyCredential:
        """See :meth:`AuthService.finish_passkey_registration`."""
        return self._run(
            self._finish_passkey_registration_flow(
                user_id, response, label=label, user_agent=user_agent, ip_address=ip_address
            )
        )

    def passkey_login_options(
        self,
        user_id: str | None = None,
        *,
        user_verification: UserVerification | None = None,
    ) -> dict[str, Any]:
        """See :meth:`AuthService.passkey_login_options`."""
        return self._run(
            self._passkey_login_options_flow(user_id, user_verification=user_verification)
        )

    def verify_passkey(
        self,
        response: PasskeyResponse,
        *,
        user_id: str | None = None,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> PasskeyVerification:
        """See :meth:`AuthService.verify_passkey`."""
        return self._run(
            self._verify_passkey_flow(
                response, user_id=user_id, user_agent=user_agent, ip_address=ip_address
            )
        )

    def login_with_passkey(
        self,
        response: PasskeyResponse,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> AuthTokens:
        """See :meth:`AuthService.login_with_passkey`."""
        return self._run(
            self._login_with_passkey_flow(response, user_agent=user_agent, ip_address=ip_address)
        )

    def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        """See :meth:`AuthService.list_passkeys`."""
        return self._run(self._list_passkeys_flow(user_id))

    def rename_passkey(self, user_id: str, credential_id: str, label: str) -> None:
        """See :meth:`AuthService.rename_passkey`."""
        self._run(self._rename_passkey_flow(user_id, credential_id, label))

    def delete_passkey(
        self,
        user_id: str,
        credential_id: str,
        *,
        user_agent: str | None = None,
        ip_address: str | None = None,
    ) -> None:
        """See :meth:`AuthService.delete_passkey`."""
        self._run(
            self._delete_passkey_flow(
                user_id, credential_id, user_agent=user_agent, ip_address=ip_address
            )
        )
